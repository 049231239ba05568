"""Familiar state and the overview from a roster and session records; cast bodies."""

from __future__ import annotations

import pytest

from coven.authority import parse_roster
from coven.authority.cast import CastSubmission, parse_cast
from coven.errors import InvalidRequest
from coven.runtime.familiars import familiar_views, overview
from coven.schema import SessionRecord

ROSTER = parse_roster(
    """
[[familiar]]
id = "sage"
display_name = "Sage"
role = "Research"
description = "Reads."
icon = "  ph:owl  "
harness = "claude"

[[familiar]]
id = "cody"
display_name = "Cody"
role = "Code"
description = "Writes."
name = "Cody the coder"
emoji = "🛠"
""",
    "familiars.toml",
)


def session(sid: str, status: str, familiar: str | None, updated: str) -> SessionRecord:
    return SessionRecord(
        id=sid,
        project_root="/p",
        harness="codex",
        title=sid,
        status=status,
        exit_code=None,
        archived_at=None,
        created_at="2026-01-01T00:00:00Z",
        updated_at=updated,
        familiar_id=familiar,
    )


SESSIONS = [
    session("a", "running", "sage", "2026-01-02T10:00:00Z"),
    session("b", "running", "sage", "2026-01-02T09:00:00Z"),
    session("c", "completed", "sage", "2026-01-02T11:00:00Z"),
    session("d", "completed", "cody", "2026-01-01T08:00:00Z"),
    session("e", "running", "ghost", "2026-01-03T00:00:00Z"),  # not in the roster
    session("f", "running", None, "2026-01-03T00:00:00Z"),
]


def test_a_familiar_with_live_sessions_is_online_and_counts_them() -> None:
    sage, cody = familiar_views(ROSTER, SESSIONS)
    assert (sage.id, sage.status, sage.active_sessions) == ("sage", "online", 2)
    assert sage.last_seen == "2026-01-02T11:00:00Z"  # its latest session, live or not
    assert (cody.status, cody.active_sessions, cody.last_seen) == (
        "offline",
        0,
        "2026-01-01T08:00:00Z",
    )


def test_a_familiar_that_never_ran_has_no_last_seen() -> None:
    for view in familiar_views(ROSTER, []):
        assert (view.last_seen, view.status, view.active_sessions) == (None, "offline", 0)


def test_familiar_records_carry_the_roster_presentation_with_reference_defaults() -> None:
    sage, cody = familiar_views(ROSTER, [])
    assert (sage.name, sage.emoji, sage.icon, sage.harness) == ("sage", "", "ph:owl", "claude")
    assert (cody.name, cody.emoji, cody.icon) == ("Cody the coder", "🛠", None)
    assert sage.memory_freshness is None


def test_the_overview_counts_live_sessions_and_active_roster_familiars() -> None:
    body = overview(ROSTER, SESSIONS)
    assert (body.open_sessions, body.active_familiars, body.total_familiars) == (4, 1, 2)
    assert (body.skills_count, body.research_iterations) == (0, 0)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"code": "  ~?  "}, CastSubmission("~?", None)),
        ({"code": "/handoff", "target": "sess-1"}, CastSubmission("/handoff", "sess-1")),
        ({"code": "x", "target": " sess "}, CastSubmission("x", " sess ")),  # verbatim
        ({"code": "x", "target": ""}, CastSubmission("x", None)),
        ({"code": "x", "target": None}, CastSubmission("x", None)),
        ({"code": "x", "target": 7}, CastSubmission("x", None)),
    ],
)
def test_a_cast_body_records_the_trimmed_code_and_an_optional_target(
    body: object, expected: CastSubmission
) -> None:
    assert parse_cast(body) == expected


@pytest.mark.parametrize("body", [{}, {"code": "   "}, {"code": 3}, [], "x", None])
def test_a_cast_without_a_code_is_refused_with_the_reference_message(body: object) -> None:
    with pytest.raises(InvalidRequest, match="request body requires string field `code`"):
        parse_cast(body)
