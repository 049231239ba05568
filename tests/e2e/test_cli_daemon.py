"""`coven daemon start|stop|restart|status` against real daemon processes."""

from __future__ import annotations

import json
import subprocess

import pytest

from coven.cli.daemonctl import pid_alive
from tests.support.cli import Cli, cli

__all__ = ["cli"]

pytestmark = pytest.mark.timeout(90)


def test_status_when_never_started_is_not_running_and_exits_0(cli: Cli) -> None:
    proc = cli.run("daemon", "status")
    assert (proc.returncode, proc.stdout) == (0, "Coven daemon: not running\n")
    assert "coven daemon start" in proc.stderr
    doc = cli.json("daemon", "status", "--json")
    assert doc == {
        "ok": False,
        "pid": None,
        "socket": None,
        "started_at": None,
        "status": "stopped",
    }


def test_start_is_idempotent_and_status_reports_the_same_daemon(cli: Cli) -> None:
    first = cli.run("daemon", "start", ok=True).stdout
    second = cli.run("daemon", "start", ok=True).stdout
    pid = cli.daemon_pid()
    sock = cli.home / "coven.sock"
    assert first == second == f"Coven daemon: running (pid {pid}, socket {sock})\n"
    assert cli.run("daemon", "status", ok=True).stdout == first
    doc = cli.json("daemon", "status", "--json")
    assert doc["ok"] is True and doc["status"] == "running" and doc["pid"] == pid
    assert doc["socket"] == str(sock) and doc["started_at"]


def test_stop_twice_then_status(cli: Cli) -> None:
    cli.run("daemon", "start", ok=True)
    pid = cli.daemon_pid()
    assert pid is not None
    assert cli.run("daemon", "stop", ok=True).stdout == "Coven daemon: stopped\n"
    assert not pid_alive(pid), "the daemon process has exited (gone, or a zombie init will reap)"
    assert cli.run("daemon", "stop", ok=True).stdout == "Coven daemon: was not running\n"
    assert cli.run("daemon", "status", ok=True).stdout == "Coven daemon: not running\n"


def test_stop_kills_live_sessions_and_records_their_end(cli: Cli) -> None:
    session_id = cli.detached("--fake-mode=sleep")
    cli.run("daemon", "stop", ok=True)
    cli.run("daemon", "start", ok=True)
    assert cli.session(session_id)["status"] in {"killed", "failed"}


def test_restart_replaces_a_running_daemon_and_starts_a_stopped_one(cli: Cli) -> None:
    out = cli.run("daemon", "restart", ok=True).stdout
    assert out.startswith("Coven daemon: running (pid ")
    old = cli.daemon_pid()
    out = cli.run("daemon", "restart", ok=True).stdout
    new = cli.daemon_pid()
    assert new is not None and new != old
    assert out == f"Coven daemon: restarted (pid {new}, socket {cli.home / 'coven.sock'})\n"


def test_status_is_stale_when_the_recorded_pid_lives_but_nothing_answers(cli: Cli) -> None:
    cli.home.mkdir(mode=0o700)
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        info = {
            "pid": sleeper.pid,
            "startedAt": "2026-01-01T00:00:00Z",
            "socket": str(cli.home / "coven.sock"),
        }
        (cli.home / "daemon.json").write_text(json.dumps(info))
        proc = cli.run("daemon", "status")
        assert proc.returncode == 0
        assert proc.stdout.startswith(f"Coven daemon: stale (pid {sleeper.pid}, ")
        assert "coven daemon restart" in proc.stderr
        doc = cli.json("daemon", "status", "--json")
        assert doc["status"] == "stale" and doc["ok"] is False and doc["pid"] == sleeper.pid
        # A recycled pid is not ours to kill: stop leaves the sleeper alone.
        assert cli.run("daemon", "stop", ok=True).stdout == "Coven daemon: was not running\n"
        assert sleeper.poll() is None
        # start reclaims the home: the sleeper holds no lock and no socket.
        assert cli.run("daemon", "start", ok=True).stdout.startswith("Coven daemon: running")
        assert cli.daemon_pid() != sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()


def test_start_reports_the_daemons_own_error(cli: Cli) -> None:
    # A home that is a regular file cannot be prepared: the daemon says why on the pipe.
    cli.home.write_text("not a directory")
    proc = cli.run("daemon", "start")
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: ")
    assert proc.stdout == ""


def test_status_exits_0_when_home_is_unusable(cli: Cli) -> None:
    cli.home.write_text("not a directory")
    proc = cli.run("daemon", "status")
    assert (proc.returncode, proc.stdout) == (0, "Coven daemon: not running\n")
