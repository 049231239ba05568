"""The seam between the runtime and the processes it runs.

The runtime never calls ``coven.pty`` to start or signal a harness directly: it
is handed a ``Spawner`` (the real one is ``coven.pty.PtySpawner``; tests pass a
fake that needs no process). A per-session holder process that outlives the
daemon would be one more ``Spawner``: its ``SessionProcess`` forwards the same
calls to the holder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from coven.pty import ExitStatus


class SessionProcess(Protocol):
    """A running harness on a terminal, as a live session drives it.

    ``master_fd`` delivers the terminal's output (read by the PTY reader thread)
    and takes input; ``pidfd`` becomes readable once the harness has exited.
    """

    pid: int
    pgid: int
    master_fd: int
    pidfd: int
    start_time: int | None

    def read(self, max_bytes: int = 65536) -> bytes | None: ...

    def write(self, data: bytes) -> int: ...

    def resize(self, rows: int, cols: int) -> None: ...

    def poll_exit(self) -> ExitStatus | None: ...

    def signal_group(self, sig: int) -> None:
        """Send ``sig`` to the harness and everything it started on its terminal."""
        ...

    def close(self) -> None: ...

    @property
    def closed(self) -> bool:
        """True once ``close`` has run (the terminal is gone; a resize has nothing to act on)."""
        ...


class Spawner(Protocol):
    """Starts harnesses and cleans up after processes an earlier daemon left behind."""

    def spawn(
        self,
        argv: Sequence[str],
        *,
        cwd: str,
        env: Mapping[str, str],
        rows: int,
        cols: int,
        stdin: bytes | None = None,
    ) -> SessionProcess:
        """Start ``argv`` on a new terminal; raise ``coven.errors.LaunchFailed`` if it cannot.

        With ``stdin`` the harness reads those bytes, then end of file, on its
        standard input instead of the terminal (a prompt too long for argv).
        """
        ...

    def reap_orphan(self, pid: int, start_time: int | None) -> bool:
        """Kill what remains of a session recorded by another daemon; True if anything was."""
        ...
