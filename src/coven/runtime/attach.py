"""Attach and follow: one service for "replay what is stored, then go live", stitched by seq.

``AttachService.open`` subscribes to a live session's output and takes its
pipeline snapshot in one synchronous step, so the replay (stored events up to
the snapshot's seq, then the text still on its way to the store) joins the
live output with no gap and no duplicate. The attachment then yields typed
items that the API layer only frames (as WebSocket messages)::

    ReplayChunk*  Live(seq)  (Output* …)  Exit | Overflow

By default (``AttachView.SCREEN``) a live session is shown as its current
screen instead: one ``ReplayChunk`` rendered by the session's ``ScreenModel``
(with up to ``history`` scrollback lines), then the live output after the bytes
that screen covers. The subscription is taken first and the snapshot's byte
offset tells how much of the buffered live output it already shows, so nothing
is shown twice or skipped. A snapshot holds no terminal query, so the attached
terminal sends nothing back. ``AttachView.RAW``, a resume (``after_seq`` > 0),
a finished session or a session without a model get the raw replay.

``AttachService.follow`` is the event-level twin for NDJSON: batches of event
records after a seq, then live ones as they commit, ending after ``exit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import msgspec

from coven.runtime.ledger import Ledger
from coven.runtime.live import LiveSession, LiveState, LiveTable, Outcome
from coven.runtime.records import to_event_record, to_record
from coven.runtime.transcript import stored_screen
from coven.schema import EventKind, EventRecord, SessionRecord, SessionStatus
from coven.schema.attach import AttachState, ScreenView
from coven.schema.vocabulary import MAX_PAGE

SUBSCRIBER_LIMIT = 4 * 1024 * 1024
DEFAULT_HISTORY_LINES = 100


class AttachView(enum.Enum):
    """What an attach shows of the past: the current screen, or the raw output log."""

    SCREEN = "screen"
    RAW = "raw"


REPLAY_BATCH = 500
FOLLOW_POLL_SECONDS = 1.0
FINISH_WAIT_SECONDS = 5.0


class ReplayChunk(msgspec.Struct, frozen=True):
    """Stored (or committed-soon) output from before the attach."""

    data: bytes


class Live(msgspec.Struct, frozen=True):
    """The replay is complete up to ``seq``; what follows is live."""

    seq: int


class Output(msgspec.Struct, frozen=True):
    """Live terminal output (raw: the attached terminal shows the real bytes)."""

    data: bytes


class Exit(msgspec.Struct, frozen=True):
    """The session ended; nothing follows."""

    status: str
    exit_code: int | None


class Overflow(msgspec.Struct, frozen=True):
    """The client fell more than ``SUBSCRIBER_LIMIT`` behind; resume after this seq."""

    resume_after_seq: int


AttachItem = ReplayChunk | Live | Output | Exit | Overflow


class Subscriber:
    """Bounded live buffer of one attached client; overflow marks it for disconnection."""

    def __init__(self, limit: int = SUBSCRIBER_LIMIT) -> None:
        self.limit = limit
        self.chunks: deque[tuple[bytes, int]] = deque()
        self.buffered = 0
        self.overflowed = False
        self.wakeup = asyncio.Event()

    def push_output(self, data: bytes, end_offset: int) -> None:
        if self.overflowed:
            return
        if self.buffered + len(data) > self.limit:
            self.overflowed = True
        else:
            self.chunks.append((data, end_offset))
            self.buffered += len(data)
        self.wakeup.set()

    def take(self) -> tuple[bytes, int | None]:
        if not self.chunks:
            return b"", None
        parts = []
        end = None
        while self.chunks:
            data, end = self.chunks.popleft()
            parts.append(data)
        self.buffered = 0
        return b"".join(parts), end

    def skip(self, size: int) -> int | None:
        """Drop the first ``size`` buffered bytes (already shown); the end offset reached."""
        end = None
        while size > 0 and self.chunks:
            data, end = self.chunks[0]
            if len(data) <= size:
                self.chunks.popleft()
                self.buffered -= len(data)
                size -= len(data)
            else:
                # Chunks are the model's feed units, so a snapshot ends between two of
                # them; cut anyway rather than show bytes twice.
                self.chunks[0] = (data[size:], end)
                self.buffered -= size
                size = 0
        return end


class Attachment:
    """One client's view of one session: ``items()`` once, then ``close()``.

    States go replaying → live → closed, each entered once (``close`` from any).
    """

    def __init__(
        self,
        ledger: Ledger,
        record: SessionRecord,
        after_seq: int,
        session: LiveSession | None,
        view: AttachView = AttachView.RAW,
        history: int = DEFAULT_HISTORY_LINES,
    ) -> None:
        self.ledger = ledger
        self.record = record
        self.after_seq = after_seq
        self.history = history
        self._screen_from: int | None = None  # model bytes fed when we subscribed
        self.state = AttachState.REPLAYING
        self._session = session
        self._subscriber = Subscriber()
        self._upto: int | None = None
        self._pending = ""
        self._offset = 0
        # Snapshot and subscription in one synchronous step: no gap, no duplicate.
        if session is not None and session.state is not LiveState.FINISHED:
            self._upto, self._pending, self._offset = session.pipeline.snapshot()
            screen = session.pipeline.screen
            if view is AttachView.SCREEN and after_seq == 0 and screen is not None:
                self._screen_from = screen.fed_bytes
            session.pipeline.subscribers.add(self._subscriber)

    def _enter(self, state: AttachState) -> None:
        order = (AttachState.REPLAYING, AttachState.LIVE, AttachState.CLOSED)
        if order.index(state) <= order.index(self.state):
            raise RuntimeError(f"attach cannot go from {self.state.value} to {state.value}")
        self.state = state

    async def items(self) -> AsyncGenerator[AttachItem, None]:
        session = self._session
        if session is not None and self._upto is not None and self._screen_from is not None:
            shown = await self._screen(session, self._screen_from)
            if shown is not None:
                yield ReplayChunk(shown)
                self._enter(AttachState.LIVE)
                yield Live(self._upto)
                async for item in self._live(session):
                    yield item
                return
        exit_seq: int | None = None
        async for data, seq in self._replay():
            if data is None:
                exit_seq = seq
            else:
                yield ReplayChunk(data)
        if self._pending:
            yield ReplayChunk(self._pending.encode("utf-8", "replace"))
        session = self._session
        if session is None or self._upto is None:
            # Finished before we attached: the replay is the whole story.
            final = to_record(await self.ledger.session(self.record.id))
            self._enter(AttachState.LIVE)
            yield Live(exit_seq if exit_seq is not None else self.after_seq)
            yield Exit(final.status, final.exit_code)
            return
        self._enter(AttachState.LIVE)
        yield Live(self._upto)
        async for item in self._live(session):
            yield item

    async def _screen(self, session: LiveSession, fed_then: int) -> bytes | None:
        """The session's current screen, live output it covers dropped; None if gone."""
        screen = session.pipeline.screen
        if screen is None:
            return None
        try:
            # Rendering may emulate up to the model's backlog: never on the event loop.
            snap = await asyncio.to_thread(screen.snapshot, self.history)
        except ValueError:
            return None  # the session ended and its model was closed meanwhile
        end = self._subscriber.skip(snap.offset - fed_then)
        if end is not None:
            self._offset = end
        return snap.data

    async def _replay(self) -> AsyncIterator[tuple[bytes | None, int]]:
        """Stored output after ``after_seq`` up to the snapshot; ``(None, seq)`` for an exit."""
        reader = self.ledger.reader
        session_id = self.record.id
        cursor = self.after_seq
        while True:
            rows = await self.ledger.read(
                reader.list_events, session_id, after_seq=cursor, limit=REPLAY_BATCH
            )
            for row in rows:
                if self._upto is not None and row.seq > self._upto:
                    return
                if row.kind == EventKind.OUTPUT:
                    data = json.loads(row.payload_json).get("data", "")
                    if data:
                        yield data.encode("utf-8", "replace"), row.seq
                elif row.kind == EventKind.EXIT:
                    yield None, row.seq
                cursor = row.seq
            if len(rows) < REPLAY_BATCH:
                return

    async def _live(self, session: LiveSession) -> AsyncIterator[AttachItem]:
        sub = self._subscriber
        delivered = self._offset
        finished: asyncio.Future[Outcome] = asyncio.ensure_future(asyncio.shield(session.finished))
        try:
            while True:
                waiter: asyncio.Future[Any] = asyncio.ensure_future(sub.wakeup.wait())
                done, _ = await asyncio.wait(
                    {waiter, finished}, return_when=asyncio.FIRST_COMPLETED
                )
                if waiter not in done:
                    waiter.cancel()
                sub.wakeup.clear()
                data, end = sub.take()
                if data:
                    yield Output(data)
                    delivered = end if end is not None else delivered
                if sub.overflowed:
                    yield Overflow(session.pipeline.resume_seq_for(delivered))
                    return
                if finished in done:
                    outcome = finished.result()
                    # Drain anything pushed in the same loop turn as the exit.
                    data, _end = sub.take()
                    if data:
                        yield Output(data)
                    yield Exit(outcome.status, outcome.exit_code)
                    return
        finally:
            finished.cancel()

    def close(self) -> None:
        """Stop receiving live output (idempotent)."""
        if self._session is not None:
            self._session.pipeline.subscribers.discard(self._subscriber)
        self.state = AttachState.CLOSED


class AttachService:
    def __init__(self, ledger: Ledger, table: LiveTable) -> None:
        self.ledger = ledger
        self.table = table

    async def open(
        self,
        session_id: str,
        after_seq: int,
        view: AttachView = AttachView.RAW,
        history: int = DEFAULT_HISTORY_LINES,
    ) -> Attachment:
        """Attach to a session (live or finished); ``SessionNotFound`` for an unknown id."""
        record = to_record(await self.ledger.session(session_id))
        # No await between here and the snapshot in Attachment(): the seam is exact.
        return Attachment(
            self.ledger,
            record,
            max(0, after_seq),
            self.table.get(session_id),
            view,
            max(0, history),
        )

    async def screen(self, session_id: str, ansi: bool = False, history: int = 0) -> ScreenView:
        """A session's screen with up to ``history`` scrollback lines: the live model's,
        or for an ended session its final screen rebuilt from the stored output."""
        await self.ledger.session(session_id)  # SessionNotFound first
        session = self.table.get(session_id)
        model = None if session is None else session.pipeline.screen
        if session is not None and model is not None and session.state is not LiveState.FINISHED:
            try:
                # Rendering may emulate up to the model's backlog: never on the event loop.
                text = await asyncio.to_thread(model.text, ansi=ansi, history=history)
                cols, rows = model.size
                return ScreenView(session_id, cols, rows, ansi, model.exact, text)
            except ValueError:
                pass  # it ended while its screen was read: rebuild it from the store
        if session is not None:
            # Ending: its last output is on its way to the store, with the exit record.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(session.finished), FINISH_WAIT_SECONDS)
        return await stored_screen(self.ledger, session_id, ansi=ansi, history=history)

    async def follow(
        self, session_id: str, after_seq: int
    ) -> AsyncGenerator[list[EventRecord], None]:
        """Event batches after ``after_seq``, then live ones; ends after ``exit``.

        Also ends when the session is no longer running and every event has been
        sent (a running external session is followed until it completes).
        """
        await self.ledger.session(session_id)
        reader = self.ledger.reader
        after = max(0, after_seq)
        while True:
            changed = self.ledger.changes.wait_handle(session_id)
            rows = await self.ledger.read(
                reader.list_events, session_id, after_seq=after, limit=MAX_PAGE
            )
            if rows:
                yield [to_event_record(r) for r in rows]
                after = rows[-1].seq
                if any(r.kind == EventKind.EXIT for r in rows):
                    return
            if len(rows) == MAX_PAGE:
                continue
            if session_id not in self.table:
                row = await self.ledger.find_session(session_id)
                if row is None or row.status != SessionStatus.RUNNING or not row.external:
                    # Not live and nothing more to read: the stream is complete.
                    more = await self.ledger.read(
                        reader.list_events, session_id, after_seq=after, limit=MAX_PAGE
                    )
                    if more:
                        continue
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=FOLLOW_POLL_SECONDS)
