"""A spawner with no processes: the runtime's ``Spawner`` seam, driven by the test.

``FakeSpawner.spawn`` hands back a ``FakeProcess`` whose terminal is one end of
a socket pair (the runtime's PTY reader thread reads it like a PTY master) and
whose "pidfd" is a pipe that becomes readable when the test ends the process.
The test plays the harness through the other end: ``emit`` output, ``typed``
input, ``exit``. Signals are recorded; by default SIGHUP/SIGTERM/SIGKILL end it.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import time
from collections.abc import Mapping, Sequence

from coven.errors import LaunchFailed
from coven.pty import ExitStatus


class FakeProcess:
    def __init__(self, pid: int, argv: Sequence[str], *, ignore: frozenset[int]) -> None:
        self.pid = self.pgid = pid
        self.start_time: int | None = 12345
        self.argv = list(argv)
        self.env: dict[str, str] = {}
        self.stdin: bytes | None = None
        self._ours, self._theirs = socket.socketpair()
        self._ours.setblocking(False)
        self.master_fd = self._ours.fileno()
        self.pidfd, self._exit_w = os.pipe()
        self.signals: list[int] = []
        self.size: tuple[int, int] | None = None
        self.closed = False
        self._ignore = ignore
        self._status: ExitStatus | None = None

    # -- the SessionProcess surface the runtime drives ------------------------------------------
    def read(self, max_bytes: int = 65536) -> bytes | None:
        try:
            return os.read(self.master_fd, max_bytes)
        except BlockingIOError:
            return None

    def write(self, data: bytes) -> int:
        return os.write(self.master_fd, data)

    def resize(self, rows: int, cols: int) -> None:
        self.size = (rows, cols)

    def poll_exit(self) -> ExitStatus | None:
        return self._status

    def signal_group(self, sig: int) -> None:
        self.signals.append(sig)
        if sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGKILL) and sig not in self._ignore:
            self.exit(signal_number=sig)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._ours.close()
            os.close(self.pidfd)
            os.close(self._exit_w)

    # -- the harness side, played by the test ---------------------------------------------------
    def emit(self, data: bytes) -> None:
        self._theirs.sendall(data)

    def typed(self, size: int, timeout: float = 5.0) -> bytes:
        """Read ``size`` bytes of input the runtime wrote to the terminal."""
        got = b""
        deadline = time.monotonic() + timeout
        while len(got) < size:
            left = deadline - time.monotonic()
            assert left > 0, f"timed out waiting for input; got {got!r}"
            ready, _, _ = select.select([self._theirs], [], [], left)
            if ready:
                got += self._theirs.recv(size - len(got))
        return got

    def exit(self, code: int | None = 0, signal_number: int | None = None) -> None:
        """End the process: the terminal reaches EOF and the exit becomes observable."""
        if self._status is not None:
            return
        self._status = ExitStatus(code=None if signal_number else code, signal=signal_number)
        self._theirs.close()
        os.write(self._exit_w, b"x")


class FakeSpawner:
    def __init__(self, *, ignore: frozenset[int] = frozenset(), fail: str | None = None) -> None:
        self.processes: list[FakeProcess] = []
        self.reaped: list[tuple[int, int | None]] = []
        self.ignore = ignore
        self.fail = fail

    def spawn(
        self,
        argv: Sequence[str],
        *,
        cwd: str,
        env: Mapping[str, str],
        rows: int,
        cols: int,
        stdin: bytes | None = None,
    ) -> FakeProcess:
        if self.fail is not None:
            raise LaunchFailed(self.fail, {"reason": "exec_failed"})
        process = FakeProcess(4_000_000 + len(self.processes), argv, ignore=self.ignore)
        process.env = dict(env)
        process.stdin = stdin
        process.size = (rows, cols)
        self.processes.append(process)
        return process

    def reap_orphan(self, pid: int, start_time: int | None) -> bool:
        self.reaped.append((pid, start_time))
        return True
