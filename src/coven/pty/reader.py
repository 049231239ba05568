"""One thread that reads every PTY master, so kernel copies overlap the event loop's work.

Why a thread: a PTY master hands over at most about 4 KiB per read (the line
discipline's buffer) and each refill waits for a kernel worker. Read on the event
loop, every 4 KiB also waited for the loop to decode, redact and queue the previous
chunk, and the harness stalled on a full terminal meanwhile (``bench/profile.py
output`` showed three quarters of the loop's time in ``os.read``). Here the reads run
on their own thread (``os.read`` releases the GIL) and the loop receives what
accumulated in one piece: a keystroke echo at once, a flood in chunks of up to
``HANDOVER_BYTES``.

Contract with the owner (the thread that runs ``schedule``d callbacks, i.e. the
event loop; every ``PtySource`` method is called there):

* Bytes reach ``on_output`` in order, then ``on_eof`` exactly once, after the last byte.
* Bounded: once ``budget`` bytes are read and not yet consumed by ``on_output``, or
  while the source is paused, its fd leaves the epoll set; the harness then blocks on
  its own write. Nothing is dropped.
* ``detach`` returns only when the thread can no longer touch the fd (it waits out a
  read in progress), after handing over every byte already read: the owner may then
  read the fd itself or close it.

A source is a PTY master by default. Anything else whose fd is readable exactly while
it has bytes to give (or its end to report) can be read the same way by passing its
own ``read`` (``None`` = nothing now, ``b""`` = the end): a session holder's handle
(``coven.pty.holder_handle.HolderHandle.read``) is one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import threading
import time
from collections.abc import Callable

READ_CHUNK = 64 * 1024
# Reads of one fd per wake-up: a non-blocking read of a PTY master waits for the kernel's
# pending refill, so reading on (instead of going back to epoll) keeps the harness moving.
ROUND_BYTES = 256 * 1024
# Bytes read but not yet consumed, per source, before reading pauses.
DEFAULT_BUDGET = 1024 * 1024
# While a source floods (its last hand-over was under STREAM_GAP ago and reads keep
# returning at least HOLD_MIN bytes), bytes are coalesced up to HANDOVER_BYTES or
# HANDOVER_DELAY: one loop wake-up per large piece instead of per 4 KiB read. Anything
# smaller, or after a pause, is handed over at once, so keystroke echoes and the
# replies that follow them are never held.
STREAM_GAP = 0.002
HOLD_MIN = 2 * 1024
HANDOVER_BYTES = 256 * 1024
HANDOVER_DELAY = 0.001

Schedule = Callable[[Callable[[], None]], object]
ReadFn = Callable[[int], "bytes | None"]


class PtySource:
    """One master fd registered with a ``PtyReader``."""

    def __init__(
        self,
        reader: PtyReader,
        fd: int,
        on_output: Callable[[bytes], None],
        on_eof: Callable[[], None],
        read: ReadFn | None = None,
    ) -> None:
        self._reader = reader
        self.fd = fd
        self._read = read
        self._on_output = on_output
        self._on_eof = on_eof
        # _lock guards the state below. _io_lock is held by the thread around its reads
        # so that ``detach`` can wait one out; it is never taken while holding _lock.
        self._lock = threading.Lock()
        self._io_lock = threading.Lock()
        self._chunks: list[bytes] = []
        self._unhanded = 0  # bytes in _chunks
        self._in_transit = 0  # bytes read and not yet consumed by on_output
        self._armed = False
        self._paused = False
        self._eof = False  # the thread saw the end of output
        self._eof_delivered = False
        self._scheduled = False
        self._last_handover = 0.0
        self.detached = False

    # -- owner side ---------------------------------------------------------------------------
    def pause(self) -> None:
        """Stop reading until ``resume`` (a read already under way still arrives)."""
        with self._lock:
            self._paused = True
            self._disarm()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._arm_if_wanted()

    def detach(self) -> None:
        """Take the fd away from the thread for good, handing over what it already read.

        Afterwards the thread never reads the fd again and ``on_eof`` is not called.
        """
        with self._io_lock, self._lock:
            self.detached = True
            self._disarm()
        self._deliver()

    def _deliver(self) -> None:
        with self._lock:
            self._scheduled = False
            chunks, self._chunks = self._chunks, []
            self._unhanded = 0
            eof = self._eof and not self._eof_delivered and not self.detached
            if eof:
                self._eof_delivered = True
        if chunks:
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            try:
                self._on_output(data)
            finally:
                with self._lock:
                    self._in_transit -= len(data)
                    self._arm_if_wanted()
        if eof:
            self._on_eof()

    # -- either side, with _lock held ---------------------------------------------------------
    def _arm_if_wanted(self) -> None:
        if (
            not self._armed
            and not self._paused
            and not self._eof
            and not self.detached
            and self._in_transit < self._reader.budget
        ):
            self._reader.arm(self.fd)
            self._armed = True

    def _disarm(self) -> None:
        if self._armed:
            self._reader.disarm(self.fd)
            self._armed = False

    # -- reader thread side -------------------------------------------------------------------
    def _read_round(self) -> None:
        got: list[bytes] = []
        size = 0
        eof = False
        # Reading and recording what was read happen under _io_lock together: once
        # ``detach`` holds it, no byte read before can still be on its way in.
        with self._io_lock:
            if self.detached:
                return
            room = min(ROUND_BYTES, self._reader.budget - self._in_transit)
            while size < room:
                try:
                    if self._read is None:
                        data: bytes | None = os.read(self.fd, READ_CHUNK)
                    else:
                        data = self._read(READ_CHUNK)
                except BlockingIOError:
                    break
                except OSError as exc:
                    # EIO: every slave fd is closed, i.e. end of output. Any other error
                    # leaves nothing readable either; the exit is still observed through
                    # the process, so end the stream rather than spin on it.
                    if exc.errno != errno.EIO:
                        self._reader.errors += 1
                    data = b""
                if data is None:
                    break
                if not data:
                    eof = True
                    break
                got.append(data)
                size += len(data)
            if got or eof:
                self._arrived(got, size, eof)

    def _fail(self) -> None:
        """Something unexpected went wrong reading this source: end its stream, keep the rest."""
        with self._io_lock:
            if not self.detached:
                self._arrived([], 0, True)

    def _arrived(self, got: list[bytes], size: int, eof: bool) -> None:
        with self._lock:
            self._chunks.extend(got)
            self._unhanded += size
            self._in_transit += size
            self._eof = self._eof or eof
            if self._eof or self._paused or self._in_transit >= self._reader.budget:
                self._disarm()
            if self._scheduled:
                return
            now = time.monotonic()
            if (
                self._armed
                and now - self._last_handover < STREAM_GAP
                and HOLD_MIN <= self._unhanded < HANDOVER_BYTES
            ):
                self._reader.hold(self, now)
                return
            self._scheduled = True
            self._last_handover = now
        self._reader.hand_over(self)

    def _release(self, now: float) -> None:
        """Hand over held bytes (the coalescing delay ran out)."""
        with self._lock:
            if self._scheduled or not self._chunks:
                return
            self._scheduled = True
            self._last_handover = now
        self._reader.hand_over(self)


class PtyReader:
    """The reading thread and its epoll set. ``stop`` it before the loop closes."""

    def __init__(self, schedule: Schedule, budget: int = DEFAULT_BUDGET) -> None:
        if budget < 1:
            raise ValueError("budget must be positive")
        self._schedule = schedule
        self.budget = budget
        self.errors = 0  # unexpected errors; each one ended its source's stream
        self._epoll = select.epoll()
        self._wake = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._epoll.register(self._wake, select.EPOLLIN)
        self._sources: dict[int, PtySource] = {}
        self._held: dict[PtySource, float] = {}  # thread-only: source -> when first held
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="coven-pty-reader", daemon=True)
        self._thread.start()

    def add(
        self,
        fd: int,
        on_output: Callable[[bytes], None],
        on_eof: Callable[[], None],
        read: ReadFn | None = None,
    ) -> PtySource:
        """Start reading ``fd`` for its owner: a non-blocking PTY master, or ``read``'s fd.

        ``read(size)`` (optional) replaces ``os.read`` of the fd; see the module docstring.
        """
        current = self._sources.get(fd)
        if current is not None and not current.detached:
            raise ValueError(f"fd {fd} is already being read")
        source = PtySource(self, fd, on_output, on_eof, read)
        self._sources[fd] = source
        with source._lock:
            source._arm_if_wanted()
        return source

    def forget(self, source: PtySource) -> None:
        """Drop a detached source, so its fd number can be reused."""
        if self._sources.get(source.fd) is source:
            del self._sources[source.fd]

    @property
    def sources(self) -> int:
        return len(self._sources)

    def stop(self) -> None:
        """End the thread and release the epoll set. Idempotent."""
        if self._stopping:
            return
        self._stopping = True
        os.eventfd_write(self._wake, 1)
        self._thread.join()
        self._epoll.close()
        os.close(self._wake)

    # -- used by sources ------------------------------------------------------------------------
    def arm(self, fd: int) -> None:
        self._epoll.register(fd, select.EPOLLIN)

    def disarm(self, fd: int) -> None:
        # Not registered, or (never in the daemon: owners close only after ``detach``)
        # already closed, which removed it from the set anyway.
        with contextlib.suppress(OSError):
            self._epoll.unregister(fd)

    def hold(self, source: PtySource, now: float) -> None:
        self._held.setdefault(source, now)

    def hand_over(self, source: PtySource) -> None:
        self._held.pop(source, None)
        # The loop is closed only once the daemon is going down and its harnesses are
        # being killed: nobody is left to hand bytes to.
        with contextlib.suppress(RuntimeError):
            self._schedule(source._deliver)

    # -- the thread ---------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            timeout = -1.0
            if self._held:
                first = min(self._held.values())
                timeout = max(0.0, first + HANDOVER_DELAY - time.monotonic())
            for fd, _mask in self._epoll.poll(timeout):
                if fd == self._wake:
                    if self._stopping:
                        return
                    continue
                source = self._sources.get(fd)
                if source is None:
                    continue
                try:
                    source._read_round()
                except Exception:
                    # The thread serves every session: one bad fd must not stop it.
                    self.errors += 1
                    source._fail()
            if self._held:
                now = time.monotonic()
                for source, since in list(self._held.items()):
                    if now - since >= HANDOVER_DELAY:
                        self._held.pop(source, None)
                        source._release(now)
