"""coven.pty.PtyReader: the reading thread against real PTYs, real harness processes.

The owner here is the test thread: callbacks the reader schedules are queued and run
by ``Owner.pump``, exactly as the daemon's event loop runs ``call_soon_threadsafe``
callbacks, so the test controls when the "loop" is busy.
"""

from __future__ import annotations

import hashlib
import os
import queue
import time
from collections.abc import Callable, Iterator
from functools import partial

import pytest

from coven.pty import PtyReader, PtySource
from coven.pty.reader import READ_CHUNK, ROUND_BYTES
from tests.fakes.fake_harness import flood_chunks
from tests.fakes.ptyio import Spawner, flood_payload, wait_exit


def contains(owner: Owner, needle: bytes) -> bool:
    return needle in owner.data


class Owner:
    """Plays the event loop: runs scheduled callbacks on the test thread, in order."""

    def __init__(self) -> None:
        self.callbacks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.parts: list[bytes] = []
        self.eofs = 0
        self.received_after_eof = 0

    def schedule(self, callback: Callable[[], None]) -> None:
        self.callbacks.put(callback)

    def on_output(self, data: bytes) -> None:
        if self.eofs:
            self.received_after_eof += len(data)
        self.parts.append(data)

    def on_eof(self) -> None:
        self.eofs += 1

    @property
    def data(self) -> bytes:
        return b"".join(self.parts)

    def pump(self, until: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not until():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("condition not reached in time")
            try:
                self.callbacks.get(timeout=min(left, 0.05))()
            except queue.Empty:
                continue

    def run_pending(self) -> None:
        while True:
            try:
                self.callbacks.get_nowait()()
            except queue.Empty:
                return


@pytest.fixture
def owner() -> Owner:
    return Owner()


@pytest.fixture
def reader(owner: Owner) -> Iterator[PtyReader]:
    r = PtyReader(owner.schedule)
    try:
        yield r
    finally:
        r.stop()


def digest(chunks: Iterator[bytes]) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def test_every_byte_arrives_in_order_then_eof_once(
    spawner: Spawner, owner: Owner, reader: PtyReader
) -> None:
    size = 8 * 1024 * 1024
    child = spawner("flood", FAKE_BYTES=str(size))
    source = reader.add(child.master_fd, owner.on_output, owner.on_eof)
    owner.pump(lambda: owner.eofs > 0)
    owner.run_pending()
    payload = flood_payload(owner.data)
    assert len(payload) == size
    assert hashlib.sha256(payload).hexdigest() == digest(flood_chunks(size))
    assert owner.eofs == 1
    assert owner.received_after_eof == 0
    source.detach()
    assert owner.eofs == 1
    assert wait_exit(child).code == 0


def test_a_flood_is_handed_over_in_large_pieces(
    spawner: Spawner, owner: Owner, reader: PtyReader
) -> None:
    # The point of the thread: one loop wake-up per large piece, not per 4 KiB read.
    size = 16 * 1024 * 1024
    child = spawner("flood", FAKE_BYTES=str(size))
    reader.add(child.master_fd, owner.on_output, owner.on_eof)
    owner.pump(lambda: owner.eofs > 0)
    assert len(flood_payload(owner.data)) == size
    pieces = len(owner.parts)
    assert pieces < size / (16 * 1024), f"{pieces} hand-overs for {size} bytes"


@pytest.fixture
def tty(owner: Owner, reader: PtyReader) -> Iterator[int]:
    """A PTY whose master ``reader`` reads for ``owner``; yields the slave to write to."""
    master, slave = os.openpty()
    os.set_blocking(master, False)
    source = reader.add(master, owner.on_output, owner.on_eof)
    try:
        yield slave
    finally:
        source.detach()
        reader.forget(source)
        os.close(slave)
        os.close(master)


def test_small_output_is_never_held_back(
    owner: Owner, tty: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Were echoes coalesced like a flood, this delay would hold them for the whole test.
    monkeypatch.setattr("coven.pty.reader.HANDOVER_DELAY", 3600.0)
    for n in range(20):
        os.write(tty, b"echo %d\n" % n)
        owner.pump(partial(contains, owner, b"echo %d" % n), timeout=10.0)
    assert owner.data.replace(b"\r\n", b"\n") == b"".join(b"echo %d\n" % n for n in range(20))


def test_a_held_burst_is_released_although_nothing_follows_it(owner: Owner, tty: int) -> None:
    lines = [b"%03d " % n + b"x" * 3000 + b"\n" for n in range(10)]
    for line in lines:  # back to back, each big enough to count as a flood
        os.write(tty, line)
    owner.pump(lambda: owner.data.endswith(b"009 " + b"x" * 3000 + b"\r\n"), timeout=10.0)
    assert owner.data.replace(b"\r\n", b"\n") == b"".join(lines)
    assert owner.eofs == 0


def test_unconsumed_bytes_are_bounded_by_the_budget_and_nothing_is_lost(
    spawner: Spawner, owner: Owner
) -> None:
    budget = 256 * 1024
    reader = PtyReader(owner.schedule, budget=budget)
    try:
        size = 4 * 1024 * 1024
        child = spawner("flood", FAKE_BYTES=str(size))
        source = reader.add(child.master_fd, owner.on_output, owner.on_eof)
        # The owner is "busy": nothing is consumed, so the thread must stop reading.
        time.sleep(1.0)
        held = source._in_transit
        assert 0 < held <= budget + READ_CHUNK
        assert child.poll_exit() is None  # the harness is blocked on its own write
        owner.pump(lambda: owner.eofs > 0)
        assert len(flood_payload(owner.data)) == size
        assert wait_exit(child).code == 0
    finally:
        reader.stop()


def test_pause_stops_reading_and_resume_continues_losslessly(
    spawner: Spawner, owner: Owner, reader: PtyReader
) -> None:
    size = 8 * 1024 * 1024
    child = spawner("flood", FAKE_BYTES=str(size))
    source = reader.add(child.master_fd, owner.on_output, owner.on_eof)
    owner.pump(lambda: len(owner.data) > 64 * 1024)
    source.pause()
    owner.run_pending()
    seen = len(owner.data)
    time.sleep(0.5)
    owner.run_pending()
    # At most the round that was under way when pause() ran.
    assert len(owner.data) - seen <= ROUND_BYTES + READ_CHUNK
    assert child.poll_exit() is None
    source.resume()
    owner.pump(lambda: owner.eofs > 0)
    payload = flood_payload(owner.data)
    assert hashlib.sha256(payload).hexdigest() == digest(flood_chunks(size))


def test_detach_hands_over_what_was_read_and_leaves_the_rest_in_the_fd(
    owner: Owner, reader: PtyReader
) -> None:
    master, slave = os.openpty()
    os.set_blocking(master, False)
    source: PtySource = reader.add(master, owner.on_output, owner.on_eof)
    try:
        os.write(slave, b"before\n")
        owner.pump(lambda: b"before" in owner.data, timeout=10.0)
        source.detach()
        reader.forget(source)
        os.write(slave, b"after\n")
        time.sleep(0.2)
        owner.run_pending()
        assert b"after" not in owner.data  # the thread no longer reads this fd
        assert os.read(master, 1024) == b"after\r\n"  # the owner can
        os.close(slave)
        time.sleep(0.1)
        owner.run_pending()
        assert owner.eofs == 0  # no eof for a detached source
        assert reader.sources == 0
    finally:
        os.close(master)


def test_a_reused_fd_number_is_read_for_its_new_owner(owner: Owner, reader: PtyReader) -> None:
    master, slave = os.openpty()
    os.set_blocking(master, False)
    first = reader.add(master, owner.on_output, owner.on_eof)
    first.detach()
    reader.forget(first)
    os.close(slave)
    os.close(master)
    master2, slave2 = os.openpty()  # the kernel hands out the lowest free numbers again
    os.set_blocking(master2, False)
    second_owner = Owner()
    second = reader.add(master2, second_owner.on_output, second_owner.on_eof)
    try:
        os.write(slave2, b"hello again\n")
        # Callbacks of every source go through the one schedule; the owner runs them.
        owner.pump(lambda: b"hello again" in second_owner.data, timeout=10.0)
        os.close(slave2)
        owner.pump(lambda: second_owner.eofs == 1, timeout=10.0)
        assert owner.parts == []  # nothing for the first owner after it detached
    finally:
        second.detach()
        os.close(master2)


def test_an_unexpected_error_ends_that_stream_and_the_thread_serves_the_others(
    owner: Owner, reader: PtyReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad_master, bad_slave = os.openpty()
    good_master, good_slave = os.openpty()
    for fd in (bad_master, good_master):
        os.set_blocking(fd, False)
    real_read = os.read

    def flaky_read(fd: int, n: int) -> bytes:
        if fd == bad_master:
            raise ValueError("simulated failure")
        return real_read(fd, n)

    monkeypatch.setattr("coven.pty.reader.os.read", flaky_read)
    bad_owner, good_owner = Owner(), Owner()
    bad = reader.add(bad_master, bad_owner.on_output, bad_owner.on_eof)
    good = reader.add(good_master, good_owner.on_output, good_owner.on_eof)
    try:
        os.write(bad_slave, b"x\n")
        owner.pump(lambda: bad_owner.eofs == 1, timeout=10.0)
        os.write(good_slave, b"still served\n")
        owner.pump(lambda: b"still served" in good_owner.data, timeout=10.0)
        assert reader.errors == 1
        assert reader._thread.is_alive()
    finally:
        bad.detach()
        good.detach()
        for fd in (bad_master, bad_slave, good_master, good_slave):
            os.close(fd)


def test_the_same_fd_cannot_be_added_twice(owner: Owner, reader: PtyReader) -> None:
    master, slave = os.openpty()
    try:
        source = reader.add(master, owner.on_output, owner.on_eof)
        with pytest.raises(ValueError, match="already being read"):
            reader.add(master, owner.on_output, owner.on_eof)
        source.detach()
    finally:
        os.close(slave)
        os.close(master)


def test_budget_must_be_positive(owner: Owner) -> None:
    with pytest.raises(ValueError, match="budget"):
        PtyReader(owner.schedule, budget=0)


def test_stop_ends_the_thread_and_is_idempotent(owner: Owner) -> None:
    reader = PtyReader(owner.schedule)
    reader.stop()
    reader.stop()
    assert not reader._thread.is_alive()
