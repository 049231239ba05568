"""A daemon that dies before it is ready is reported at once, with its last words."""

from __future__ import annotations

import time
from pathlib import Path

from tests.support.cli import Cli


def test_a_daemon_crashing_at_start_is_explained_without_waiting_or_a_traceback(
    cli: Cli, tmp_path: Path
) -> None:
    broken = tmp_path / "broken-site"
    broken.mkdir()
    # Shadow uvloop with a module that fails: the daemon process dies during start-up.
    (broken / "uvloop.py").write_text('raise RuntimeError("simulated broken install")\n')
    started = time.monotonic()
    proc = cli.run("daemon", "start", env={"PYTHONPATH": str(broken)})
    elapsed = time.monotonic() - started
    assert proc.returncode == 1
    assert "exited (status 1) before it was ready" in proc.stderr
    assert "RuntimeError: simulated broken install" in proc.stderr
    assert str(cli.home / "daemon.log") in proc.stderr
    assert elapsed < 8, f"took {elapsed:.1f} s: the start budget is 10 s"
    assert cli.run("daemon", "status").stdout == "Coven daemon: not running\n"
