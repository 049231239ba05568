"""Spawning the daemon process and waiting for its word: standard library only.

``daemonctl.start`` spawns through here, and so does ``coven.cli.early_start``, which
starts the daemon for a cold ``coven run`` before the CLI has loaded click. The
daemon is fully detached (own session, cwd ``/``, stdin/stdout on /dev/null) and
inherits this process's environment, so its PATH decides which harnesses exist. It
reports ``ready`` or ``error: <msg>`` on a pipe; until it has checked the home its
stderr comes back to us on another pipe, and from then on it goes to ``daemon.log``.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time

TYPE_CHECKING = False  # typing costs the early start of a cold `coven run`
if TYPE_CHECKING:
    from pathlib import Path


# Daemons this process started: each outlives us by design (it is our child only until
# we exit), so its Popen is kept rather than collected with a "still running" warning.
_started: list[subprocess.Popen[bytes]] = []


class DaemonControlError(Exception):
    """Starting or stopping the daemon failed; the message is a user-facing sentence."""


class Spawned:
    """A daemon process started for ``home`` that has not reported yet.

    ``lock_fd``, when set, holds the home's lifecycle lock until ``release``."""

    __slots__ = ("err_fd", "home", "lock_fd", "process", "ready_fd")

    def __init__(self, home: Path, process: subprocess.Popen[bytes], ready_fd: int, err_fd: int):
        self.home = home
        self.process = process
        self.ready_fd = ready_fd
        self.err_fd = err_fd
        self.lock_fd: int | None = None

    def wait(self, budget: float) -> tuple[str, bytes]:
        """The daemon's first line (``""`` when it ended or said nothing within ``budget``
        seconds) and what it wrote on stderr so far. Closes the pipes."""
        try:
            line = _read_ready_line(self.ready_fd, budget)
            if line == "":  # the daemon is exiting (or exited) without a word
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=2)
            return line, _drain(self.err_fd)
        finally:
            os.close(self.ready_fd)
            os.close(self.err_fd)

    def release(self) -> None:
        """Let go of the lifecycle lock (the daemon runs on). Idempotent."""
        fd, self.lock_fd = self.lock_fd, None
        if fd is not None:
            os.close(fd)


def spawn(home: Path, *, launch_soon: bool = False) -> Spawned:
    """Start ``python -m coven.daemon`` for ``home``; ``DaemonControlError`` if it cannot run.

    ``launch_soon``: a launch follows (``coven run``), so the daemon starts the holders'
    fork server before its own imports rather than at that first launch."""
    read_fd, write_fd = os.pipe()
    err_read, err_write = os.pipe()
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "coven.daemon",
                "--home",
                str(home),
                "--ready-fd",
                str(write_fd),
                "--stderr-to-log",
                *(["--launch-soon"] if launch_soon else []),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err_write,
            start_new_session=True,
            pass_fds=(write_fd,),
            cwd="/",
        )
    except OSError as exc:
        os.close(read_fd)
        os.close(err_read)
        raise DaemonControlError(
            f"could not start the Coven daemon: {exc.strerror or exc}"
        ) from exc
    finally:
        os.close(write_fd)
        os.close(err_write)
    _started[:] = [*(p for p in _started if p.poll() is None), process]  # reaps the gone
    return Spawned(home, process, read_fd, err_read)


def _read_ready_line(fd: int, budget: float) -> str:
    deadline = time.monotonic() + budget
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:  # the daemon exited (or closed the pipe) without a line
            break
        data += chunk
    return data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()


def _drain(fd: int) -> bytes:
    """What is readable on ``fd`` now (a daemon that died early said it here)."""
    data = b""
    while select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    return data
