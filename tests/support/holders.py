"""Session holders for tests: real holder processes with fake harnesses, always cleaned up."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import tempfile
import time
from collections.abc import Callable

from coven.pty import kill_session_tree
from coven.pty.holder_client import (
    HolderForkServer,
    HolderHandle,
    HolderIdentity,
    adopt_holder,
    spawn_holder,
)
from tests.fakes.ptyio import fake_env, pid_alive, wait_dead


class Holders:
    """Spawns holders under a short private directory; ``cleanup`` kills every one.

    Unix socket paths are limited to 107 bytes, so sockets live in a fresh directory
    under ``/tmp`` rather than in pytest's (long) ``tmp_path``. ``launch`` is ``fork``
    (through a ``HolderForkServer``, as a daemon would) or ``exec`` (a new interpreter
    per holder).
    """

    def __init__(self, cwd: str, launch: str = "fork") -> None:
        self.cwd = cwd
        self.forkserver = HolderForkServer() if launch == "fork" else None
        self.dir = tempfile.mkdtemp(prefix="cvh-")
        self.handles: list[HolderHandle] = []
        self.pids: list[tuple[int, int]] = []  # (holder pid, harness pid)
        self._count = 0

    def path(self, name: str | None = None) -> str:
        self._count += 1
        return os.path.join(self.dir, f"{name or self._count}.sock")

    def spawn(
        self,
        mode: str,
        *args: str,
        argv: list[str] | None = None,
        session_id: str | None = None,
        socket_path: str | None = None,
        buffer_limit: int | None = None,
        rows: int = 24,
        cols: int = 80,
        **extra: str,
    ) -> HolderHandle:
        kwargs = {} if buffer_limit is None else {"buffer_limit": buffer_limit}
        handle = spawn_holder(
            argv or ["codex", *args],
            fake_env(mode, **extra),
            self.cwd,
            rows=rows,
            cols=cols,
            socket_path=socket_path or self.path(),
            session_id=session_id or f"s{self._count}",
            forkserver=self.forkserver,
            **kwargs,
        )
        self.track(handle)
        return handle

    def track(self, handle: HolderHandle) -> HolderHandle:
        self.handles.append(handle)
        self.pids.append((handle.identity.holder_pid, handle.pid))
        return handle

    def adopt(self, old: HolderHandle, resume_from: int) -> HolderHandle:
        handle = adopt_holder(old.socket_path, old.identity, resume_from=resume_from)
        self.handles.append(handle)
        return handle

    def adopt_identity(
        self, socket_path: str, identity: HolderIdentity, resume_from: int
    ) -> HolderHandle:
        handle = adopt_holder(socket_path, identity, resume_from=resume_from)
        self.track(handle)
        return handle

    def cleanup(self) -> None:
        if self.forkserver is not None:
            self.forkserver.close()
        for handle in self.handles:
            handle.close()
        for holder_pid, harness_pid in self.pids:
            # The harness's whole session first (a SIGHUP-proof one survives the
            # holder), then the holder.
            kill_session_tree(harness_pid, grace=0.0)
            with contextlib.suppress(ProcessLookupError):
                os.kill(holder_pid, signal.SIGKILL)
        for holder_pid, harness_pid in self.pids:
            assert wait_dead(holder_pid), f"holder {holder_pid} survived cleanup"
            assert wait_dead(harness_pid), f"harness {harness_pid} survived cleanup"
        shutil.rmtree(self.dir, ignore_errors=True)


def read_until(handle: HolderHandle, marker: bytes, timeout: float = 10.0) -> bytes:
    """Output until ``marker`` appears (acknowledging it as it comes)."""
    got = b""
    deadline = time.monotonic() + timeout
    while marker not in got:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {marker!r}; got {got[-300:]!r}")
        select.select([handle.master_fd], [], [], min(remaining, 0.2))
        data = handle.read(1 << 20)
        if data == b"":
            raise AssertionError(f"end of output before {marker!r}; got {got[-300:]!r}")
        if data:
            got += data
            handle.ack(handle.offset)
    return got


def read_to_end(
    handle: HolderHandle,
    timeout: float = 30.0,
    ack: bool = True,
    on_data: Callable[[bytes], None] | None = None,
) -> bytes:
    """Every output byte until the end of output, acknowledging as it goes."""
    parts: list[bytes] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            size = sum(map(len, parts))
            raise AssertionError(f"no end of output in {timeout}s after {size} bytes")
        select.select([handle.master_fd], [], [], min(remaining, 0.2))
        while (data := handle.read(1 << 20)) is not None:
            if data == b"":
                return b"".join(parts)
            if on_data is None:
                parts.append(data)
            else:
                on_data(data)
            if ack:
                handle.ack(handle.offset)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


__all__ = ["Holders", "pid_alive", "read_to_end", "read_until", "rss_kib", "wait_for"]
