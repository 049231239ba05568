"""Throughput and losslessness: a full-speed reader gets every byte of a 64 MiB flood."""

from __future__ import annotations

import asyncio
import hashlib
import select
import time

import pytest

from coven.pty import ExitStatus, PtyChild
from tests.fakes.fake_harness import flood_chunks
from tests.fakes.ptyio import Spawner, flood_payload, wait_exit

FLOOD_BYTES = 64 * 1024 * 1024


def expected_digest(total: int) -> str:
    digest = hashlib.sha256()
    for chunk in flood_chunks(total):
        digest.update(chunk)
    return digest.hexdigest()


def drain_with_poll(child: PtyChild, timeout: float) -> bytes:
    parts: list[bytes] = []
    poller = select.poll()
    poller.register(child.master_fd, select.POLLIN)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        poller.poll(200)
        while (data := child.read(65536)) is not None:
            if data == b"":
                return b"".join(parts)
            parts.append(data)
    raise AssertionError("flood did not reach EOF in time")


def test_poll_reader_gets_every_byte_of_a_64_mib_flood(
    spawner: Spawner, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    child = spawner("flood", FAKE_BYTES=str(FLOOD_BYTES))
    received = drain_with_poll(child, timeout=45.0)
    elapsed = time.monotonic() - started
    payload = flood_payload(received)
    assert len(payload) == FLOOD_BYTES
    assert hashlib.sha256(payload).hexdigest() == expected_digest(FLOOD_BYTES)
    assert wait_exit(child) == ExitStatus(code=0, signal=None)
    with capsys.disabled():
        print(f"\n[pty flood] poll reader: {len(received) / elapsed / 1e6:.0f} MB/s on the wire")


async def test_event_loop_reader_gets_every_byte_and_sees_exit_via_pidfd(
    spawner: Spawner, capsys: pytest.CaptureFixture[str]
) -> None:
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    child = spawner("flood", FAKE_BYTES=str(FLOOD_BYTES))
    parts: list[bytes] = []
    eof: asyncio.Future[None] = loop.create_future()
    exited: asyncio.Future[ExitStatus] = loop.create_future()

    def on_readable() -> None:
        # Bounded drain per callback, as the daemon does, so one PTY cannot starve the loop.
        for _ in range(16):
            data = child.read(65536)
            if data is None:
                return
            if data == b"":
                loop.remove_reader(child.master_fd)
                if not eof.done():
                    eof.set_result(None)
                return
            parts.append(data)

    def on_exit() -> None:
        status = child.poll_exit()
        if status is not None:
            loop.remove_reader(child.pidfd)
            exited.set_result(status)

    loop.add_reader(child.master_fd, on_readable)
    loop.add_reader(child.pidfd, on_exit)
    try:
        await asyncio.wait_for(eof, 45.0)
        status = await asyncio.wait_for(exited, 10.0)
    finally:
        loop.remove_reader(child.master_fd)
        loop.remove_reader(child.pidfd)
    elapsed = time.monotonic() - started
    assert status == ExitStatus(code=0, signal=None)
    payload = flood_payload(b"".join(parts))
    assert len(payload) == FLOOD_BYTES
    assert hashlib.sha256(payload).hexdigest() == expected_digest(FLOOD_BYTES)
    with capsys.disabled():
        print(f"\n[pty flood] event-loop reader: {FLOOD_BYTES / elapsed / 1e6:.0f} MB/s payload")


def test_output_written_just_before_exit_is_not_lost(spawner: Spawner) -> None:
    # Small floods exit while their tail is still in the PTY buffer: it must be readable.
    for size in (1, 63, 2000):
        child = spawner("flood", FAKE_BYTES=str(size))
        wait_exit(child)  # the harness is gone before we read a byte
        payload = flood_payload(drain_with_poll(child, timeout=10.0))
        assert payload == b"".join(flood_chunks(size))
