"""A harness gets the umask the daemon was started with, not the daemon's private one.

The daemon creates everything of its own 0600/0700 (umask 077); an agent's files in
the user's project must get the permissions they would get from the user's shell, as
tmux's panes get its server's. Both with holders and without (``COVEN_HOLDERS=0``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.daemon import Daemon, daemon_env

pytestmark = pytest.mark.timeout(60)


def _harness_pid(session_id: str) -> int:
    """The process whose environment names the session (the harness, not its holder)."""
    wanted = f"COVEN_SESSION_ID={session_id}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if wanted in environ:
                return int(entry.name)
    raise AssertionError(f"no process of session {session_id}")


def _umask_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    raise AssertionError("no Umask line")


@pytest.mark.parametrize("holders", ["1", "0"])
@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_the_harness_runs_with_the_umask_the_daemon_started_with(
    tmp_path: Path, holders: str, mask: int
) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    daemon = Daemon(home, daemon_env(home, project, {"COVEN_HOLDERS": holders}))
    daemon.start(umask=mask)
    try:
        record = daemon.launch("hello")
        daemon.wait_output(record["id"], "ready")
        assert _umask_of(_harness_pid(record["id"])) == mask
        assert _umask_of(daemon.proc.pid) == 0o077  # type: ignore[union-attr]
        # The daemon's own files stay private whatever the user's mask.
        assert (home / "coven.sqlite3").stat().st_mode & 0o077 == 0
        for entry in os.scandir(home):
            assert entry.stat(follow_symlinks=False).st_mode & 0o077 == 0, entry.name
    finally:
        daemon.stop()
