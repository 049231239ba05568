"""The runtime's access to the store: reads off the loop, writes through the one writer.

Every runtime service reaches SQLite only through a ``Ledger``: blocking reads
run on a small thread pool so the event loop never waits on SQLite, writes are
submitted to the single ``StoreWriter`` thread, and ``changes`` wakes whoever
waits for a session's next committed event or status change.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from coven.errors import SessionNotFound, StorageUnavailable
from coven.store import Op, SessionRow, StoreReader, StoreWriter

T = TypeVar("T")


class SessionSignals:
    """One-shot wake-ups per session: ``wait_handle`` before reading, ``notify`` after a commit."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def wait_handle(self, session_id: str) -> asyncio.Event:
        """An event set by the next ``notify(session_id)`` (take it *before* reading)."""
        event = self._events.get(session_id)
        if event is None:
            event = self._events[session_id] = asyncio.Event()
        return event

    def notify(self, session_id: str) -> None:
        event = self._events.pop(session_id, None)
        if event is not None:
            event.set()


class Ledger:
    """Store reads and writes for the runtime; all methods are called on the event loop."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, writer: StoreWriter, reader: StoreReader
    ) -> None:
        self.loop = loop
        self.writer = writer
        self.reader = reader
        self.changes = SessionSignals()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="coven-read")

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call (SQLite, filesystem, a large encode) on the reader pool."""
        call: Callable[[], T] = functools.partial(fn, *args, **kwargs)
        return await self.loop.run_in_executor(self._pool, call)

    def submit(self, op: Op[T]) -> Future[T]:
        """Queue a write; the future resolves (on the writer thread) once it is committed."""
        return self.writer.submit(op)

    async def write(self, op: Op[T], timeout: float | None = None) -> T:
        """Queue a write and wait for its commit (at most ``timeout``; the op stays queued)."""
        wrapped = asyncio.wrap_future(self.submit(op), loop=self.loop)
        if timeout is None:
            return await wrapped
        return await asyncio.wait_for(asyncio.shield(wrapped), timeout)

    async def wait_committed(self, future: Future[T], timeout: float | None = None) -> T:
        """Wait for an already submitted write; ``TimeoutError`` leaves it queued."""
        wrapped = asyncio.wrap_future(future, loop=self.loop)
        if timeout is None:
            return await wrapped
        return await asyncio.wait_for(asyncio.shield(wrapped), timeout)

    @property
    def healthy(self) -> bool:
        return self.writer.state == "healthy"

    def require_storage(self) -> None:
        """Refuse work we could not record: ``StorageUnavailable`` unless the writer is healthy."""
        stats = self.writer.stats()
        if stats.state != "healthy":
            raise StorageUnavailable(
                "The session store cannot persist right now; refusing work it could not record.",
                {"state": stats.state, "lastError": stats.last_error},
            )

    async def find_session(self, session_id: str) -> SessionRow | None:
        return await self.read(self.reader.get_session, session_id)

    async def session(self, session_id: str) -> SessionRow:
        """The session's row, or ``SessionNotFound``."""
        row = await self.find_session(session_id)
        if row is None:
            raise SessionNotFound("Session was not found.", {"sessionId": session_id})
        return row

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
