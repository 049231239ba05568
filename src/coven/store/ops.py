"""Write ops: small immutable descriptions of one write, run by the writer thread.

Each op runs inside its own SAVEPOINT within a group-commit transaction, so it
either applies completely or not at all, and its failure touches no other op.
Ops validate their arguments when constructed, so a malformed op fails in the
caller's thread instead of in the writer.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import msgspec

from coven.errors import SessionIdConflict, SessionNotFound
from coven.schema.vocabulary import ACTIVE_STATUSES, EventKind, RedactionStatus, SessionStatus
from coven.store.clock import now_rfc3339
from coven.store.errors import StoreOpFailed
from coven.store.rows import (
    SESSION_COLUMNS,
    EventRow,
    NewEvent,
    SessionRow,
    encode_labels,
    encode_payload,
    session_to_params,
)

T = TypeVar("T")

# Fixed per-op charge so that ops without payloads still count against memory.
_OP_OVERHEAD = 256

_INSERT_SESSION = (
    f"INSERT INTO sessions ({', '.join(SESSION_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in SESSION_COLUMNS)})"
)
_INSERT_EVENT = (
    "INSERT INTO events (id, session_id, kind, payload_json, created_at,"
    " redaction_status, sensitive) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# Columns an UpdateSession may set; id and created_at are immutable.
UPDATABLE_COLUMNS = frozenset(SESSION_COLUMNS) - {"id", "created_at"}


class Op(Generic[T]):
    """A write the writer thread can run. ``size`` is its charge in bytes.

    A plain base (not an ``ABC``) with no slots of its own, so the ops can be
    ``msgspec.Struct`` classes: a Struct is created in a fraction of a dataclass's time
    (the daemon imports every op at start-up). Subclasses must override ``apply``.
    """

    __slots__ = ()

    @property
    def size(self) -> int:
        return _OP_OVERHEAD

    def apply(self, conn: sqlite3.Connection) -> T:
        """Perform the write on ``conn`` (inside a savepoint) and return the result."""
        raise NotImplementedError

    def committed_events(self, result: T) -> int:
        """How many event rows ``result`` represents (for writer statistics)."""
        return 0


def _append(conn: sqlite3.Connection, events: Sequence[NewEvent]) -> list[EventRow]:
    if not events:
        return []
    ids = [str(uuid.uuid4()) for _ in events]
    conn.executemany(
        _INSERT_EVENT,
        [
            (
                event_id,
                e.session_id,
                e.kind,
                e.payload_json,
                e.created_at,
                e.redaction_status,
                None if e.sensitive is None else int(e.sensitive),
            )
            for event_id, e in zip(ids, events, strict=True)
        ],
    )
    # Only this connection writes, inside one transaction, and AUTOINCREMENT
    # hands out max+1 each time: the rows just inserted are contiguous and
    # end at last_insert_rowid().
    last = int(conn.execute("SELECT last_insert_rowid()").fetchone()[0])
    first = last - len(events) + 1
    return [
        EventRow(
            seq=first + i,
            id=event_id,
            session_id=e.session_id,
            kind=e.kind,
            payload_json=e.payload_json,
            created_at=e.created_at,
            redaction_status=e.redaction_status,
            sensitive=e.sensitive,
        )
        for i, (event_id, e) in enumerate(zip(ids, events, strict=True))
    ]


def _check_statuses(statuses: frozenset[str] | None) -> None:
    if statuses is not None and not statuses:
        raise ValueError("only_if_status must be None (any status) or non-empty")


class InsertSession(msgspec.Struct, Op[SessionRow], frozen=True):
    """Insert a new session row. Fails with ``SessionIdConflict`` if the id exists."""

    row: SessionRow

    def __post_init__(self) -> None:
        session_to_params(self.row)  # validates labels early

    def apply(self, conn: sqlite3.Connection) -> SessionRow:
        try:
            conn.execute(_INSERT_SESSION, session_to_params(self.row))
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc) and "sessions.id" in str(exc):
                raise SessionIdConflict(
                    f"session id {self.row.id!r} already exists", {"sessionId": self.row.id}
                ) from exc
            raise
        return self.row


class UpdateSession(msgspec.Struct, Op[bool], frozen=True):
    """Set ``fields`` on a session; returns whether a row changed.

    With ``only_if_status``, the row changes only when its current status is in
    that set. ``updated_at`` is set to now unless given in ``fields``.
    ``labels`` takes a list, ``external`` a bool.
    """

    id: str
    fields: dict[str, Any]
    only_if_status: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if not self.fields:
            raise ValueError("UpdateSession needs at least one field")
        unknown = set(self.fields) - UPDATABLE_COLUMNS
        if unknown:
            raise ValueError(f"cannot update session columns {sorted(unknown)}")
        _check_statuses(self.only_if_status)
        if "labels" in self.fields:
            encode_labels(self.fields["labels"])

    def apply(self, conn: sqlite3.Connection) -> bool:
        values = dict(self.fields)
        values.setdefault("updated_at", now_rfc3339())
        if "labels" in values:
            values["labels"] = encode_labels(values["labels"])
        if "external" in values:
            values["external"] = 1 if values["external"] else 0
        names = sorted(values)
        sql = f"UPDATE sessions SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?"
        params: list[Any] = [values[n] for n in names] + [self.id]
        if self.only_if_status is not None:
            statuses = sorted(self.only_if_status)
            sql += f" AND status IN ({', '.join('?' for _ in statuses)})"
            params += statuses
        return conn.execute(sql, params).rowcount == 1


class AppendEvents(msgspec.Struct, Op[list[EventRow]], frozen=True):
    """Append events atomically; the result carries each row's ``seq`` and ``id``.

    Fails with ``SessionNotFound`` (and appends nothing) if any event names a
    session that does not exist.
    """

    events: Sequence[NewEvent]

    @property
    def size(self) -> int:
        # Read once, when the op is submitted (the writer keeps the charge).
        return _OP_OVERHEAD + sum(len(e.payload_json) for e in self.events)

    def apply(self, conn: sqlite3.Connection) -> list[EventRow]:
        try:
            return _append(conn, self.events)
        except sqlite3.IntegrityError as exc:
            if "FOREIGN KEY" in str(exc):
                ids = sorted({e.session_id for e in self.events})
                raise SessionNotFound(
                    f"session {ids[0] if len(ids) == 1 else ids} not found",
                    {"sessionId": ids[0] if len(ids) == 1 else ids},
                ) from exc
            raise

    def committed_events(self, result: list[EventRow]) -> int:
        return len(result)


class FinishResult(msgspec.Struct, frozen=True):
    """``applied``: the status changed. ``event``: the exit event row, if one was given."""

    applied: bool
    event: EventRow | None


class FinishSession(msgspec.Struct, Op[FinishResult], frozen=True):
    """Append the exit event and set the terminal status in one transaction.

    The status and exit code change only if the current status is in
    ``only_if_status`` (so a ``killed`` row stays killed when its exit arrives);
    the event is written whatever the status, unless ``event_if_unchanged`` is
    false. ``SessionNotFound`` if the row is gone.
    """

    session_id: str
    exit_event: NewEvent | None
    status: str
    exit_code: int | None
    only_if_status: frozenset[str] | None = ACTIVE_STATUSES
    event_if_unchanged: bool = True

    def __post_init__(self) -> None:
        _check_statuses(self.only_if_status)
        if self.exit_event is not None and self.exit_event.session_id != self.session_id:
            raise ValueError("exit_event belongs to another session")

    @property
    def size(self) -> int:
        extra = 0 if self.exit_event is None else len(self.exit_event.payload_json)
        return _OP_OVERHEAD + extra

    def apply(self, conn: sqlite3.Connection) -> FinishResult:
        found = conn.execute("SELECT 1 FROM sessions WHERE id = ?", (self.session_id,))
        if found.fetchone() is None:
            raise SessionNotFound(
                f"session {self.session_id!r} not found", {"sessionId": self.session_id}
            )
        applied = UpdateSession(
            self.session_id,
            {"status": self.status, "exit_code": self.exit_code},
            self.only_if_status,
        ).apply(conn)
        event = None
        if self.exit_event is not None and (applied or self.event_if_unchanged):
            event = _append(conn, [self.exit_event])[0]
        return FinishResult(applied=applied, event=event)

    def committed_events(self, result: FinishResult) -> int:
        return 0 if result.event is None else 1


class MarkOrphaned(msgspec.Struct, Op[list[str]], frozen=True):
    """Mark sessions ``orphaned``: a ``metadata`` event ``{"orphaned": true, "reason"}``
    explains why, then an ``exit`` event ``{"exitCode": null, "reason", "status":
    "orphaned"}`` ends the session's log as every other ending does (clients end
    a turn on ``exit``).

    Only rows whose status is in ``only_if_status`` change (and get the events);
    returns their ids, in the order given.
    """

    ids: Sequence[str]
    reason: str
    only_if_status: frozenset[str] | None = ACTIVE_STATUSES

    def __post_init__(self) -> None:
        _check_statuses(self.only_if_status)

    def apply(self, conn: sqlite3.Connection) -> list[str]:
        payload = encode_payload({"orphaned": True, "reason": self.reason})
        exit_payload = encode_payload(
            {"exitCode": None, "reason": self.reason, "status": SessionStatus.ORPHANED}
        )
        marked = [
            session_id
            for session_id in dict.fromkeys(self.ids)
            if UpdateSession(
                session_id, {"status": SessionStatus.ORPHANED}, self.only_if_status
            ).apply(conn)
        ]
        events: list[NewEvent] = []
        for session_id in marked:
            events.append(NewEvent(session_id, EventKind.METADATA, payload, RedactionStatus.CLEAN))
            events.append(NewEvent(session_id, EventKind.EXIT, exit_payload, RedactionStatus.CLEAN))
        _append(conn, events)
        return marked

    def committed_events(self, result: list[str]) -> int:
        return 2 * len(result)


class ArchiveSession(msgspec.Struct, Op[bool], frozen=True):
    """Set (``archived=True``) or clear ``archived_at``; returns whether the row exists."""

    id: str
    archived: bool

    def apply(self, conn: sqlite3.Connection) -> bool:
        now = now_rfc3339()
        cursor = conn.execute(
            "UPDATE sessions SET archived_at = ?, updated_at = ? WHERE id = ?",
            (now if self.archived else None, now, self.id),
        )
        return cursor.rowcount == 1


class DeleteSession(msgspec.Struct, Op[bool], frozen=True):
    """Delete a session and (by cascade) its events; returns whether it existed."""

    id: str

    def apply(self, conn: sqlite3.Connection) -> bool:
        return conn.execute("DELETE FROM sessions WHERE id = ?", (self.id,)).rowcount == 1


def op_failure(exc: BaseException) -> BaseException:
    """The exception a caller sees for an op that failed on its own."""
    if isinstance(exc, sqlite3.Error):
        failure = StoreOpFailed(f"write failed: {exc}")
        failure.__cause__ = exc
        return failure
    return exc
