"""``coven sessions events`` reads a log of any size, page by page.

Before: on a session with more than 4 MiB of events it failed with the
daemon's 413 (``event_response_too_large``, "pass `limit`").
"""

from __future__ import annotations

import json

from tests.support.cli import Cli

FLOOD = 6 * 1024 * 1024


def _flooded(cli: Cli) -> str:
    proc = cli.run(
        "run", "codex", "--detach", "--", "--fake-mode=flood", env={"FAKE_BYTES": str(FLOOD)}
    )
    assert proc.returncode == 0, proc.stderr
    session_id = proc.stdout.strip()
    cli.wait_status(session_id, {"completed"}, timeout=60.0)
    return session_id


def test_events_of_a_big_session_are_printed_to_the_end(cli: Cli) -> None:
    session_id = _flooded(cli)
    page = cli.json("sessions", "events", session_id, "--json")
    events = page["events"]
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)) and events[-1]["kind"] == "exit"
    assert page["hasMore"] is False and page["nextCursor"] == {"afterSeq": seqs[-1]}
    stored = sum(len(json.loads(e["payload_json"]).get("data", "")) for e in events)
    assert stored > FLOOD  # every byte (as "\r\n" lines), not just the first 4 MiB page

    table = cli.run("sessions", "events", session_id, ok=True).stdout.splitlines()
    assert table[0].split() == ["SEQ", "CREATED", "KIND", "PAYLOAD"]
    assert table[-1] == f"{len(events)} event(s)"
    assert [int(line.split()[0]) for line in table[1:-1]] == seqs

    later = cli.json("sessions", "events", session_id, "--json", "--after-seq", str(seqs[-3]))
    assert [e["seq"] for e in later["events"]] == seqs[-2:]

    followed = cli.run("sessions", "events", session_id, "--follow", "--json", ok=True)
    assert [json.loads(line)["seq"] for line in followed.stdout.splitlines()] == seqs
