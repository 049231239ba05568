"""`coven sessions search` and `coven logs prune` end to end: the real CLI and the daemon it
starts, fake agents; the store is only ever opened by the daemon (and, to age events, here)."""

from __future__ import annotations

import json
import sqlite3

from tests.support.cli import Cli


def say(cli: Cli, sid: str, line: str) -> None:
    reply = cli.api("POST", f"/api/v1/sessions/{sid}/input", {"data": line + "\n"})
    assert reply.status == 202
    cli.wait_output(sid, f"echo: {line}")


def test_search_prints_ranked_hits_and_json(cli: Cli) -> None:
    sid = cli.detached("first task")
    cli.wait_output(sid, "ready")
    say(cli, sid, "the marmalade pipeline broke")
    other = cli.run("run", "codex", "--detach", "--title", "marmalade notes", "--", "x", ok=True)
    titled = other.stdout.strip()

    text = cli.run("sessions", "search", "marmalade", ok=True).stdout
    lines = text.splitlines()
    assert any(f"  {sid}  [output]  " in ln and "marmalade pipeline" in ln for ln in lines)
    assert any(f"  {titled}  [title]  marmalade notes" in ln for ln in lines)
    assert "\x1b" not in text  # no styling when stdout is not a terminal

    hits = cli.json("sessions", "search", "marmalade pipeline", "--json")
    assert [h["session_id"] for h in hits] == [sid]
    hit = hits[0]
    assert {"event_id", "session_id", "kind", "snippet", "created_at"} <= set(hit)
    start, end = hit["highlights"][0]
    assert hit["snippet"][start:end] == "marmalade"
    assert len(cli.json("sessions", "search", "marmalade", "--json", "--limit", "1")) == 1

    none = cli.run("sessions", "search", "zzzunfound", ok=True)
    assert none.stdout == "" and "No matches for `zzzunfound`." in none.stderr


def test_search_refuses_empty_text_and_bad_limits(cli: Cli) -> None:
    for args in (["  "], [""], ["x", "--limit", "0"], ["x", "--limit", "many"]):
        proc = cli.run("sessions", "search", *args)
        assert proc.returncode == 2, proc
        assert "Error: Invalid value" in proc.stderr


def test_logs_prune_dry_run_then_prune(cli: Cli) -> None:
    sid = cli.detached("old work")
    cli.wait_output(sid, "ready")
    cli.api("POST", f"/api/v1/sessions/{sid}/input", {"data": "exit\n"})
    cli.wait_status(sid, {"completed"})
    live = cli.detached("still going")
    cli.wait_output(live, "ready")
    conn = sqlite3.connect(cli.home / "coven.sqlite3", timeout=10)
    try:
        conn.execute("UPDATE events SET created_at = '2020-01-01T00:00:00.000000000Z'")
        conn.commit()
        stored = conn.execute("SELECT COUNT(*) FROM events WHERE session_id = ?", (sid,))
        count = stored.fetchone()[0]
    finally:
        conn.close()

    dry = cli.run("logs", "prune", "--dry-run", ok=True).stdout
    assert dry.startswith(f"logs prune dryRun=true events={count} sessions=1 eventDays=30 ")
    assert f"  {sid}  would delete {count} event(s)" in dry
    assert live not in dry

    doc = cli.json("logs", "prune", "--event-days", "7", "--json")
    assert doc["dryRun"] is False and doc["eventDays"] == 7 and doc["events"] == count
    assert doc["sessions"] == [{"sessionId": sid, "events": count}]
    assert cli.json("sessions", "events", sid, "--json")["events"] == []
    assert cli.json("sessions", "events", live, "--json")["events"]
    again = cli.run("logs", "prune", ok=True).stdout
    assert again.startswith("logs pruned events=0 sessions=0 ")


def test_logs_prune_refuses_bad_event_days(cli: Cli) -> None:
    for value in ("0", "-1", "soon", "1.5"):
        proc = cli.run("logs", "prune", "--event-days", value)
        assert proc.returncode == 2
        assert "Invalid value for '--event-days'" in proc.stderr
    assert not (cli.home / "coven.sock").exists()  # refused before reaching any daemon


def test_search_json_is_a_plain_array(cli: Cli) -> None:
    cli.detached("anything")
    out = cli.run("sessions", "search", "nothing-here-at-all", "--json", ok=True).stdout
    assert json.loads(out) == []
