"""The PTY-process surface the runtime depends on, so it can be driven by a fake in tests."""

from __future__ import annotations

from typing import Protocol

from coven.pty.child import ExitStatus


class PtyProcess(Protocol):
    """What a session needs from a running harness; ``PtyChild`` is the real one."""

    pid: int
    pgid: int
    master_fd: int
    pidfd: int
    start_time: int | None

    def read(self, max_bytes: int = 65536) -> bytes | None: ...

    def write(self, data: bytes) -> int: ...

    def resize(self, rows: int, cols: int) -> None: ...

    def poll_exit(self) -> ExitStatus | None: ...

    def close(self) -> None: ...
