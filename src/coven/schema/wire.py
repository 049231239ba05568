"""msgspec Structs for the records the API sends: sessions, events, pages, log lines."""

from __future__ import annotations

from typing import Any

import msgspec

from coven.schema.vocabulary import AttentionState, ReviewState, SessionStatus

API_VERSION = "coven.daemon.v1"


class SessionRecord(msgspec.Struct, kw_only=True):
    """The 16-field snake_case session record of ``coven.daemon.v1``, then our additive fields.

    ``git_root``, ``base_commit`` and ``base_branch`` say where the session started in
    git (all null outside a repository); ``worktree_path`` and ``branch`` name its own
    lane (null without ``isolation: "worktree"``); ``continues`` is the id of the
    session it resumed. ``attention`` says what a live session needs (``working``,
    ``awaiting_input``, ``idle``), with a one-line ``attention_reason`` and the time it
    began (``attention_since``); all three are null when the session is not live.
    ``review_state`` is where the review of its work stands.
    """

    id: str
    project_root: str
    harness: str
    title: str
    status: SessionStatus
    exit_code: int | None
    archived_at: str | None
    created_at: str
    updated_at: str
    conversation_id: str | None = None
    familiar_id: str | None = None
    execution_binding: Any = None
    labels: list[str] = msgspec.field(default_factory=list)
    visibility: str = "private"
    external: bool = False
    transcript_path: str | None = None
    git_root: str | None = None
    base_commit: str | None = None
    base_branch: str | None = None
    worktree_path: str | None = None
    branch: str | None = None
    continues: str | None = None
    review_state: ReviewState = ReviewState.UNREVIEWED
    attention: AttentionState | None = None
    attention_reason: str | None = None
    attention_since: str | None = None


class EventRecord(msgspec.Struct, kw_only=True):
    """One event; ``payload_json`` is a JSON *string* with sorted keys."""

    seq: int
    id: str
    session_id: str
    kind: str
    payload_json: str
    created_at: str


class Cursor(msgspec.Struct):
    """Where the next events page starts."""

    afterSeq: int


class EventsPage(msgspec.Struct):
    """A page of events; ``hasMore`` only when a ``limit`` or the size budget cut it."""

    events: list[EventRecord]
    nextCursor: Cursor | None
    hasMore: bool


class SessionsPage(msgspec.Struct):
    """A page of sessions (only when a paging parameter was given)."""

    sessions: list[SessionRecord]
    next_cursor: str | None


class LogLine(msgspec.Struct):
    """One line of a session's redacted log preview."""

    ts: str
    level: str
    message: str
