"""Which Codex thread each live Codex session is running, for every session with one poll.

Codex picks its thread id itself and writes it as the first record of a rollout file
under its sessions directory (``conversations.codex_rollouts`` reads them). Until a
session's file appears (at most ``WAIT_SECONDS``), the session waits here; one task
polls every ``POLL_SECONDS`` for all waiting sessions, one directory scan per sessions
directory, and stops when nobody waits. (One poll per session cost the idle daemon
5 % of a core with 200 Codex sessions launched in the last half minute.)

The oldest unclaimed rollout whose ``cwd`` matches and that was written after the
session started is the session's; ids recorded by other sessions are never taken.

A launch starts the watch; so does adoption by the next daemon (a restart must not
end it) for a Codex session with no thread id yet, finding the harness's sessions
directory in the harness's own environment (``harness_sessions_dir``), since the
launch's environment is never stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

import msgspec

from coven.errors import SessionNotFound
from coven.runtime.conversations import (
    Rollout,
    choose_codex_thread,
    codex_rollouts,
    codex_sessions_dir,
)
from coven.runtime.ledger import Ledger
from coven.store import UpdateSession

log = logging.getLogger(__name__)

WAIT_SECONDS = 30.0
POLL_SECONDS = 0.5
# File times can be coarser than our clock: accept files from just before the spawn.
CLOCK_SLACK = 2.0


class _Waiting(msgspec.Struct, frozen=True):
    session_id: str
    sessions_dir: Path
    cwd: str
    since: float  # wall-clock time the harness was started
    deadline: float  # monotonic


class CodexThreads:
    """Records ``conversation_id`` for Codex sessions once their thread id is known."""

    def __init__(self, ledger: Ledger, alive: Callable[[str], bool]) -> None:
        self.ledger = ledger
        self._alive = alive
        self._waiting: dict[str, _Waiting] = {}
        self._claimed: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def watch(self, session_id: str, sessions_dir: Path, cwd: str, since: float) -> None:
        """Look for the thread of ``session_id`` (started at wall time ``since`` in ``cwd``)."""
        deadline = time.monotonic() + WAIT_SECONDS
        self._waiting[session_id] = _Waiting(session_id, sessions_dir, cwd, since, deadline)
        if self._task is None or self._task.done():
            self._task = self.ledger.loop.create_task(self._run(), name="coven-codex-threads")

    def claim(self, thread: str) -> None:
        """A thread id a session already recorded (before a restart): never another's."""
        self._claimed.add(thread)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._waiting.clear()

    async def _run(self) -> None:
        while self._waiting:
            await asyncio.sleep(POLL_SECONDS)
            now = time.monotonic()
            for sid, wait in list(self._waiting.items()):
                if wait.deadline < now or not self._alive(sid):
                    del self._waiting[sid]
            if not self._waiting:
                return
            try:
                await self._poll()
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad poll must not end the watch for everyone
                log.exception("looking for Codex thread ids failed")

    async def _poll(self) -> None:
        oldest: dict[Path, float] = {}
        for wait in self._waiting.values():
            since = wait.since - CLOCK_SLACK
            oldest[wait.sessions_dir] = min(oldest.get(wait.sessions_dir, since), since)
        found: dict[Path, list[Rollout]] = {}
        for where, since in oldest.items():
            found[where] = await self.ledger.read(codex_rollouts, where, since)
        # Sessions that started first choose first: each takes the oldest file it can.
        for wait in sorted(self._waiting.values(), key=lambda w: w.since):
            since = wait.since - CLOCK_SLACK
            thread = choose_codex_thread(found[wait.sessions_dir], wait.cwd, since, self._claimed)
            if thread is None:
                continue
            self._claimed.add(thread)
            del self._waiting[wait.session_id]
            with contextlib.suppress(SessionNotFound):  # it may be gone meanwhile
                fields = {"conversation_id": thread}
                await self.ledger.write(UpdateSession(wait.session_id, fields))
                self.ledger.changes.notify(wait.session_id)


# The variables of a harness's environment that locate its sessions directory.
_LOCATING = ("CODEX_HOME", "HOME")


def harness_sessions_dir(pid: int, fallback: dict[str, str]) -> Path | None:
    """Where the running harness ``pid`` writes its Codex rollout files.

    Read from the variables that locate it (``CODEX_HOME``, ``HOME``) in the
    process's environment as it was exec'd; nothing else of that environment is
    kept. ``fallback`` (the daemon's own environment) answers when it cannot be read.
    Blocking (procfs).
    """
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            raw = fh.read()
    except OSError:
        return codex_sessions_dir(fallback)
    found: dict[str, str] = {}
    for entry in raw.split(b"\0"):
        name, sep, value = entry.partition(b"=")
        key = name.decode("ascii", "replace")
        if sep and key in _LOCATING:
            found[key] = value.decode("utf-8", "surrogateescape")
    return codex_sessions_dir(found)
