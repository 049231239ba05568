"""Rituals on finished sessions (archive, summon, sacrifice) and external sessions.

External sessions are run by some other tool and only registered here: they
are created ``running`` and change status only through ``complete`` (the
``complete`` transition of ``lifecycle``), once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from coven import authority
from coven.errors import (
    InvalidRequest,
    NotExternalSession,
    SessionConflict,
    SessionIdConflict,
    SessionNotFound,
)
from coven.harness import EXTERNAL_ONLY_IDS, HarnessRegistry, unsupported_harness_message
from coven.redaction import Redactor
from coven.runtime import lifecycle
from coven.runtime.ledger import Ledger
from coven.runtime.live import LiveTable
from coven.runtime.records import to_record
from coven.runtime.work import Work
from coven.schema import ACTIVE_STATUSES, SessionRecord, SessionStatus
from coven.store import ArchiveSession, DeleteSession, InsertSession, SessionRow, now_rfc3339


class Rituals:
    """Archive keeps a session's lane as it is; sacrifice removes it only when that loses nothing."""

    def __init__(self, ledger: Ledger, table: LiveTable, work: Work) -> None:
        self.ledger = ledger
        self.table = table
        self.work = work

    async def archive(self, session_id: str) -> SessionRecord:
        """Hide a finished session from default lists (``SessionConflict`` while it runs)."""
        return await self._set_archived(session_id, True)

    async def summon(self, session_id: str) -> SessionRecord:
        """Bring an archived session back into default lists.

        A live session is never archived, so summoning one is refused
        (``SessionConflict``) rather than answered as if it restored something.
        """
        return await self._set_archived(session_id, False)

    async def _set_archived(self, session_id: str, archived: bool) -> SessionRecord:
        row = await self.ledger.session(session_id)
        live = row.status == SessionStatus.RUNNING or session_id in self.table
        if archived and live:
            raise SessionConflict(
                f"session `{session_id}` is still running; kill it first with "
                f"`coven kill {session_id}`",
                {"sessionId": session_id, "status": row.status},
            )
        if not archived and live and row.archived_at is None:
            raise SessionConflict(
                f"session `{session_id}` is live and not archived: there is nothing to "
                f"summon; attach to it with `coven attach {session_id}`",
                {"sessionId": session_id, "status": row.status},
            )
        self.ledger.require_storage()
        if (row.archived_at is not None) != archived:
            await self.ledger.write(ArchiveSession(session_id, archived))
        return to_record(await self.ledger.session(session_id))

    async def sacrifice(self, session_id: str, confirm: object) -> None:
        """Delete a finished session and its events; ``confirm`` must be the full id."""
        row = await self.ledger.session(session_id)
        if confirm != session_id:
            raise InvalidRequest(
                "sacrifice permanently deletes a session and its events; confirm with the "
                "exact full session id",
                {"sessionId": session_id, "field": "confirm"},
            )
        if row.status in ACTIVE_STATUSES or session_id in self.table:
            raise SessionConflict(
                f"session `{session_id}` is still running; do not sacrifice live work — kill "
                f"it first with `coven kill {session_id}`",
                {"sessionId": session_id, "status": row.status},
            )
        self.ledger.require_storage()
        # Refuses (lane_dirty, lane_unmerged) before the row goes: never delete a lane's work.
        await self.work.release_for_sacrifice(row)
        if not await self.ledger.write(DeleteSession(session_id)):
            raise SessionNotFound("Session was not found.", {"sessionId": session_id})
        self.ledger.changes.notify(session_id)


class ExternalSessions:
    def __init__(
        self,
        ledger: Ledger,
        redactor: Redactor,
        registry: Callable[[], HarnessRegistry],
        home: Path,
    ) -> None:
        self.ledger = ledger
        self.redactor = redactor
        self.registry = registry
        self.home = home

    async def register(self, body: object) -> tuple[SessionRecord, bool]:
        """Register (idempotently); True when the row was created by this call.

        The harness must be one a launch would accept (a configured id), or one
        of the reference's other built-ins (``EXTERNAL_ONLY_IDS``) whose own
        tools register the sessions they run here.
        """
        registry = await self.ledger.read(self.registry)
        known = [*registry.ids(), *(i for i in EXTERNAL_ONLY_IDS if registry.get(i) is None)]

        def unsupported(harness: str) -> str:
            return (
                unsupported_harness_message(harness, registry)
                + f" External sessions may also name {' or '.join(EXTERNAL_ONLY_IDS)}."
            )

        reg = authority.parse_external(
            body, coven_home=self.home, harness_ids=known, unsupported_message=unsupported
        )
        existing = await self.ledger.find_session(reg.id)
        if existing is not None:
            if existing.external:
                return to_record(existing), False
            raise SessionIdConflict(
                "Session id is owned by a daemon-managed session.", {"sessionId": reg.id}
            )
        self.ledger.require_storage()
        now = now_rfc3339()
        row = SessionRow(
            id=reg.id,
            project_root=str(reg.project_root),
            harness=reg.harness,
            title=self.redactor.text(reg.title),
            status=SessionStatus.RUNNING,
            created_at=now,
            updated_at=now,
            labels=list(reg.labels),
            external=True,
            transcript_path=reg.transcript_path,
        )
        try:
            await self.ledger.write(InsertSession(row))
        except SessionIdConflict:
            again = await self.ledger.session(reg.id)
            if again.external:
                return to_record(again), False
            raise
        return to_record(row), True

    async def complete(self, session_id: str, exit_code: int | None) -> SessionRecord:
        """Mark an external session finished: exit code absent or 0 → completed, else failed."""
        row = await self.ledger.session(session_id)
        if not row.external:
            raise NotExternalSession(
                f"POST /sessions/{session_id}/complete is only valid for externally-registered "
                f"sessions. Use POST /sessions/{session_id}/kill for daemon-managed sessions.",
                {"sessionId": session_id},
            )
        status = SessionStatus.COMPLETED if exit_code in (None, 0) else SessionStatus.FAILED
        payload = {"exitCode": exit_code, "status": status, "reason": "completed by client"}
        try:
            op = lifecycle.finish(
                lifecycle.COMPLETE_EXTERNAL, session_id, status, exit_code, payload, row.status
            )
            result = await self.ledger.write(op)
        except lifecycle.IllegalTransition:
            raise _completed_twice(session_id, row.status) from None
        if not result.applied:  # another request completed it first
            raise _completed_twice(session_id, (await self.ledger.session(session_id)).status)
        self.ledger.changes.notify(session_id)
        return to_record(await self.ledger.session(session_id))


def _completed_twice(session_id: str, status: str) -> lifecycle.IllegalTransition:
    return lifecycle.IllegalTransition(
        f"external session `{session_id}` is already finished (status {status}); it can be "
        "completed only once",
        {"sessionId": session_id, "status": status},
    )
