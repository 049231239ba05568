"""Spawning the daemon process and waiting for its word: standard library only.

``daemonctl.start`` spawns through here, and so does ``coven.cli.early_start``, which
starts the daemon for a cold ``coven run`` before the CLI has loaded click. The
daemon is fully detached (own session, cwd ``/``, stdin/stdout on /dev/null, no file
descriptor of ours but its pipes) and inherits this process's environment, so its
PATH decides which harnesses exist. It reports ``ready`` or ``error: <msg>`` on a
pipe; until it has checked the home its stderr comes back to us on another pipe, and
from then on it goes to ``daemon.log``.

It is spawned with ``os.posix_spawn``, not ``subprocess``: importing ``subprocess``
alone took longer than everything else the early start does before the spawn, and
the daemon is what a cold ``coven run`` waits for.

A daemon spawned for a launch (``launch_soon``) also gets a pipe on which ``run``
hands it that launch (``Spawned.hand_launch``): the daemon launches before it loads
its API, and its answer comes before ``ready`` (``coven.daemon.handover``), followed
by the new session's first output (``output <n>`` frames) until the API is up.
"""

from __future__ import annotations

import os
import select
import sys
import time

TYPE_CHECKING = False  # typing costs the early start of a cold `coven run`
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    OutputSink = Callable[[bytes], None]


# posix_spawn cannot change directory: a shell does, then becomes the daemon.
_FROM_ROOT = ("/bin/sh", "-c", 'cd / && exec "$0" "$@"')


class DaemonProcess:
    """A daemon this process spawned (our child until we exit): ``poll`` and ``wait``
    as ``subprocess.Popen`` has them."""

    __slots__ = ("pid", "returncode")

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """Its exit status once it has exited (``-N``: killed by signal N), else ``None``."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere (SIGCHLD ignored): as Popen does
                self.returncode = 0
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float) -> int | None:
        """``poll`` until it exits or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.returncode


# Daemons this process started (each outlives us by design), reaped once they exit.
_started: list[DaemonProcess] = []


class DaemonControlError(Exception):
    """Starting or stopping the daemon failed; the message is a user-facing sentence."""


# The line a daemon that took a handed-over launch writes before ``ready``.
LAUNCHED = b"launched "
# A frame of the launched session's output: this line, then that many bytes.
OUTPUT = b"output "


class Spawned:
    """A daemon process started for ``home`` that has not reported yet.

    ``lock_fd``, when set, holds the home's lifecycle lock until ``release``.
    ``answer``: once ``wait`` returned, the daemon's answer to the launch handed over
    (``hand_launch``) as ``(HTTP status, JSON body)``; ``None`` if it took none."""

    __slots__ = ("answer", "err_fd", "home", "launch_fd", "lock_fd", "process", "ready_fd")

    def __init__(
        self,
        home: str | Path,
        process: DaemonProcess,
        ready_fd: int,
        err_fd: int,
        launch_fd: int | None = None,
    ):
        self.home = home
        self.process = process
        self.ready_fd = ready_fd
        self.err_fd = err_fd
        self.launch_fd = launch_fd
        self.lock_fd: int | None = None
        self.answer: tuple[int, bytes] | None = None

    def hand_launch(self, body: bytes | None) -> None:
        """Hand the daemon a launch (a ``POST /sessions`` body), or with ``None`` tell it
        none is coming. Once only; a daemon that is gone or stopped waiting simply takes
        nothing (``wait`` tells, by leaving ``answer`` unset)."""
        fd, self.launch_fd = self.launch_fd, None
        if fd is None:
            return
        try:
            if body:
                view = memoryview(body)
                while view:
                    view = view[os.write(fd, view) :]
        except OSError:
            pass  # EPIPE: the daemon is not reading (any more); it says so before `ready`
        finally:
            os.close(fd)

    def wait(
        self,
        budget: float,
        on_answer: Callable[[tuple[int, bytes]], OutputSink | None] | None = None,
    ) -> tuple[str, bytes]:
        """The daemon's word (``ready``, ``error: …``, or ``""`` when it ended or said
        nothing within ``budget`` seconds) and what it wrote on stderr so far; its answer
        to a launch handed over goes to ``answer``. Closes the pipes.

        ``on_answer`` is called with that answer as soon as it comes; the session's
        output that follows, until the daemon's word, goes to the sink it returns (or
        nowhere, when it returns ``None``)."""
        self.hand_launch(None)  # nothing handed over by now: do not keep the daemon waiting
        try:
            lines = _Lines(self.ready_fd, time.monotonic() + budget)
            line = lines.next()
            if line.startswith(LAUNCHED):
                self.answer = _answer(line)
                sink = on_answer(self.answer) if on_answer is not None else None
                line = lines.next()
                while line.startswith(OUTPUT):
                    data = lines.exactly(_frame_size(line))
                    if sink is not None and data:
                        sink(data)
                    line = lines.next()
            if line == b"":  # the daemon is exiting (or exited) without a word
                self.process.wait(timeout=2)
            return line.decode("utf-8", "replace").strip(), _drain(self.err_fd)
        finally:
            os.close(self.ready_fd)
            os.close(self.err_fd)

    def release(self) -> None:
        """Let go of the lifecycle lock (the daemon runs on). Idempotent."""
        fd, self.lock_fd = self.lock_fd, None
        if fd is not None:
            os.close(fd)


def spawn(home: str | Path, *, launch_soon: bool = False) -> Spawned:
    """Start ``python -m coven.daemon`` for ``home``; ``DaemonControlError`` if it cannot run.

    ``launch_soon``: a launch follows (``coven run``), so the daemon starts the holders'
    fork server before its own imports rather than at that first launch, and waits
    for that launch to be handed over (``Spawned.hand_launch``) before it loads its API."""
    _std_fds_open()
    read_fd, write_fd = os.pipe()
    err_read, err_write = os.pipe()
    launch_read, launch_write = os.pipe() if launch_soon else (None, None)
    fds = (write_fd,) if launch_read is None else (write_fd, launch_read)
    argv = [
        *_FROM_ROOT,
        sys.executable,
        "-m",
        "coven.daemon",
        "--home",
        str(home),
        "--ready-fd",
        str(write_fd),
        "--stderr-to-log",
        *([] if launch_read is None else ["--launch-soon", "--launch-fd", str(launch_read)]),
    ]
    try:
        process = DaemonProcess(_spawn_detached(argv, err_write, fds))
    except OSError as exc:
        for fd in (read_fd, err_read, launch_write):
            if fd is not None:
                os.close(fd)
        raise DaemonControlError(
            f"could not start the Coven daemon: {exc.strerror or exc}"
        ) from exc
    finally:
        for fd in fds:
            os.close(fd)
        os.close(err_write)
    _started[:] = [*(p for p in _started if p.poll() is None), process]  # reaps the gone
    return Spawned(home, process, read_fd, err_read, launch_write)


def _spawn_detached(argv: list[str], stderr_fd: int, keep: tuple[int, ...]) -> int:
    """Spawn ``argv`` in a session of its own with stdin and stdout on /dev/null, stderr
    on ``stderr_fd`` and, of our file descriptors, only ``keep`` (what
    ``Popen(close_fds=True, pass_fds=keep)`` does); its pid."""
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        actions: list[tuple[int, ...]] = [
            (os.POSIX_SPAWN_DUP2, devnull, 0),
            (os.POSIX_SPAWN_DUP2, devnull, 1),
            (os.POSIX_SPAWN_DUP2, stderr_fd, 2),
        ]
        # Ours are close-on-exec; what we inherited open (a make jobserver's pipe, say)
        # must not live on in a daemon that outlives us.
        actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited_fds() if fd not in keep]
        for fd in keep:
            os.set_inheritable(fd, True)
        return os.posix_spawn(argv[0], argv, os.environ, file_actions=actions, setsid=True)
    finally:
        os.close(devnull)


def _std_fds_open() -> None:
    """Put /dev/null on a closed stdin, stdout or stderr, so no pipe of ours is given
    their numbers (the daemon's 0, 1 and 2 are set over them)."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            os.open(os.devnull, os.O_RDWR)  # the lowest free number: this one


def _inherited_fds() -> list[int]:
    """Our file descriptors above stderr that an exec would pass on."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and os.get_inheritable(fd):
                found.append(fd)
        except OSError:  # the listing's own descriptor, closed by now
            continue
    return found


class _Lines:
    """The lines a daemon writes on its ready pipe, one at a time, until ``deadline``."""

    def __init__(self, fd: int, deadline: float) -> None:
        self.fd = fd
        self.deadline = deadline
        self.data = b""
        self.ended = False

    def next(self) -> bytes:
        """The next line without its newline; ``b""`` at the end or the deadline."""
        self._read_until(lambda: b"\n" in self.data)
        line, newline, self.data = self.data.partition(b"\n")
        if not newline:  # a line cut short by the end is not a word
            self.data = line
            return b""
        return line

    def exactly(self, size: int) -> bytes:
        """The next ``size`` bytes; fewer (then the next line is ``b""``) at the end or
        the deadline."""
        self._read_until(lambda: len(self.data) >= size)
        if len(self.data) < size:  # cut short: nothing after it is a word
            self.data, self.ended = b"", True
            return b""
        data, self.data = self.data[:size], self.data[size:]
        return data

    def _read_until(self, enough: Callable[[], bool]) -> None:
        while not enough() and not self.ended:
            left = self.deadline - time.monotonic()
            if left <= 0:
                return
            if not select.select([self.fd], [], [], left)[0]:
                continue
            chunk = os.read(self.fd, 65536)
            self.data += chunk
            self.ended = not chunk  # the daemon exited (or closed the pipe)


def _answer(line: bytes) -> tuple[int, bytes]:
    """``launched <status> <json>`` → (status, json)."""
    status, _, body = line[len(LAUNCHED) :].partition(b" ")
    if not status.isdigit() or not body:
        raise DaemonControlError(f"the Coven daemon answered the launch unreadably: {line[:200]!r}")
    return int(status), body


def _frame_size(line: bytes) -> int:
    """``output <n>`` → n."""
    size = line[len(OUTPUT) :]
    if not size.isdigit():
        raise DaemonControlError(f"the Coven daemon sent unreadable output: {line[:200]!r}")
    return int(size)


def _drain(fd: int) -> bytes:
    """What is readable on ``fd`` now (a daemon that died early said it here)."""
    data = b""
    while select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        data += chunk
    return data
