"""The write of a review decision: the session's ``review_state`` and its ``review`` event, together.

The current state is read inside the writer's transaction, so the event's
``previous`` is the state this write replaced, whatever else was queued before it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from coven.errors import ReviewClosed, SessionNotFound
from coven.schema.vocabulary import EventKind
from coven.store.clock import now_rfc3339
from coven.store.ops import _OP_OVERHEAD, Op, _append
from coven.store.rows import EventRow, NewEvent, encode_payload


class ReviewChange(msgspec.Struct, frozen=True):
    """What a ``SetReviewState`` did: ``event`` is None when nothing was recorded."""

    previous: str
    state: str
    event: EventRow | None


class SetReviewState(msgspec.Struct, Op[ReviewChange], frozen=True):
    """Set a session's review state and append a ``review`` event saying so.

    ``payload`` (already redacted) goes into the event with ``state`` and
    ``previous`` added. When the current state is in ``keep``, or equals ``state``
    and ``always_record`` is false, nothing is written. When it is in ``refuse``,
    ``ReviewClosed`` is raised and nothing is written. ``SessionNotFound`` when
    the session does not exist.
    """

    session_id: str
    state: str
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    redaction_status: str = "clean"
    keep: frozenset[str] = frozenset()
    refuse: frozenset[str] = frozenset()
    always_record: bool = False

    @property
    def size(self) -> int:
        return _OP_OVERHEAD + len(encode_payload(self.payload))

    def apply(self, conn: sqlite3.Connection) -> ReviewChange:
        found = conn.execute(
            "SELECT review_state FROM sessions WHERE id = ?", (self.session_id,)
        ).fetchone()
        if found is None:
            raise SessionNotFound("Session was not found.", {"sessionId": self.session_id})
        previous = str(found[0])
        if previous in self.refuse:
            raise ReviewClosed(
                f"the review of session `{self.session_id}` is closed: its lane was "
                f"{previous}; a new session's work gets a review of its own",
                {"sessionId": self.session_id, "reviewState": previous},
            )
        if previous in self.keep or (previous == self.state and not self.always_record):
            return ReviewChange(previous, previous, None)
        now = now_rfc3339()
        conn.execute(
            "UPDATE sessions SET review_state = ?, updated_at = ? WHERE id = ?",
            (self.state, now, self.session_id),
        )
        payload = {**self.payload, "state": self.state, "previous": previous}
        event = NewEvent(
            self.session_id,
            EventKind.REVIEW,
            encode_payload(payload),
            self.redaction_status,
            created_at=now,
        )
        return ReviewChange(previous, self.state, _append(conn, [event])[0])

    def committed_events(self, result: ReviewChange) -> int:
        return 0 if result.event is None else 1
