"""The cockpit reads and the cast ledger: familiars, overview, Coven Calls, ``POST /cast``.

A cast is only *recorded* here, never obeyed: ``POST /cast`` stores the code
as a ``cast`` event (redacted like every event) and grants nothing. What a
Cast Code does is decided by a client, one ordinary API call at a time.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from coven.authority.cast import CastSubmission
from coven.authority.familiars import Familiar
from coven.errors import CastTooLarge
from coven.runtime.coven_calls import CovenCalls
from coven.runtime.event_sink import EventSink
from coven.runtime.familiars import familiar_views, overview
from coven.runtime.ledger import Ledger
from coven.runtime.records import AttentionLookup, to_record, with_attention
from coven.runtime.roster import FamiliarRoster
from coven.schema import EventKind, RedactionStatus, SessionRecord, SessionStatus
from coven.schema.casting import (
    COCKPIT_HARNESS,
    COCKPIT_PROJECT_ROOT,
    COCKPIT_SESSION_ID,
    COCKPIT_TITLE,
    CastAccepted,
    CastEventPayload,
    cast_echo,
)
from coven.schema.cockpit import (
    CovenCall,
    MemoryOverview,
    Overview,
    memory_overview_unavailable,
)
from coven.schema.familiars import FamiliarView
from coven.store import AppendToAnchor, NewEvent, SessionRow, encode_payload, now_rfc3339

# A targeted cast goes through the session's ordinary event path, which takes
# events up to this size (the reference's event-writer capacity).
TARGETED_CAST_LIMIT = 2 * 1024 * 1024


class Cockpit:
    """What the Cave and CastCodes read, and the cast ledger they write."""

    def __init__(
        self,
        ledger: Ledger,
        sink: EventSink,
        home: Path,
        roster: FamiliarRoster,
        calls: CovenCalls,
        attention: AttentionLookup | None = None,
    ) -> None:
        self._attention = attention
        self.ledger = ledger
        self.sink = sink
        self.home = home
        self.roster = roster
        self.calls = calls

    async def _all_sessions(self) -> list[SessionRecord]:
        rows = await self.ledger.read(
            self.ledger.reader.list_sessions, include_archived=True, limit=None, before=None
        )
        return [with_attention(to_record(r), self._attention) for r in rows]

    async def familiars(self) -> list[FamiliarView]:
        roster = await self.ledger.read(self.roster.load)
        return familiar_views(roster, await self._all_sessions())

    async def overview(self) -> Overview:
        roster = await self.ledger.read(self.roster.load)
        return overview(roster, await self._all_sessions())

    async def add_familiar(self, familiar: Familiar) -> FamiliarView:
        await self.ledger.read(self.roster.add, familiar)
        views = await self.familiars()
        return next(v for v in views if v.id == familiar.id)

    async def remove_familiar(self, familiar_id: str) -> None:
        await self.ledger.read(self.roster.remove, familiar_id)

    def memory_overview(self) -> MemoryOverview:
        """The overview of a daemon that keeps no familiar memory (health: ``memory: false``)."""
        return memory_overview_unavailable(now_rfc3339())

    async def coven_calls(self) -> list[CovenCall]:
        return await self.ledger.read(self.calls.all)

    async def coven_call(self, call_id: str) -> CovenCall:
        return await self.ledger.read(self.calls.get, call_id)

    async def record_cast(self, cast: CastSubmission) -> CastAccepted:
        """Store ``cast`` as a ``cast`` event; ``202`` body. Targets need not be live."""
        cast_id = "cast-" + uuid.uuid4().hex
        payload = CastEventPayload(cast_id=cast_id, code=cast.code, target=cast.target)
        redacted, changed = self.sink.redactor.payload(
            {"cast_id": payload.cast_id, "code": payload.code, "target": payload.target}
        )
        status = RedactionStatus.REDACTED if changed else RedactionStatus.CLEAN
        encoded = encode_payload(redacted)
        if cast.target is not None:
            await self.ledger.session(cast.target)  # 404 session_not_found first
            if len(encoded.encode("utf-8", "surrogatepass")) > TARGETED_CAST_LIMIT:
                raise CastTooLarge(
                    "Cast payload exceeds the daemon event writer capacity.",
                    {"sessionId": cast.target},
                )
            self.ledger.require_storage()
            await self.ledger.wait_committed(
                self.sink.append(cast.target, EventKind.CAST, redacted, status)
            )
        else:
            self.ledger.require_storage()
            event = NewEvent(COCKPIT_SESSION_ID, EventKind.CAST, encoded, status)
            await self.ledger.write(AppendToAnchor(_cockpit_anchor(), event))
            self.ledger.changes.notify(COCKPIT_SESSION_ID)
        return CastAccepted(accepted=True, cast_id=cast_id, echo=cast_echo(cast.code, cast.target))


def _cockpit_anchor() -> SessionRow:
    now = now_rfc3339()
    return SessionRow(
        id=COCKPIT_SESSION_ID,
        project_root=COCKPIT_PROJECT_ROOT,
        harness=COCKPIT_HARNESS,
        title=COCKPIT_TITLE,
        status=SessionStatus.IDLE,
        created_at=now,
        updated_at=now,
    )
