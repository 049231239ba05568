"""What a harness inherits: the user's umask, and no ignored signal that ends it.

The daemon creates everything of its own 0600/0700 (umask 077); an agent's files in
the user's project must get the permissions they would get from the user's shell, as
tmux's panes get its server's. A daemon started under ``nohup`` must not hand its
ignored SIGHUP down to the harnesses. Both with holders and without
(``COVEN_HOLDERS=0``).
"""

from __future__ import annotations

import os
import signal
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


def _status_field(pid: int, name: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split()[1]
    raise AssertionError(f"no {name} line")


def _umask_of(pid: int) -> int:
    return int(_status_field(pid, "Umask"), 8)


def _in_mask(pid: int, field: str) -> set[int]:
    mask = int(_status_field(pid, field), 16)
    return {signo for signo in range(1, 65) if mask & (1 << (signo - 1))}


def _ignored_by(pid: int) -> set[int]:
    return _in_mask(pid, "SigIgn")


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


@pytest.mark.parametrize(
    ("holders", "args"),
    # --launch-soon: the fork server starts before the daemon handles any signal itself
    [("1", ()), ("1", ("--launch-soon",)), ("0", ())],
)
def test_a_daemon_started_under_nohup_gives_harnesses_sighup_back(
    tmp_path: Path, holders: str, args: tuple[str, ...]
) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    daemon = Daemon(home, daemon_env(home, project, {"COVEN_HOLDERS": holders}))
    ending = {signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM}
    saved = {signo: signal.signal(signo, signal.SIG_IGN) for signo in ending}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGHUP])
    try:
        daemon.start(args=args)  # inherits the four ignored (as under nohup), SIGHUP blocked
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        for signo, handler in saved.items():
            signal.signal(signo, handler)
    try:
        record = daemon.launch("hello")
        daemon.wait_output(record["id"], "ready")
        harness = _harness_pid(record["id"])
        # Ignored they would survive their terminal's hangup and shrug off a kill.
        assert _ignored_by(harness) & ending == set()
        assert _in_mask(harness, "SigBlk") & ending == set()
        reply = daemon.call("POST", f"/api/v1/sessions/{record['id']}/kill", {})
        assert reply.status == 202, reply.body
        done = daemon.wait_status(record["id"], {"killed"})
        assert done["status"] == "killed"
    finally:
        daemon.stop()
