"""Test helpers for driving a ``coven.pty.PtyChild`` with bounded waits."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from coven.pty import ExitStatus, PtyChild, kill_session_tree, spawn
from tests.support.hermetic import controlled_path

FAKES = Path(__file__).resolve().parent
FAKE_BIN = FAKES / "bin"


def fake_env(mode: str, **extra: str) -> dict[str, str]:
    """A minimal environment (no HOME): the fake harnesses, then only the test tools, on PATH."""
    env = {"PATH": controlled_path(FAKE_BIN), "FAKE_MODE": mode, "LC_ALL": "C.UTF-8"}
    env.update(extra)
    return env


def read_until(child: PtyChild, marker: bytes, timeout: float = 10.0) -> bytes:
    """Read until ``marker`` appears; AssertionError with the output so far on timeout/EOF."""
    buf = b""
    deadline = time.monotonic() + timeout
    while marker not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for {marker!r}; got {buf!r}")
        select.select([child.master_fd], [], [], min(remaining, 0.2))
        data = child.read()
        if data == b"":
            raise AssertionError(f"EOF before {marker!r}; got {buf!r}")
        if data:
            buf += data
    return buf


def read_to_eof(child: PtyChild, timeout: float = 10.0) -> bytes:
    """Everything until EOF (EIO on Linux), bounded by ``timeout``."""
    buf = b""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"timed out waiting for EOF; got {buf[-500:]!r}")
        select.select([child.master_fd], [], [], min(remaining, 0.2))
        data = child.read()
        if data == b"":
            return buf
        if data:
            buf += data


def wait_exit(child: PtyChild, timeout: float = 10.0) -> ExitStatus:
    """Wait on the pidfd, then reap; returns the ``ExitStatus``."""
    deadline = time.monotonic() + timeout
    while True:
        status = child.poll_exit()
        if status is not None:
            return status
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"pid {child.pid} did not exit")
        select.select([child.pidfd], [], [], min(remaining, 0.2))


def pid_alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def wait_dead(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


class Spawner:
    """Spawns fake harnesses and guarantees teardown: kill the session, reap, close."""

    def __init__(self, cwd: str) -> None:
        self.cwd = cwd
        self.children: list[PtyChild] = []
        self.extra_pids: list[int] = []

    def __call__(
        self,
        mode: str,
        *args: str,
        name: str = "codex",
        rows: int = 24,
        cols: int = 80,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        **extra: str,
    ) -> PtyChild:
        child = spawn(
            [name, *args],
            cwd=cwd or self.cwd,
            env=env if env is not None else fake_env(mode, **extra),
            rows=rows,
            cols=cols,
        )
        self.children.append(child)
        return child

    def cleanup(self) -> None:
        for child in self.children:
            kill_session_tree(child.pid, grace=0.0)
            wait_exit(child, timeout=5.0)
            child.close()
        for pid in self.extra_pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            wait_dead(pid)


def children_of(pid: int) -> Iterator[int]:
    """Live pids whose parent is ``pid``."""
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            yield int(name)


def flood_payload(received: bytes) -> bytes:
    """What the ``flood`` harness wrote: its header dropped and ONLCR's \\r removed."""
    marker = b"ready\r\n"
    start = received.index(marker) + len(marker)
    # The flood text contains no \r, so undoing ONLCR is exact.
    return received[start:].replace(b"\r\n", b"\n")
