"""``coven familiars``, ``coven run --familiar``, ``coven cast`` and ``coven status`` end to end:
the real CLI against the daemon it starts, fake harnesses standing in for the agents."""

from __future__ import annotations

import json
from typing import Any

from tests.support.cli import Cli
from tests.support.daemon import wait_for_output


def add_team(cli: Cli) -> None:
    cli.run(
        "familiars", "add", "sage", "--display-name", "Sage", "--role", "Research Familiar",
        "--harness", "claude", ok=True,
    )  # fmt: skip
    cli.run("familiars", "add", "cody", "--display-name", "Cody", "--harness", "codex", ok=True)


def casts(cli: Cli) -> list[dict[str, Any]]:
    events = cli.api("GET", "/api/v1/events?sessionId=__cockpit__").json()["events"]
    return [json.loads(e["payload_json"]) for e in events if e["kind"] == "cast"]


def test_familiars_are_added_listed_and_removed_through_the_daemon(cli: Cli) -> None:
    empty = cli.run("familiars", ok=True)
    assert "No familiars configured." in empty.stdout
    add_team(cli)
    listed = cli.json("familiars", "--json")
    assert [f["id"] for f in listed] == ["sage", "cody"]
    assert listed[0]["status"] == "offline" and listed[0]["harness"] == "claude"
    assert "Sage — Research Familiar · claude" in cli.run("familiars", "list", ok=True).stdout
    roster = (cli.home / "familiars.toml").read_text()
    assert 'display_name = "Sage"' in roster
    dup = cli.run("familiars", "add", "sage", "--display-name", "Again")
    assert dup.returncode == 1 and "already exists" in dup.stderr
    cli.run("familiars", "remove", "cody", ok=True)
    assert [f["id"] for f in cli.json("familiars", "--json")] == ["sage"]
    gone = cli.run("familiars", "remove", "cody")
    assert gone.returncode == 1 and "unknown familiar `cody`" in gone.stderr


def test_run_as_a_familiar_and_find_it_by_familiar_and_label(cli: Cli) -> None:
    add_team(cli)
    ran = cli.run(
        "run", "claude", "look", "around", "--familiar", "sage", "--labels", "infra,docs",
        "--detach", ok=True,
    )  # fmt: skip
    session_id = ran.stdout.strip()
    record = cli.session(session_id)
    assert record["familiar_id"] == "sage" and record["labels"] == ["infra", "docs"]
    shown = wait_for_output(cli.home / "coven.sock", session_id, "--system-prompt")
    assert "[Identity: You are Sage, a Research Familiar." in shown
    table = cli.run("sessions", "--plain", ok=True).stdout
    assert "FAMILIAR" in table and "LABELS" in table and "infra,docs" in table
    only = cli.run("sessions", "--plain", "--label", "docs", "--familiar", "sage", ok=True)
    assert session_id in only.stdout
    none = cli.run("sessions", "--plain", "--label", "nope", ok=True)
    assert session_id not in none.stdout
    unknown = cli.run("run", "codex", "x", "--familiar", "ghost", "--detach")
    assert unknown.returncode == 1
    assert "unknown familiar `ghost`; expected one of: sage, cody" in unknown.stderr


def test_cast_status_switch_delegate_broadcast_and_handoff(cli: Cli) -> None:
    add_team(cli)
    bad = cli.run("cast", "~")
    assert bad.returncode == 1 and "Error:" in bad.stderr and "Traceback" not in bad.stderr

    status = cli.json("cast", "~?", "--json")
    assert status["intent"] == "status" and status["ok"] is True
    assert [f["id"] for f in status["familiars"]] == ["sage", "cody"]
    assert status["overview"]["total_familiars"] == 2

    switched = cli.run("cast", "~>sage", ok=True)
    assert "active familiar: sage" in switched.stdout
    state = json.loads((cli.home / "cli-state.json").read_text())
    assert state == {"activeFamiliar": "sage"}
    assert (cli.home / "cli-state.json").stat().st_mode & 0o777 == 0o600
    nobody = cli.run("cast", "~>ghost")
    assert nobody.returncode == 1 and "unknown familiar `ghost`" in nobody.stderr

    # Delegate: a launch for cody (its harness), with sage, the active one, as caller.
    delegated = cli.json("cast", "~cody: --fake-mode=sleep", "--json")
    (launch,) = delegated["outcomes"]
    assert launch["action"] == "launch" and launch["ok"] is True
    cody_session = launch["session_id"]
    record = cli.session(cody_session)
    assert (record["familiar_id"], record["harness"]) == ("cody", "codex")
    calls = cli.api("GET", "/api/v1/coven-calls").json()["calls"]
    assert [(c["callerFamiliarId"], c["calleeFamiliarId"]) for c in calls] == [("sage", "cody")]

    # Broadcast to cody's live sessions: each one an input the daemon checked.
    sent = cli.json("cast", "~broadcast cody hello there", "--json")
    assert sent["outcomes"] == [
        {
            "action": "input",
            "target": cody_session,
            "ok": True,
            "code": None,
            "message": None,
            "session_id": cody_session,
        }
    ]
    events = cli.api("GET", f"/api/v1/events?sessionId={cody_session}").json()["events"]
    inputs = [json.loads(e["payload_json"]) for e in events if e["kind"] == "input"]
    assert inputs[-1]["data"] == "hello there\n"

    # Handoff (printed): the packet of the active familiar's last session, or the latest.
    packet = cli.json("cast", "~<handoff", "--json")["packet"]
    assert packet["sessionId"] == cody_session and packet["status"] == "running"
    assert any("FAKE[codex]" in line for line in packet["lastOutput"])

    # Resume continues the recorded conversation; this fake Codex recorded none, and the
    # daemon refuses the launch exactly as it refuses `coven run --continue`.
    resumed = cli.run("cast", "~^cody")
    assert resumed.returncode == 1
    assert "refused (invalid_request)" in resumed.stdout
    assert "recorded no Codex conversation" in resumed.stdout

    codes = [c["code"] for c in casts(cli)]
    assert codes == [
        "~?",
        "~>sage",
        "~>ghost",
        "~cody: --fake-mode=sleep",
        "~broadcast cody hello there",
        "~<handoff",
        "~^cody",
    ]
    cli.api("POST", f"/api/v1/sessions/{cody_session}/kill", {})


def test_status_without_and_with_a_daemon(cli: Cli) -> None:
    stopped = cli.run("status", ok=True)
    assert "not running" in stopped.stdout
    assert cli.json("status", "--json") == {"health": None, "overview": None}
    add_team(cli)
    doc = cli.json("status", "--json")
    assert doc["health"]["apiVersion"] == "coven.daemon.v1"
    assert doc["overview"]["total_familiars"] == 2
    prose = cli.run("status", ok=True)
    assert "running (pid" in prose.stdout and "2 active of 2" not in prose.stdout
    assert "familiars  0 active of 2" in prose.stdout


def test_export_is_an_asciicast_v2_recording_of_the_stored_output(cli: Cli) -> None:
    ran = cli.run("run", "codex", "hello", "--detach", ok=True)
    session_id = ran.stdout.strip()
    wait_for_output(cli.home / "coven.sock", session_id, "ready")
    cli.api("POST", f"/api/v1/sessions/{session_id}/input", {"data": "one\n"})
    wait_for_output(cli.home / "coven.sock", session_id, "echo: one")
    cli.api("POST", f"/api/v1/sessions/{session_id}/kill", {})
    cli.wait_status(session_id, {"killed"})
    target = cli.project / "out.cast"
    cli.run("export", session_id[:8], "-o", str(target), ok=True)
    lines = target.read_text().splitlines()
    header = json.loads(lines[0])
    # asciicast v2: a header object, then [time, code, data] arrays, times non-decreasing.
    assert header["version"] == 2
    assert isinstance(header["width"], int) and isinstance(header["height"], int)
    assert isinstance(header["timestamp"], int)
    frames = [json.loads(line) for line in lines[1:]]
    assert frames and all(len(f) == 3 and f[1] == "o" for f in frames)
    times = [f[0] for f in frames]
    assert all(isinstance(t, float | int) and t >= 0 for t in times)
    assert times == sorted(times)
    assert "".join(f[2] for f in frames) == cli.output(session_id)
    assert cli.run("export", session_id, ok=True).stdout == target.read_text()


def test_export_takes_the_sessions_terminal_size_unless_told_otherwise(cli: Cli) -> None:
    cli.run("daemon", "start", ok=True)
    body = {
        "projectRoot": str(cli.project),
        "harness": "codex",
        "prompt": "--fake-mode=drawn",
        "rows": 30,
        "cols": 100,
    }
    reply = cli.api("POST", "/api/v1/sessions", body)
    assert reply.status == 201, reply.body
    session_id = reply.json()["id"]
    cli.wait_status(session_id, {"completed"})
    header = json.loads(cli.run("export", session_id, ok=True).stdout.splitlines()[0])
    assert (header["width"], header["height"]) == (100, 30)
    told = cli.run("export", session_id, "--cols", "132", ok=True).stdout.splitlines()[0]
    assert (json.loads(told)["width"], json.loads(told)["height"]) == (132, 30)
    assert cli.run("export", session_id, "--rows", "0").returncode == 2
