"""When the holders' fork server starts: before the daemon's imports when a launch is
coming (``--launch-soon``, what a cold ``coven run`` asks for), else at the first launch."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from coven.pty.procfs import iter_processes
from tests.support.daemon import Daemon, daemon_env

pytestmark = pytest.mark.timeout(60)


def _forkservers(parent: int) -> list[int]:
    """The daemon's children that named themselves ``coven-forksrv``."""
    found = []
    for stat in iter_processes():
        if stat.ppid != parent:
            continue
        try:
            comm = Path(f"/proc/{stat.pid}/comm").read_text().strip()
        except OSError:
            continue
        if comm == "coven-forksrv":
            found.append(stat.pid)
    return found


@pytest.mark.parametrize("launch_soon", [True, False])
def test_the_fork_server_is_there_before_the_first_launch_only_when_one_is_coming(
    tmp_path: Path, launch_soon: bool
) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    daemon = Daemon(home, daemon_env(home, project))
    daemon.start(args=["--launch-soon"] if launch_soon else [])
    try:
        assert daemon.proc is not None
        # Nothing has been launched yet: a fork server now was started for what is coming.
        # (It names itself once its own imports are done: usually before the daemon is up.)
        deadline = time.monotonic() + (5.0 if launch_soon else 0.5)
        before = _forkservers(daemon.proc.pid)
        while not before and time.monotonic() < deadline:
            time.sleep(0.02)
            before = _forkservers(daemon.proc.pid)
        assert len(before) == (1 if launch_soon else 0)
        record = daemon.launch("hello")
        daemon.wait_output(record["id"], "ready")
        after = _forkservers(daemon.proc.pid)
        assert len(after) == 1
        if launch_soon:
            assert after == before  # the first launch used it, not a second one
    finally:
        daemon.stop()
