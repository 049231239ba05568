"""A cold ``coven run`` shows the session's first output before the new daemon's API is
up (``coven.daemon.handover``'s preview, ``coven.cli.launch_preview``), then attaches
without showing a byte twice or leaving one out.

The daemon here loads its API a second late (``SLOW_API``, a ``sitecustomize`` that
delays importing ``coven.api.app``), so the harness's output surely comes first and
crosses the seam between the preview and the attachment."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pexpect
import pytest

from coven.daemon import handover
from tests.support.cli import COVEN, Cli, cli, daemon_pids

__all__ = ["cli"]

pytestmark = pytest.mark.timeout(90)

SLOW_API = """\
import os, sys, time

class _SlowApi:
    def find_spec(self, name, path=None, target=None):
        if name == "coven.api.app":
            if os.environ["SLOW_API_SECONDS"] == "fail":
                raise ImportError("the API cannot load here")
            time.sleep(float(os.environ["SLOW_API_SECONDS"]))
        return None

sys.meta_path.insert(0, _SlowApi())
"""
NUMBERED = re.compile(rb"^(\d{12}) ", re.M)
PREVIEWED = re.compile(r"previewed (\d+) byte\(s\) of its output before the API was up")


def _slow_api(cli: Cli, tmp_path: Path, seconds: float | str = 1.0) -> dict[str, str]:
    site = tmp_path / "slow-api"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SLOW_API)
    return {**cli.env, "PYTHONPATH": str(site), "SLOW_API_SECONDS": str(seconds)}


def _spawn(cli: Cli, env: dict[str, str], *args: str) -> tuple[pexpect.spawn, io.BytesIO]:
    seen = io.BytesIO()
    child = pexpect.spawn(
        COVEN[0],
        [*COVEN[1:], *args],
        cwd=str(cli.project),
        env=env,
        dimensions=(30, 100),
        timeout=20,
    )
    child.logfile_read = seen
    return child, seen


def _previewed(cli: Cli) -> int:
    found = PREVIEWED.findall((cli.home / "daemon.log").read_text())
    assert len(found) == 1
    return int(found[0])


def test_a_flood_crossing_from_the_preview_to_the_attachment_shows_each_line_once(
    cli: Cli, tmp_path: Path
) -> None:
    env = {**_slow_api(cli, tmp_path), "FAKE_MODE": "flood", "FAKE_BYTES": str(300 * 64)}
    child, seen = _spawn(cli, env, "run", "codex")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    shown = seen.getvalue()
    assert b"Traceback" not in shown
    lines = [int(n) for n in NUMBERED.findall(shown)]
    assert lines == list(range(300))  # in order, none twice, none missing
    # Part of it came through the preview (at most its limit), the rest through the API.
    assert 0 < _previewed(cli) <= handover.PREVIEW_LIMIT
    # The header came first, and the session's end is reported after its output.
    assert shown.index(b"Coven session created") < shown.index(b"000000000000 ")
    assert shown.rindex(b"000000000299 ") < shown.index(b"[coven session completed (exit code 0)]")
    # Said before the daemon was ready, in the words it says once it is.
    status = cli.json("daemon", "status", "--json")
    started = f"Coven daemon: started (pid {status['pid']}, socket {status['socket']})"
    assert shown.count(started.encode()) == 1


def test_a_session_that_ends_before_the_api_is_up_is_shown_once_and_reported(
    cli: Cli, tmp_path: Path
) -> None:
    env = {**_slow_api(cli, tmp_path), "FAKE_MODE": "exit", "FAKE_EXIT": "3"}
    child, seen = _spawn(cli, env, "run", "codex")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 3  # the harness's own status, as for any run
    shown = seen.getvalue()
    assert shown.count(b"FAKE[codex]") == 1
    assert shown.count(b"ready") == 1
    assert b"[coven session failed (exit code 3)]" in shown
    assert _previewed(cli) > 0


def test_keys_typed_during_the_preview_reach_the_harness_and_detach_works(
    cli: Cli, tmp_path: Path
) -> None:
    env = _slow_api(cli, tmp_path, seconds=2.0)
    child, seen = _spawn(cli, env, "run", "codex")
    child.expect("ready")  # the harness's first output, shown by the preview
    assert "serving" not in (cli.home / "daemon.log").read_text()  # no API yet
    child.send("ping\r")  # waits in the terminal until the attachment reads it
    child.expect("echo: ping")
    child.send("\x1d")
    child.expect(r"\[detached from session ")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert seen.getvalue().count(b"echo: ping") == 1
    assert _previewed(cli) > 0
    [session] = cli.json("sessions", "--json")["sessions"]
    assert session["status"] == "running"  # detaching left it running


def test_a_detached_cold_run_prints_only_the_id(cli: Cli, tmp_path: Path) -> None:
    """The daemon previews whatever it launched; ``--detach`` shows none of it."""
    proc = cli.run("run", "codex", "--detach", env=_slow_api(cli, tmp_path), ok=True)
    session_id = proc.stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", session_id)
    assert "FAKE[codex]" not in proc.stdout + proc.stderr
    assert "argv=" in cli.wait_output(session_id, "ready")


def test_a_command_run_while_the_api_loads_waits_for_its_answer(cli: Cli, tmp_path: Path) -> None:
    """The socket listens before the API is loaded: a command run as soon as the preview
    showed something is answered (a moment later), not told that no daemon runs."""
    child, _ = _spawn(cli, _slow_api(cli, tmp_path, seconds=2.0), "run", "codex")
    child.expect("ready")
    log = cli.home / "daemon.log"
    assert "serving" not in log.read_text()
    listed = cli.json("sessions", "--json")["sessions"]
    assert [(s["harness"], s["status"]) for s in listed] == [("codex", "running")]
    assert "serving" in log.read_text()  # it was answered once the API was up
    child.send("\x1d")
    child.expect(pexpect.EOF)
    child.close()


def test_a_daemon_whose_api_fails_to_load_leaves_no_socket_behind(cli: Cli, tmp_path: Path) -> None:
    proc = cli.run("run", "codex", "--detach", env=_slow_api(cli, tmp_path, seconds="fail"))
    assert proc.returncode != 0
    assert "the API cannot load here" in (cli.home / "daemon.log").read_text()
    assert not (cli.home / "coven.sock").exists()
    status = cli.run("daemon", "status")
    assert "not running" in status.stdout + status.stderr


def test_a_stop_while_the_api_loads_stops_the_daemon_and_ends_the_run(
    cli: Cli, tmp_path: Path
) -> None:
    """Stopping a daemon that is still loading its API (its session already on screen)
    waits for it and stops it: nothing is left running behind a "not running"."""
    child, seen = _spawn(cli, _slow_api(cli, tmp_path, seconds=2.0), "run", "codex")
    child.expect("ready")
    assert "serving" not in (cli.home / "daemon.log").read_text()
    stopped = cli.run("daemon", "stop", "--yes")
    assert stopped.returncode == 0
    assert "Coven daemon: stopped" in stopped.stdout + stopped.stderr
    child.expect(pexpect.EOF)
    child.close()
    assert daemon_pids(cli.home) == []
    assert b"[coven session killed" in seen.getvalue()
