"""The writer thread: the only code path that writes to the database.

Callers ``submit`` ops from any thread and get a ``concurrent.futures.Future``
that resolves only once the op is committed (durable in the WAL), or fails
with that op's own error. The thread group-commits everything queued (up to a
cap) in one transaction, each op in its own SAVEPOINT.

Faults never latch the writer dead: when SQLite reports the storage as busy,
locked, full or failing, the batch is rolled back, kept, and retried with
backoff; the state reads ``degraded`` until a commit succeeds again.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from concurrent.futures import Future
from typing import Any, Literal

import msgspec

from coven.errors import StorageUnavailable
from coven.store import database
from coven.store.checkpoint import WAL_KEEP_BYTES, Checkpointer
from coven.store.clock import now_rfc3339
from coven.store.ops import AppendEvents, Op, op_failure

WriterState = Literal["healthy", "degraded", "stopped"]

MAX_BATCH_OPS = 256
MAX_BATCH_BYTES = 8 * 1024 * 1024
BACKOFF_INITIAL = 0.010
BACKOFF_MAX = 0.500


class WriterStats(msgspec.Struct, frozen=True):
    """A consistent snapshot of the writer for health reporting.

    ``queued_ops``/``queued_bytes`` count ops submitted but not yet resolved.
    """

    state: WriterState
    queued_ops: int
    queued_bytes: int
    transactions: int
    committed_events: int
    last_error: str | None
    last_commit_at: str | None
    degraded_since: str | None


class _Pending(msgspec.Struct):
    op: Op[Any]
    future: Future[Any]
    size: int


class StoreWriter:
    """Owns the single write connection and the thread that uses it.

    The database must already be initialized (``coven.store.open_store`` does
    that). The connection is opened in the constructor, so a bad path fails
    here; the thread runs only after ``start()``. Ops submitted before
    ``start()`` wait in the queue.

    ``max_page_count`` (tests only) caps the database size on the writer's own
    connection to simulate a full disk; ``set_max_page_count`` changes it later.
    """

    def __init__(self, path: str, *, max_page_count: int | None = None) -> None:
        self._path = path
        self._conn = database.connect(path)
        # This connection never checkpoints (a checkpoint inside a commit stalled it for
        # up to a third of a second): the Checkpointer's thread does, beside it.
        self._conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._conn.execute(f"PRAGMA journal_size_limit = {WAL_KEEP_BYTES}")
        self._checkpointer = Checkpointer(path)
        self._cond = threading.Condition()
        self._queue: deque[_Pending] = deque()
        self._queued_ops = 0
        self._queued_bytes = 0
        self._state: WriterState = "healthy"
        self._transactions = 0
        self._committed_events = 0
        self._last_error: str | None = None
        self._last_commit_at: str | None = None
        self._degraded_since: str | None = None
        self._stopping = False
        self._stop_deadline: float | None = None
        self._closed = False
        self._abandoned = False  # ops failed because storage stayed down through stop()
        self._page_cap: int | None = max_page_count
        self._page_cap_dirty = max_page_count is not None
        self._default_max_pages = int(self._conn.execute("PRAGMA max_page_count").fetchone()[0])
        self._thread = threading.Thread(target=self._run, name="coven-store-writer", daemon=True)
        self._started = False
        # Cuts a backoff short for stop() or a page-cap change (not for new ops:
        # those must not turn a 500 ms backoff into a busy loop).
        self._wake = threading.Event()

    # -- public API ------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        with self._cond:
            if self._closed or self._stopping:
                raise StorageUnavailable("store writer is stopped")
            if self._started:
                return
            self._started = True
        self._thread.start()
        self._checkpointer.start()

    def submit(self, op: Op[Any]) -> Future[Any]:
        """Queue ``op``; the future resolves after commit (or with the op's own error).

        After ``stop()`` the future fails at once with ``StorageUnavailable``.
        Thread-safe.
        """
        future: Future[Any] = Future()
        size = op.size
        with self._cond:
            if self._stopping or self._closed:
                future.set_exception(StorageUnavailable("store writer is stopped"))
                return future
            self._queue.append(_Pending(op, future, size))
            self._queued_ops += 1
            self._queued_bytes += size
            self._cond.notify()
        return future

    @property
    def queued_bytes(self) -> int:
        """Bytes submitted but not yet resolved (cheap; for backpressure)."""
        return self._queued_bytes

    @property
    def state(self) -> WriterState:
        return self._state

    def stats(self) -> WriterStats:
        """A thread-safe snapshot of the counters."""
        with self._cond:
            return WriterStats(
                state=self._state,
                queued_ops=self._queued_ops,
                queued_bytes=self._queued_bytes,
                transactions=self._transactions,
                committed_events=self._committed_events,
                last_error=self._last_error,
                last_commit_at=self._last_commit_at,
                degraded_since=self._degraded_since,
            )

    def set_max_page_count(self, pages: int | None) -> None:
        """Test hook: cap (or, with ``None``, uncap) the database size before the next attempt."""
        with self._cond:
            self._page_cap = pages
            self._page_cap_dirty = True
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> bool:
        """Refuse new ops, drain the queue, close the connection.

        Waits up to ``timeout`` seconds. If storage stays unavailable that long,
        the ops still pending fail with ``StorageUnavailable``. Returns True if
        everything queued was committed (or failed on its own merits).
        """
        with self._cond:
            if self._closed:
                return True
            self._stopping = True
            self._stop_deadline = time.monotonic() + timeout
            started = self._started
            self._cond.notify_all()
        self._wake.set()
        drained = True
        if started:
            self._thread.join(timeout + 1.0)
            drained = not self._thread.is_alive()
        else:
            drained = self._fail_queue("store writer stopped before it started") == 0
        with self._cond:
            drained = drained and not self._abandoned and self._queued_ops == 0
            self._closed = True
            self._state = "stopped"
        self._checkpointer.stop()
        if not self._thread.is_alive():
            self._conn.close()
        return drained

    # -- writer thread ---------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                batch = self._take_batch()
                if batch is None:
                    return
                self._commit_with_retry(batch)
        finally:
            with self._cond:
                self._state = "stopped"

    def _take_batch(self) -> list[_Pending] | None:
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._cond.wait()
            batch: list[_Pending] = []
            size = 0
            while self._queue and len(batch) < MAX_BATCH_OPS:
                item = self._queue[0]
                if batch and size + item.size > MAX_BATCH_BYTES:
                    break
                batch.append(self._queue.popleft())
                size += item.size
            return batch

    def _commit_with_retry(self, batch: list[_Pending]) -> None:
        delay = BACKOFF_INITIAL
        while True:
            try:
                outcomes = self._run_batch(batch)
            except Exception as exc:  # decide below whether it is transient
                self._rollback()
                if not database.is_storage_fault(exc):
                    # Not a storage fault and not attributable to one op (e.g. a
                    # misuse error from COMMIT): fail this batch, keep running.
                    self._fail_all(batch, f"store write failed: {exc}", cause=exc)
                    return
                self._mark_degraded(exc)
                if self._past_stop_deadline():
                    self._abandoned = True
                    self._fail_all(batch, f"storage unavailable at shutdown: {exc}", cause=exc)
                    self._fail_queue(f"storage unavailable at shutdown: {exc}")
                    return
                self._sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            self._resolve(batch, outcomes)
            events = sum(item.size for item in batch if isinstance(item.op, AppendEvents))
            self._checkpointer.wrote(sum(item.size for item in batch), events)
            return

    def _run_batch(self, batch: list[_Pending]) -> list[tuple[bool, Any]]:
        self._apply_page_cap()
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        outcomes: list[tuple[bool, Any]] = []
        for item in batch:
            conn.execute("SAVEPOINT op")
            try:
                result = item.op.apply(conn)
            except Exception as exc:
                if database.is_storage_fault(exc):
                    raise  # the whole batch waits and retries
                conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
                outcomes.append((False, op_failure(exc)))
                continue
            conn.execute("RELEASE op")
            outcomes.append((True, result))
        conn.execute("COMMIT")
        return outcomes

    def _apply_page_cap(self) -> None:
        with self._cond:
            if not self._page_cap_dirty:
                return
            pages = self._page_cap
            self._page_cap_dirty = False
        target = self._default_max_pages if pages is None else pages
        self._conn.execute(f"PRAGMA max_page_count = {int(target)}")

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            # A failed rollback leaves SQLite to roll back on the next BEGIN.
            with contextlib.suppress(Exception):
                self._conn.execute("ROLLBACK")

    def _resolve(self, batch: list[_Pending], outcomes: list[tuple[bool, Any]]) -> None:
        events = 0
        for item, (ok, value) in zip(batch, outcomes, strict=True):
            if ok:
                events += item.op.committed_events(value)
        with self._cond:
            self._transactions += 1
            self._committed_events += events
            self._last_commit_at = now_rfc3339()
            self._state = "healthy"
            self._degraded_since = None
            self._queued_ops -= len(batch)
            self._queued_bytes -= sum(item.size for item in batch)
        for item, (ok, value) in zip(batch, outcomes, strict=True):
            # A caller may have cancelled its future (asyncio.wrap_future does on
            # task cancellation); the write still happened, there is no one to tell.
            if item.future.done():
                continue
            if ok:
                item.future.set_result(value)
            else:
                item.future.set_exception(value)

    def _fail_all(
        self, batch: list[_Pending], message: str, *, cause: BaseException | None = None
    ) -> None:
        with self._cond:
            self._queued_ops -= len(batch)
            self._queued_bytes -= sum(item.size for item in batch)
        for item in batch:
            error = StorageUnavailable(message)
            error.__cause__ = cause
            if not item.future.done():
                item.future.set_exception(error)

    def _fail_queue(self, message: str) -> int:
        with self._cond:
            rest = list(self._queue)
            self._queue.clear()
        self._fail_all(rest, message)
        return len(rest)

    def _mark_degraded(self, exc: BaseException) -> None:
        code = database.error_code(exc)
        name = getattr(exc, "sqlite_errorname", None)
        tag = f"[{name}] " if name else (f"[{code}] " if code is not None else "")
        with self._cond:
            if self._state != "degraded":
                self._degraded_since = now_rfc3339()
            self._state = "degraded"
            self._last_error = f"{tag}{exc}"

    def _past_stop_deadline(self) -> bool:
        with self._cond:
            return self._stop_deadline is not None and time.monotonic() >= self._stop_deadline

    def _sleep(self, delay: float) -> None:
        """Back off, waking early for stop() or a page-cap change."""
        with self._cond:
            if self._stopping and self._stop_deadline is not None:
                delay = min(delay, max(0.0, self._stop_deadline - time.monotonic()))
        self._wake.wait(delay)
        self._wake.clear()
