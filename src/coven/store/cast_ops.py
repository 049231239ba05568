"""The write of an untargeted cast: make sure its anchor session exists, then append.

The anchor row (the reference's ``__cockpit__`` session) is inserted with
``INSERT OR IGNORE`` in the same savepoint as the event, so concurrent casts
create exactly one row and an event never lands without its session.
"""

from __future__ import annotations

import sqlite3

import msgspec

from coven.store.ops import _INSERT_SESSION, _OP_OVERHEAD, Op, _append
from coven.store.rows import EventRow, NewEvent, SessionRow, session_to_params


class AppendToAnchor(msgspec.Struct, Op[EventRow], frozen=True):
    """Insert ``anchor`` unless a session with its id exists, then append ``event`` to it."""

    anchor: SessionRow
    event: NewEvent

    def __post_init__(self) -> None:
        if self.event.session_id != self.anchor.id:
            raise ValueError("the event must belong to the anchor session")

    @property
    def size(self) -> int:
        return _OP_OVERHEAD + len(self.event.payload_json)

    def apply(self, conn: sqlite3.Connection) -> EventRow:
        conn.execute(
            _INSERT_SESSION.replace("INSERT INTO", "INSERT OR IGNORE INTO", 1),
            session_to_params(self.anchor),
        )
        return _append(conn, [self.event])[0]

    def committed_events(self, result: EventRow) -> int:
        return 1
