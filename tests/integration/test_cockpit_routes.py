"""The cockpit surface against a real daemon: familiars, Cast Codes, the cast ledger,
overview, Coven Calls and the empty feature routes (the Cave and CastCodes call sets are
replayed in order in test_client_call_sets.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.helpers import error_of, payloads, shared_daemon
from tests.support.daemon import Daemon

ROSTER = """\
# the team
[[familiar]]
id = "sage"
display_name = "Sage"
role = "Research Familiar"
description = "Reads and synthesizes."

[[familiar]]
id = "cody"
display_name = "Cody"
role = ""
description = "Writes code."
harness = "codex"
model = "gpt-5"
instructions = "Always run the tests."
"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: Any) -> Iterator[Daemon]:
    with shared_daemon(tmp_path_factory, "cockpit") as d:
        (d.home / "familiars.toml").write_text(ROSTER)
        yield d


def argv_of(daemon: Daemon, session_id: str) -> list[str]:
    text = daemon.wait_output(session_id, "argv=")
    found = re.search(r"argv=(\[.*\])", text)
    assert found, text
    argv: list[str] = json.loads(found.group(1))
    return argv


def test_cast_code_catalog_is_the_seven_templates_in_order(daemon: Daemon) -> None:
    reply = daemon.call("GET", "/api/v1/cast-codes")
    assert reply.status == 200
    assert reply.json() == [
        {"code": "~?", "description": "Status all familiars", "type": "status"},
        {"code": "~?{familiar}", "description": "Status of specific familiar", "type": "status"},
        {"code": "~>{familiar}", "description": "Switch to familiar", "type": "switch"},
        {
            "code": "~delegate:{familiar}",
            "description": "Delegate task to familiar",
            "type": "delegate",
        },
        {"code": "~broadcast *", "description": "Broadcast to all familiars", "type": "broadcast"},
        {"code": "~^ resume", "description": "Resume interrupted context", "type": "resume"},
        {"code": "~<handoff", "description": "Hand off context to target", "type": "handoff"},
    ]
    assert daemon.call("GET", "/cast-codes").json() == reply.json()


def test_untargeted_casts_share_one_cockpit_session(daemon: Daemon) -> None:
    ids = []
    for code in ("/status", "  ~?  ", "~>sage"):
        reply = daemon.call("POST", "/api/v1/cast", {"code": code})
        assert reply.status == 202, reply.body
        body = reply.json()
        assert set(body) == {"accepted", "cast_id", "echo"}
        assert body["accepted"] is True
        assert re.fullmatch(r"cast-[0-9a-f]{32}", body["cast_id"])
        assert body["echo"] == code.strip()
        ids.append(body["cast_id"])
    sessions = daemon.call("GET", "/api/v1/sessions").json()
    cockpit = [s for s in sessions if s["id"] == "__cockpit__"]
    assert len(cockpit) == 1
    assert (cockpit[0]["status"], cockpit[0]["harness"]) == ("idle", "cockpit")
    recorded = payloads(daemon, "__cockpit__", "cast")
    assert [p["cast_id"] for p in recorded][-3:] == ids
    assert recorded[-1] == {"cast_id": ids[-1], "code": "~>sage", "target": None}


def test_targeted_cast_is_recorded_on_the_session_and_echoed(daemon: Daemon) -> None:
    session = daemon.launch("--fake-mode=exit")
    daemon.wait_status(session["id"], {"completed"})  # need not be live
    reply = daemon.call("POST", "/api/v1/cast", {"code": "/handoff", "target": session["id"]})
    assert reply.status == 202
    assert reply.json()["echo"] == f"/handoff \u2192 {session['id']}"
    log = daemon.call("GET", f"/api/v1/sessions/{session['id']}/log").json()
    assert any("/handoff" in line["message"] for line in log)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "invalid_request"),
        ({"code": "   "}, 400, "invalid_request"),
        ([1, 2], 400, "invalid_request"),
        ({"code": "~?", "target": "no-such-session"}, 404, "session_not_found"),
    ],
)
def test_bad_casts_are_refused(daemon: Daemon, body: Any, status: int, code: str) -> None:
    reply = daemon.call("POST", "/api/v1/cast", body)
    assert (reply.status, error_of(reply)["code"]) == (status, code)


def test_oversized_targeted_cast_is_413_and_records_nothing(daemon: Daemon) -> None:
    session = daemon.launch("--fake-mode=exit")
    daemon.wait_status(session["id"], {"completed"})
    before = len(daemon.events(session["id"]))
    reply = daemon.call(
        "POST", "/api/v1/cast", {"code": "x" * (3 * 1024 * 1024), "target": session["id"]}
    )
    assert reply.status == 413
    assert error_of(reply) == {
        "code": "cast_too_large",
        "details": {"sessionId": session["id"]},
        "message": "Cast payload exceeds the daemon event writer capacity.",
    }
    assert len(daemon.events(session["id"])) == before


def test_familiars_list_the_roster_with_live_state(daemon: Daemon) -> None:
    views = daemon.call("GET", "/api/v1/familiars").json()
    assert [v["id"] for v in views] == ["sage", "cody"]
    sage = views[0]
    assert sage["display_name"] == "Sage" and sage["role"] == "Research Familiar"
    assert {"status", "active_sessions", "last_seen", "memory_freshness"} <= set(sage)
    assert views[1]["harness"] == "codex" and views[1]["model"] == "gpt-5"


def test_launch_with_unknown_familiar_is_refused_before_anything_runs(daemon: Daemon) -> None:
    before = len(daemon.call("GET", "/api/v1/sessions").json())
    reply = daemon.call(
        "POST",
        "/api/v1/sessions",
        {
            "projectRoot": daemon.env["COVEN_TEST_PROJECT"],
            "harness": "codex",
            "prompt": "x",
            "familiarId": "ghost",
        },
    )
    assert reply.status == 400
    err = error_of(reply)
    assert err["code"] == "unknown_familiar"
    assert err["details"] == {"familiarId": "ghost"}
    assert "sage" in err["message"]
    assert len(daemon.call("GET", "/api/v1/sessions").json()) == before


def test_familiar_identity_reaches_claude_as_a_system_prompt(daemon: Daemon) -> None:
    record = daemon.launch("research this", harness="claude", familiarId="sage")
    assert record["familiar_id"] == "sage"
    argv = argv_of(daemon, record["id"])
    identity = "[Identity: You are Sage, a Research Familiar. Respond as Sage, not as the underlying tool.]"
    assert argv[argv.index("--system-prompt") + 1] == identity
    assert argv[-2:] == ["--", "research this"]
    views = {v["id"]: v for v in daemon.call("GET", "/api/v1/familiars").json()}
    assert views["sage"]["status"] == "online" and views["sage"]["active_sessions"] >= 1
    assert views["sage"]["last_seen"] is not None
    overview = daemon.call("GET", "/api/v1/overview").json()
    assert overview["total_familiars"] == 2 and overview["active_familiars"] >= 1
    assert overview["open_sessions"] >= 1
    daemon.call("POST", f"/api/v1/sessions/{record['id']}/kill", {})


def test_codex_gets_identity_and_instructions_before_the_prompt_and_the_model(
    daemon: Daemon,
) -> None:
    record = daemon.launch("fix it", harness="codex", familiarId="cody", callerFamiliarId="sage")
    argv = argv_of(daemon, record["id"])
    assert argv[argv.index("--model") + 1] == "gpt-5"
    assert argv[-1] == (
        "[Identity: You are Cody. Respond as Cody, not as the underlying tool.]\n\n"
        "Always run the tests.\n\nfix it"
    )
    calls = daemon.call("GET", "/api/v1/coven-calls").json()
    assert calls["ok"] is True
    mine = [c for c in calls["calls"] if c.get("sessionId") == record["id"]]
    assert len(mine) == 1
    call = mine[0]
    assert (call["callerFamiliarId"], call["calleeFamiliarId"], call["request"]) == (
        "sage",
        "cody",
        "fix it",
    )
    assert call["status"] == "running" and "endedAt" not in call
    one = daemon.call("GET", f"/api/v1/coven-calls/{call['id']}").json()
    assert one == {"ok": True, "call": call}
    daemon.call("POST", f"/api/v1/sessions/{record['id']}/kill", {})
    daemon.wait_status(record["id"], {"killed"})

    def ended() -> dict[str, Any] | None:
        got: dict[str, Any] = daemon.call("GET", f"/api/v1/coven-calls/{call['id']}").json()
        return got if got["call"]["status"] != "running" else None

    from tests.integration.helpers import wait_until

    final = wait_until(ended, 10, "the call to end")
    assert final["call"]["status"] == "cancelled" and final["call"]["endedAt"]


def test_unknown_coven_call_is_404(daemon: Daemon) -> None:
    reply = daemon.call("GET", "/api/v1/coven-calls/nope")
    assert reply.status == 404
    assert error_of(reply)["code"] == "call_not_found"
    assert error_of(reply)["details"] == {"callId": "nope"}


def test_add_and_remove_a_familiar_through_the_daemon(daemon: Daemon) -> None:
    body = {"id": "echo", "display_name": "Echo", "role": "Reviewer", "description": "Reviews."}
    reply = daemon.call("POST", "/api/v1/familiars", body)
    assert reply.status == 201, reply.body
    assert reply.json()["id"] == "echo" and reply.json()["status"] == "offline"
    text = (daemon.home / "familiars.toml").read_text()
    assert text.startswith(ROSTER) and 'id = "echo"' in text
    assert (daemon.home / "familiars.toml").stat().st_mode & 0o777 == 0o600
    again = daemon.call("POST", "/api/v1/familiars", body)
    assert again.status == 400 and error_of(again)["details"] == {"familiarId": "echo"}
    bad = daemon.call("POST", "/api/v1/familiars", {**body, "id": "two words"})
    assert bad.status == 400 and error_of(bad)["details"] == {"field": "id"}
    extra = daemon.call("POST", "/api/v1/familiars", {**body, "id": "x", "colour": "red"})
    assert extra.status == 400 and error_of(extra)["details"] == {"field": "colour"}
    gone = daemon.call("DELETE", "/api/v1/familiars/echo")
    assert gone.status == 200 and gone.json() == {"ok": True, "removed": "echo"}
    assert (daemon.home / "familiars.toml").read_text() == ROSTER
    missing = daemon.call("DELETE", "/api/v1/familiars/echo")
    assert missing.status == 400 and error_of(missing)["code"] == "unknown_familiar"


def test_empty_feature_routes_answer_their_documented_shapes(daemon: Daemon) -> None:
    for path in ("/skills", "/memory", "/research", "/threads/weaves"):
        reply = daemon.call("GET", "/api/v1" + path)
        assert (reply.status, reply.json()) == (200, []), path
    assert daemon.call("GET", "/api/v1/threads/proposals").json() == {"proposals": []}
    assert daemon.call("GET", "/api/v1/afs/sessions").json() == {"sessions": []}
    overview = daemon.call("GET", "/api/v1/memory/overview").json()
    assert set(overview) == {
        "generated_at",
        "totals",
        "last_updated_at",
        "capabilities",
        "verification",
    }
    assert overview["last_updated_at"] is None
    assert sum(overview["totals"].values()) == 0
    assert not any(overview["capabilities"].values())
    health = daemon.call("GET", "/api/v1/health").json()
    caps = health["capabilities"]
    assert caps["sessionPolicyContracts"] == []
    assert (caps["skills"], caps["memory"], caps["threads"], caps["afs"]) == (False,) * 4
    assert (caps["familiars"], caps["castCodes"], caps["covenCalls"]) == (True,) * 3
    assert health["hub"] == {
        "role": "standalone",
        "hubId": None,
        "nodesTotal": 0,
        "nodesAvailable": 0,
    }


def test_unreadable_roster_is_a_clear_500_naming_file_and_line(tmp_path: Any) -> None:
    from tests.support.daemon import running_daemon

    with running_daemon(tmp_path) as d:
        (d.home / "familiars.toml").write_text('[[familiar]]\nid = "sage"\ndisplay-name = "S"\n')
        reply = d.call(
            "POST",
            "/api/v1/sessions",
            {
                "projectRoot": d.env["COVEN_TEST_PROJECT"],
                "harness": "codex",
                "prompt": "x",
                "familiarId": "sage",
            },
        )
        assert reply.status == 500
        err = error_of(reply)
        assert err["code"] == "familiar_lookup_failed"
        assert err["details"]["path"] == str(d.home / "familiars.toml")
        assert err["details"]["line"] == 3
        assert "line 3" in err["message"]
        listed = d.call("GET", "/api/v1/familiars")
        assert listed.status == 500 and error_of(listed)["code"] == "familiar_lookup_failed"
