"""The reference Coven CLI's lifecycle commands against our daemon, on one home.

Runs only when ``COVEN_REFERENCE_BIN`` names the reference ``coven`` binary
(the lock and shutdown-connection behaviour it depends on is also tested
without it, in ``test_shutdown_route``).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.support.daemon import Daemon, running_daemon
from tests.support.hermetic import controlled_env

REFERENCE = os.environ.get("COVEN_REFERENCE_BIN", "")

pytestmark = pytest.mark.skipif(
    not REFERENCE, reason="set COVEN_REFERENCE_BIN to the reference coven binary"
)


def reference(daemon: Daemon, *args: str) -> subprocess.CompletedProcess[str]:
    env = controlled_env(daemon.home.parent / "user-home", extra={"COVEN_HOME": str(daemon.home)})
    return subprocess.run(
        [REFERENCE, *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_reference_daemon_status_reports_our_running_daemon(tmp_path: Path) -> None:
    with running_daemon(tmp_path) as daemon:
        assert daemon.proc is not None
        proc = reference(daemon, "daemon", "status")
        assert (proc.returncode, proc.stderr) == (0, "")
        assert (
            proc.stdout
            == f"Coven daemon: running (pid {daemon.proc.pid}, socket {daemon.socket})\n"
        )
        assert daemon.call("GET", "/health").status == 200


def test_reference_daemon_stop_stops_our_daemon_before_it_reports(tmp_path: Path) -> None:
    with running_daemon(tmp_path) as daemon:
        assert daemon.proc is not None
        sid = daemon.launch("--fake-mode=sleep")["id"]
        daemon.wait_output(sid, "ready")
        proc = reference(daemon, "daemon", "stop")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "Coven daemon: stopped\n"
        # EOF on its shutdown connection meant "exited": it was true.
        assert daemon.proc.wait(timeout=1.0) == 0
        assert not daemon.socket.exists() and not (daemon.home / "daemon.json").exists()
