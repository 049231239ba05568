"""msgspec Structs for the records the API sends and receives."""

from __future__ import annotations

from typing import Any

import msgspec

API_VERSION = "coven.daemon.v1"

# The seven statuses existing clients accept (the OpenClaw bridge throws on any other).
SESSION_STATUSES = ("created", "running", "idle", "completed", "failed", "killed", "orphaned")
LIVE_STATUSES = frozenset({"running"})
TERMINAL_STATUSES = frozenset({"completed", "failed", "killed", "orphaned", "idle"})


class SessionRecord(msgspec.Struct, kw_only=True):
    """The 16-field snake_case session record of ``coven.daemon.v1``."""

    id: str
    project_root: str
    harness: str
    title: str
    status: str
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


class EventRecord(msgspec.Struct, kw_only=True):
    """One event; ``payload_json`` is a JSON *string* with sorted keys."""

    seq: int
    id: str
    session_id: str
    kind: str
    payload_json: str
    created_at: str


class Cursor(msgspec.Struct):
    afterSeq: int


class EventsPage(msgspec.Struct):
    events: list[EventRecord]
    nextCursor: Cursor | None
    hasMore: bool


class SessionsPage(msgspec.Struct):
    sessions: list[SessionRecord]
    next_cursor: str | None


class LogLine(msgspec.Struct):
    ts: str
    level: str
    message: str
