"""The cockpit-facing wire records encode to exactly the keys existing clients read."""

from __future__ import annotations

import json
import re
from typing import Any

import msgspec
import pytest

from coven.schema.casting import (
    CAST_CODE_CATALOG,
    CastAccepted,
    CastEventPayload,
    cast_echo,
)
from coven.schema.cockpit import (
    EMPTY_MEMORY,
    EMPTY_RESEARCH,
    EMPTY_SKILLS,
    EMPTY_WEAVES,
    AfsSessions,
    CovenCall,
    CovenCallsFile,
    CovenCallsList,
    CovenCallView,
    MemoryOverview,
    Overview,
    ThreadsProposals,
    memory_overview_unavailable,
    truncate_call_request,
)
from coven.schema.familiars import FamiliarView, is_familiar_id


def wire(value: object) -> Any:
    return json.loads(msgspec.json.encode(value))


def test_the_cast_code_catalog_is_the_seven_reference_entries_in_order() -> None:
    assert wire(CAST_CODE_CATALOG) == [
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
    # Each entry has exactly these keys, in this order, and names no familiar.
    encoded = msgspec.json.encode(CAST_CODE_CATALOG).decode()
    assert all(list(entry) == ["code", "description", "type"] for entry in wire(CAST_CODE_CATALOG))
    assert "sage" not in encoded and "cody" not in encoded


def test_the_cast_ledger_answer_and_event_use_snake_case() -> None:
    accepted = CastAccepted(accepted=True, cast_id="cast-" + "0" * 32, echo="/status")
    assert wire(accepted) == {"accepted": True, "cast_id": "cast-" + "0" * 32, "echo": "/status"}
    payload = CastEventPayload(cast_id="cast-1", code="~?", target=None)
    assert wire(payload) == {"cast_id": "cast-1", "code": "~?", "target": None}


def test_a_targeted_cast_echoes_with_an_arrow() -> None:
    assert cast_echo("/handoff", "sess-target") == "/handoff → sess-target"
    assert cast_echo("/status", None) == "/status"


def test_overview_has_the_seven_snake_case_counters() -> None:
    body = wire(Overview(active_familiars=1, total_familiars=2, open_sessions=3))
    assert body == {
        "active_familiars": 1,
        "total_familiars": 2,
        "open_sessions": 3,
        "skills_count": 0,
        "average_skill_score": 0,
        "research_iterations": 0,
        "last_research_delta": 0,
    }


def test_a_coven_call_is_camel_case_and_omits_unset_optionals() -> None:
    running = CovenCall(
        id="4b0c",
        caller_familiar_id="nova",
        callee_familiar_id="sage",
        request="review",
        status="running",
        created_at="2026-01-02T03:04:05.678Z",
    )
    assert wire(running) == {
        "id": "4b0c",
        "callerFamiliarId": "nova",
        "calleeFamiliarId": "sage",
        "request": "review",
        "status": "running",
        "createdAt": "2026-01-02T03:04:05.678Z",
    }
    done = msgspec.structs.replace(
        running, status="completed", ended_at="2026-01-02T03:05:00.000Z", session_id="s1"
    )
    assert wire(done)["endedAt"] == "2026-01-02T03:05:00.000Z"
    assert wire(done)["sessionId"] == "s1"
    assert list(wire(CovenCallsList(calls=[running]))) == ["ok", "calls"]
    assert wire(CovenCallsList(calls=[]))["ok"] is True
    assert wire(CovenCallView(call=running)) == {"ok": True, "call": wire(running)}
    assert wire(CovenCallsFile(calls=[])) == {"version": 1, "calls": []}
    # The ledger file written by the reference reads back as the same records.
    assert msgspec.json.decode(msgspec.json.encode(running), type=CovenCall) == running


def test_a_call_request_keeps_300_characters_then_an_ellipsis() -> None:
    assert truncate_call_request("x" * 300) == "x" * 300
    assert truncate_call_request("x" * 301) == "x" * 300 + "…"


def test_a_familiar_record_has_the_reference_keys_with_live_state() -> None:
    view = FamiliarView(
        id="sage",
        name="sage",
        display_name="Sage",
        emoji="",
        role="Research",
        description="Reads.",
        status="online",
        last_seen="2026-01-02T03:04:05Z",
        active_sessions=2,
        memory_freshness=None,
    )
    assert list(wire(view)) == [
        "id",
        "name",
        "display_name",
        "emoji",
        "role",
        "description",
        "status",
        "last_seen",
        "active_sessions",
        "memory_freshness",
    ]
    full = msgspec.structs.replace(view, icon="ph:cat", harness="claude", model="opus")
    assert wire(full)["icon"] == "ph:cat"
    assert wire(full)["harness"] == "claude"


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("sage", True),
        ("Sage_2-b", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("", False),
        ("two words", False),
        ("sagé", False),
        ("delegate", False),
        ("HANDOFF", False),
    ],
)
def test_the_familiar_id_rule(value: str, ok: bool) -> None:
    assert is_familiar_id(value) is ok


def test_absent_features_answer_their_documented_empty_shapes() -> None:
    assert wire(EMPTY_SKILLS) == []
    assert wire(EMPTY_MEMORY) == []
    assert wire(EMPTY_RESEARCH) == []
    assert wire(EMPTY_WEAVES) == []
    assert wire(ThreadsProposals()) == {"proposals": []}
    assert wire(AfsSessions()) == {"sessions": []}


RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\Z")


def test_the_memory_overview_without_memory_passes_the_caves_strict_checks() -> None:
    body = wire(memory_overview_unavailable("2026-01-02T03:04:05Z"))
    assert body == {
        "generated_at": "2026-01-02T03:04:05Z",
        "totals": {"entries": 0, "familiars": 0, "verified": 0, "needs_review": 0, "unknown": 0},
        "last_updated_at": None,
        "capabilities": {
            "detail": False,
            "verification": False,
            "attestation_metadata": False,
            "supersession_history": False,
            "mutations": False,
        },
        "verification": {
            "state": "unavailable",
            "checked_at": "2026-01-02T03:04:05Z",
            "manifest": None,
            "index": None,
            "issues": [],
        },
    }
    # The Cave's semantic rules: RFC 3339 times, totals adding up, and no
    # last-updated time exactly when there are no entries.
    totals = body["totals"]
    assert RFC3339.match(body["generated_at"]) and RFC3339.match(body["verification"]["checked_at"])
    assert totals["verified"] + totals["needs_review"] + totals["unknown"] == totals["entries"]
    assert (totals["entries"] == 0) == (body["last_updated_at"] is None)
    assert msgspec.json.decode(msgspec.json.encode(body), type=MemoryOverview)
