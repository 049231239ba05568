"""Acting on live sessions: input, kill, resize, and ending them all at shutdown.

Input reaches the terminal at once. Its ``input`` event is queued before the
bytes are written whenever it can be judged in the same request (a line end
releases the line), so the log reads in causal order; text held back until it
can be judged (``runtime.typed_input``) is stored later, and before a kill or
exit event.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgspec

from coven.errors import ExternalNotKillable, InputTooLarge, SessionNotLive
from coven.runtime.event_sink import EventSink
from coven.runtime.ledger import Ledger
from coven.runtime.live import LiveSession, LiveTable, Outcome
from coven.runtime.terminal_size import AttachedSizes
from coven.schema import EventKind, SessionStatus

MAX_INPUT_BYTES = 1024 * 1024
INPUT_ACK_TIMEOUT = 5.0
KILL_ACK_TIMEOUT = 5.0


class LiveRef(msgspec.Struct, frozen=True):
    """A session that was live when checked (``LiveControl.require_live``)."""

    session_id: str


class SendInput(msgspec.Struct, frozen=True):
    """Input for a live session: ``data`` to type, ``payload`` the body to record."""

    data: str
    payload: dict[str, Any]


def _not_live(session_id: str) -> SessionNotLive:
    return SessionNotLive("Session is not live.", {"sessionId": session_id})


class LiveControl:
    def __init__(self, ledger: Ledger, sink: EventSink, table: LiveTable) -> None:
        self.ledger = ledger
        self.sink = sink
        self.table = table
        self.attached_sizes = AttachedSizes()

    async def require_live(self, session_id: str) -> LiveRef:
        """``SessionNotFound`` for an unknown id, ``SessionNotLive`` unless it is running."""
        row = await self.ledger.session(session_id)
        if row.status != SessionStatus.RUNNING or self.table.running(session_id) is None:
            raise _not_live(session_id)
        return LiveRef(session_id)

    def _session(self, ref: LiveRef) -> LiveSession:
        session = self.table.running(ref.session_id)
        if session is None:
            raise _not_live(ref.session_id)
        return session

    async def send_input(self, ref: LiveRef, command: SendInput) -> bool:
        """Deliver input; True once its ``input`` event is durable (or nothing was stored yet).

        False means the bytes reached the harness but the store did not confirm the
        event within INPUT_ACK_TIMEOUT (storage just went down); it stays queued and
        is recorded when storage recovers.
        """
        session = self._session(ref)
        encoded = command.data.encode("utf-8", "surrogatepass")
        if len(encoded) > MAX_INPUT_BYTES:
            raise InputTooLarge(
                f"input exceeds {MAX_INPUT_BYTES} bytes", {"sessionId": ref.session_id}
            )
        self.ledger.require_storage()
        return await self._deliver(session, encoded, command.payload, wait=True)

    async def attach_input(self, session_id: str, data: bytes) -> None:
        """Input typed into an attached terminal: delivered if the session still runs."""
        session = self.table.running(session_id)
        if session is None:
            return
        text = data.decode("utf-8", "replace")
        with contextlib.suppress(Exception):
            await self._deliver(session, data, {"data": text}, wait=False)

    async def _deliver(
        self, session: LiveSession, data: bytes, payload: dict[str, Any], *, wait: bool
    ) -> bool:
        recorded = self.sink.record_input(session.session_id, payload, session.typed_input)
        if not session.write_input(data):
            raise SessionNotLive(
                "Session is not accepting input (its input backlog is full or it exited).",
                {"sessionId": session.session_id},
            )
        if session.attention is not None:
            session.attention.input()
        if recorded is None:
            return True  # held until it can be judged: nothing to wait for
        if not wait:
            return False
        try:
            await self.ledger.wait_committed(recorded, INPUT_ACK_TIMEOUT)
        except TimeoutError:
            return False
        return True

    async def kill(self, session_id: str, reason: str = "requested") -> None:
        """Kill a live session's process group (escalating); its exit is recorded later."""
        row = await self.ledger.session(session_id)
        if row.external and row.status == SessionStatus.RUNNING:
            raise ExternalNotKillable(
                "External sessions are not managed by the daemon; use POST "
                f"/sessions/{session_id}/complete to mark them finished.",
                {"sessionId": session_id},
            )
        session = self.table.running(session_id)
        if row.status != SessionStatus.RUNNING or session is None:
            raise _not_live(session_id)
        await self.kill_live(session, reason)

    async def kill_live(self, session: LiveSession, reason: str) -> Outcome:
        # Typed before the kill: stored before it.
        self.sink.release_held_input(session.session_id, session.typed_input)
        session.begin_kill(reason)
        recorded = self.sink.append(
            session.session_id, EventKind.KILL, {"reason": reason, "status": SessionStatus.KILLED}
        )
        # If storage is down the kill proceeds; the event stays queued and lands on recovery.
        with contextlib.suppress(TimeoutError):
            await self.ledger.wait_committed(recorded, KILL_ACK_TIMEOUT)
        return await asyncio.shield(session.finished)

    async def _hand_over(self, session: LiveSession) -> None:
        held = self.sink.release_held_input(session.session_id, session.typed_input)
        await session.hand_over()
        if held is not None:
            # The writer drains before the daemon exits; waiting says so in the order.
            with contextlib.suppress(TimeoutError):
                await self.ledger.wait_committed(held, INPUT_ACK_TIMEOUT)

    async def resize(self, session_id: str, rows: int, cols: int) -> None:
        """Resize a live session's terminal (``SessionNotLive`` otherwise)."""
        session = self._session(await self.require_live(session_id))
        session.resize(rows, cols)

    def attach_resize(self, session_id: str, client: object, rows: int, cols: int) -> None:
        """An attached terminal's size: the session takes the smallest of them (see
        ``coven.runtime.terminal_size``), if it still has a terminal."""
        rows, cols = self.attached_sizes.report(session_id, client, rows, cols)
        session = self.table.get(session_id)
        if session is not None:
            session.resize(rows, cols)

    def attach_gone(self, session_id: str, client: object) -> None:
        """An attached terminal went away: grow to the smallest of those left."""
        size = self.attached_sizes.forget(session_id, client)
        session = self.table.get(session_id)
        if size is not None and session is not None:
            session.resize(*size)

    async def shutdown(self, keep_sessions: bool = False) -> None:
        """Refuse new launches, kill every live session and wait for their exits.

        With ``keep_sessions``, sessions served by a holder are handed over instead
        (left running, their output committed up to what was read) for the next
        daemon to adopt; only daemon-owned ones are killed. Typed input this daemon
        still held back (``runtime.typed_input``) is stored first: the harness has
        those keys, and the next daemon never sees them.
        """
        self.table.accepting = False
        sessions = list(self.table.sessions.values())
        kept = [s for s in sessions if keep_sessions and s.held is not None and s.live]
        ending = [s for s in sessions if s not in kept]
        await asyncio.gather(
            *(self._hand_over(s) for s in kept),
            *(self.kill_live(s, "daemon shutdown") for s in ending),
            return_exceptions=True,
        )
