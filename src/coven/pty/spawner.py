"""``PtySpawner``: the real spawner the runtime is handed (see ``coven.runtime.spawner``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from coven.pty.child import PtyChild, SpawnError, spawn
from coven.pty.process_group import reap_orphan
from coven.pty.stdin_file import discard_leftovers


class PtySpawner:
    """Starts each harness on its own PTY, in its own session, as a child of the daemon.

    ``stdin_dir`` is the private directory (inside ``COVEN_HOME``) where a
    prompt passed on stdin is written and at once unlinked (``stdin_file``);
    without it, a launch with ``stdin`` fails. ``umask``: the harnesses' file-creation
    mask (``None``: the daemon's own; see ``coven.pty.spawn``).
    """

    def __init__(self, stdin_dir: str | None = None, umask: int | None = None) -> None:
        self.stdin_dir = stdin_dir
        self.umask = umask

    def spawn(
        self,
        argv: Sequence[str],
        *,
        cwd: str,
        env: Mapping[str, str],
        rows: int,
        cols: int,
        stdin: bytes | None = None,
    ) -> PtyChild:
        if stdin is not None and self.stdin_dir is None:
            raise SpawnError("no directory for stdin files", {"reason": "stdin_file_failed"})
        return spawn(
            argv,
            cwd=cwd,
            env=env,
            rows=rows,
            cols=cols,
            stdin_data=stdin,
            stdin_dir=self.stdin_dir,
            umask=self.umask,
        )

    def discard_leftovers(self) -> int:
        """Remove stdin files a crash left behind (see ``stdin_file.discard_leftovers``)."""
        return 0 if self.stdin_dir is None else discard_leftovers(self.stdin_dir)

    def reap_orphan(self, pid: int, start_time: int | None) -> bool:
        return reap_orphan(pid, start_time)
