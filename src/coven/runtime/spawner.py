"""The seam between the runtime and the processes it runs.

The runtime never calls ``coven.pty`` to start or signal a harness directly: it
is handed a ``Spawner`` (the daemon's is ``coven.pty.HolderSpawner``, which starts
each harness under a holder process that outlives the daemon; ``PtySpawner`` runs
harnesses as the daemon's children; tests pass a fake that needs no process). A
holder's ``SessionProcess`` is also a ``HeldProcess``: output is acknowledged to it
once committed, and it can be handed over to the next daemon. ``start_harness`` is
how the launcher calls a spawner: on the worker pool, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from coven.pty import ExitStatus

if TYPE_CHECKING:
    from coven.runtime.ledger import Ledger


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


@runtime_checkable
class HeldProcess(SessionProcess, Protocol):
    """A harness served by a holder process (``coven.pty.HolderProcess``).

    ``master_fd`` is the holder connection: read it with ``read`` (never ``os.read``).
    """

    holder_pid: int

    @property
    def offset(self) -> int:
        """Offset in the output stream just after the last byte ``read`` returned."""
        ...

    @property
    def lost(self) -> str | None:
        """Why the holder went away without handing over an exit status, or ``None``."""
        ...

    @property
    def wants_flush(self) -> bool: ...

    def flush(self) -> None: ...

    def kill(self, grace: float) -> None:
        """Kill through the holder, which escalates to SIGKILL after ``grace`` s itself."""
        ...

    def acknowledge(self, seq: int, offset: int) -> None:
        """Output up to ``offset`` is committed (its last event is ``seq``)."""
        ...

    def release(self) -> None:
        """The exit is recorded: the holder may go."""
        ...

    def forget(self) -> None:
        """The session ended without a holder to release: drop what finds it."""
        ...

    def detach(self) -> None:
        """Close the connection, leaving holder and harness to the next daemon."""
        ...


async def start_harness(
    ledger: Ledger,
    spawner: Spawner,
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    rows: int,
    cols: int,
    stdin: bytes | None,
) -> SessionProcess:
    """``spawner.spawn`` off the event loop, where it stalled every session for as long
    as it took (a holder forked ~6 ms; a fresh interpreter, when the fork server is
    gone, ~50 ms): output, attached terminals and the API all waited.

    A launch cancelled meanwhile (the daemon stopping) does not leave its harness
    running unrecorded: once the start finishes, that harness is ended.
    """
    spawning = asyncio.ensure_future(
        ledger.read(spawner.spawn, argv, cwd=cwd, env=env, rows=rows, cols=cols, stdin=stdin)
    )
    try:
        return await asyncio.shield(spawning)
    except asyncio.CancelledError:
        spawning.add_done_callback(_end_unrecorded)
        raise


def _end_unrecorded(spawning: asyncio.Future[SessionProcess]) -> None:
    """End a harness whose launch was cancelled while it started (see ``start_harness``)."""
    if spawning.cancelled() or spawning.exception() is not None:
        return  # nothing started
    child = spawning.result()
    with contextlib.suppress(Exception):  # it may be gone already; nothing else to do
        child.signal_group(signal.SIGKILL)
    with contextlib.suppress(Exception):
        child.close()
