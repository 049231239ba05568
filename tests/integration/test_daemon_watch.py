"""A daemon whose socket disappears shuts itself down instead of running unreachable."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from tests.integration.helpers import alive
from tests.support.daemon import running_daemon


@pytest.mark.timeout(60)
def test_deleting_coven_home_stops_the_daemon_and_its_harnesses(tmp_path: Path) -> None:
    with running_daemon(tmp_path) as daemon:
        sid = daemon.launch("--fake-mode=sleep")["id"]
        text = daemon.wait_output(sid, "ready")
        harness_pid = int(text.split("ids pid=", 1)[1].split()[0])
        shutil.rmtree(daemon.home)
        assert daemon.proc is not None
        deadline = time.monotonic() + 20
        while daemon.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert daemon.proc.returncode == 0, "the daemon noticed its socket was gone and stopped"
        assert not alive(harness_pid), "its harness was ended with it"
