"""Wire shapes of the cockpit reads that the Cave and CastCodes call.

``/overview`` and ``/coven-calls`` carry real data. ``/skills``, ``/memory``,
``/memory/overview``, ``/research``, ``/threads/weaves``, ``/threads/proposals``
and ``/afs/sessions`` belong to features this daemon does not have: they answer
with the empty shapes below (never 404, so the cockpit shows "nothing here"
instead of "daemon too old"), and the health capabilities say the features are
off. Field names are the reference's, snake_case unless noted.
"""

from __future__ import annotations

from typing import Any

import msgspec


class Overview(msgspec.Struct, kw_only=True):
    """``GET /api/v1/overview``.

    ``open_sessions`` counts live sessions; ``active_familiars`` the distinct
    roster familiars with a live session; ``total_familiars`` the roster size.
    The skill and research figures stay 0 here (no such features).
    """

    active_familiars: int
    total_familiars: int
    open_sessions: int
    skills_count: int = 0
    average_skill_score: int = 0
    research_iterations: int = 0
    last_research_delta: int = 0


# --- Coven Calls: the delegation ledger ---------------------------------------------

COVEN_CALL_RUNNING = "running"
COVEN_CALL_COMPLETED = "completed"
COVEN_CALL_FAILED = "failed"
COVEN_CALL_CANCELLED = "cancelled"
COVEN_CALL_STATUSES = (
    COVEN_CALL_RUNNING,
    COVEN_CALL_COMPLETED,
    COVEN_CALL_FAILED,
    COVEN_CALL_CANCELLED,
)
COVEN_CALL_TERMINAL = frozenset({COVEN_CALL_COMPLETED, COVEN_CALL_FAILED, COVEN_CALL_CANCELLED})


def call_status_after(session_status: str) -> str:
    """A delegation's final status once its session ended with ``session_status``.

    A clean exit (``completed``, or ``idle`` for a conversation) completes the
    call; a kill cancels it; anything else (failed, orphaned) fails it.
    """
    if session_status in ("completed", "idle"):
        return COVEN_CALL_COMPLETED
    if session_status == "killed":
        return COVEN_CALL_CANCELLED
    return COVEN_CALL_FAILED


# ``request`` keeps at most this many characters of the prompt, then ``…``.
COVEN_CALL_REQUEST_CHARS = 300


class CovenCall(
    msgspec.Struct,
    kw_only=True,
    omit_defaults=True,
    rename={
        "caller_familiar_id": "callerFamiliarId",
        "callee_familiar_id": "calleeFamiliarId",
        "created_at": "createdAt",
        "ended_at": "endedAt",
        "session_id": "sessionId",
    },
):
    """One delegation from a caller familiar to a callee (camelCase on the wire).

    Written when a launch names both ``familiarId`` and ``callerFamiliarId``;
    ``endedAt`` appears once ``status`` is terminal. Times are RFC 3339 UTC
    with milliseconds and ``Z``.
    """

    id: str
    caller_familiar_id: str
    callee_familiar_id: str
    request: str
    status: str
    created_at: str
    ended_at: str | None = None
    session_id: str | None = None
    artifact: str | None = None


class CovenCallsList(msgspec.Struct, kw_only=True):
    """``GET /api/v1/coven-calls``: ``{"ok": true, "calls": [...]}``, oldest first."""

    ok: bool = True
    calls: list[CovenCall]


class CovenCallView(msgspec.Struct, kw_only=True):
    """``GET /api/v1/coven-calls/:id``: ``{"ok": true, "call": {...}}``."""

    ok: bool = True
    call: CovenCall


class CovenCallsFile(msgspec.Struct, kw_only=True):
    """The ledger file ``COVEN_HOME/cave-coven-calls.json`` (version 1)."""

    version: int = 1
    calls: list[CovenCall]


def truncate_call_request(prompt: str) -> str:
    """A prompt as the ledger keeps it: at most 300 characters, then ``…``."""
    if len(prompt) <= COVEN_CALL_REQUEST_CHARS:
        return prompt
    return prompt[:COVEN_CALL_REQUEST_CHARS] + "\u2026"


# --- Features this daemon does not have: typed, always empty -------------------------


class SkillRecord(msgspec.Struct, kw_only=True):
    """An element of ``GET /api/v1/skills`` (a bare array; always ``[]`` here)."""

    id: str
    name: str
    owner: str
    category: str
    tags: list[str]
    score: float
    effective_rate: float
    applied_rate: float
    completion_rate: float
    fallback_rate: float
    version: str
    description: str


class ResearchRow(msgspec.Struct, kw_only=True):
    """An element of ``GET /api/v1/research`` (a bare array; always ``[]`` here)."""

    iteration: int
    topic: str
    score: float
    delta: float
    decision: str
    source: str


class MemorySource(msgspec.Struct, kw_only=True):
    kind: str
    label: str


class MemoryEntry(msgspec.Struct, kw_only=True):
    """An element of ``GET /api/v1/memory`` (a bare array; always ``[]`` here)."""

    id: str
    familiar_id: str
    title: str
    path: str
    updated_at: str
    updated_at_iso: str
    excerpt: str
    source: MemorySource
    privacy_classification: str | None
    reveal_required: bool | None
    verification_state: str


class MemoryTotals(msgspec.Struct, kw_only=True):
    entries: int = 0
    familiars: int = 0
    verified: int = 0
    needs_review: int = 0
    unknown: int = 0


class MemoryCapabilities(msgspec.Struct, kw_only=True):
    detail: bool = False
    verification: bool = False
    attestation_metadata: bool = False
    supersession_history: bool = False
    mutations: bool = False


class MemoryVerification(msgspec.Struct, kw_only=True):
    state: str
    checked_at: str
    manifest: str | None = None
    index: str | None = None
    issues: list[str] = msgspec.field(default_factory=list)


class MemoryOverview(msgspec.Struct, kw_only=True):
    """``GET /api/v1/memory/overview``.

    The Cave checks it strictly: no extra keys, RFC 3339 times, totals that add
    up, and ``last_updated_at`` null exactly when there are no entries.
    """

    generated_at: str
    totals: MemoryTotals
    last_updated_at: str | None
    capabilities: MemoryCapabilities
    verification: MemoryVerification


def memory_overview_unavailable(now: str) -> MemoryOverview:
    """The overview of a daemon without familiar memory, generated at ``now`` (RFC 3339)."""
    return MemoryOverview(
        generated_at=now,
        totals=MemoryTotals(),
        last_updated_at=None,
        capabilities=MemoryCapabilities(),
        verification=MemoryVerification(state="unavailable", checked_at=now),
    )


class ThreadsProposals(msgspec.Struct):
    """``GET /api/v1/threads/proposals``: ``{"proposals": []}`` here.

    (``GET /api/v1/threads/weaves`` is a bare array, ``[]`` here.)
    """

    proposals: list[dict[str, Any]] = msgspec.field(default_factory=list)


class AfsSessions(msgspec.Struct):
    """``GET /api/v1/afs/sessions``: ``{"sessions": []}`` here (health says ``afs: false``)."""

    sessions: list[dict[str, Any]] = msgspec.field(default_factory=list)


# Route → the body it answers while the feature is absent. The empty lists are
# typed through the element Structs above so a future implementation fills
# the same shape.
EMPTY_SKILLS: tuple[SkillRecord, ...] = ()
EMPTY_MEMORY: tuple[MemoryEntry, ...] = ()
EMPTY_RESEARCH: tuple[ResearchRow, ...] = ()
EMPTY_WEAVES: tuple[dict[str, Any], ...] = ()
