"""``PtySpawner``: the real spawner the runtime is handed (see ``coven.runtime.spawner``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from coven.pty.child import PtyChild, spawn
from coven.pty.process_group import reap_orphan


class PtySpawner:
    """Starts each harness on its own PTY, in its own session, as a child of the daemon."""

    def spawn(
        self,
        argv: Sequence[str],
        *,
        cwd: str,
        env: Mapping[str, str],
        rows: int,
        cols: int,
    ) -> PtyChild:
        return spawn(argv, cwd=cwd, env=env, rows=rows, cols=cols)

    def reap_orphan(self, pid: int, start_time: int | None) -> bool:
        return reap_orphan(pid, start_time)
