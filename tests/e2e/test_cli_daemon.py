"""`coven daemon start|stop|restart|status` against real daemon processes."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from coven.cli.daemonctl import pid_alive
from tests.support.cli import Cli, cli

__all__ = ["cli"]

pytestmark = pytest.mark.timeout(90)


def wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} did not exit"
        time.sleep(0.02)


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
    assert first == f"Coven daemon: running (pid {pid}, socket {sock})\n"
    assert second == f"Coven daemon: already running (pid {pid}, socket {sock})\n"
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


def test_stop_with_live_sessions_refuses_without_a_terminal_unless_told_yes(cli: Cli) -> None:
    session_id = cli.detached("--fake-mode=sleep")
    cli.detached("--fake-mode=sleep")
    proc = cli.run("daemon", "stop")
    assert proc.returncode == 1
    assert proc.stderr == (
        "Error: stopping the daemon would end 2 live sessions; pass --yes to stop it "
        "anyway (no terminal to ask on)\n"
    )
    assert cli.session(session_id)["status"] == "running"
    # A restart ends nothing, so it does not ask: the sessions run on under their holders.
    old = cli.daemon_pid()
    assert cli.run("daemon", "restart", ok=True).stdout.startswith("Coven daemon: restarted")
    assert cli.daemon_pid() != old
    assert cli.session(session_id)["status"] == "running"
    out = cli.run("daemon", "stop", "--keep-sessions", ok=True).stdout
    assert out == "Coven daemon: stopped (sessions kept running)\n"
    cli.run("daemon", "start", ok=True)
    assert cli.session(session_id)["status"] == "running"
    cli.run("daemon", "stop", "--force", ok=True)
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


def test_status_is_stale_when_the_recorded_pid_lives_but_is_no_daemon_and_cleans_up(
    cli: Cli,
) -> None:
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
        # The pid was recycled by a process that is no Coven daemon: provably stale.
        assert "removed the daemon.json" in proc.stderr
        assert not (cli.home / "daemon.json").exists()
        doc = cli.json("daemon", "status", "--json")
        assert doc["status"] == "stopped" and doc["ok"] is False and doc["pid"] is None
        # A recycled pid is not ours to kill: neither status nor stop touched the sleeper.
        assert cli.run("daemon", "stop", ok=True).stdout == "Coven daemon: was not running\n"
        assert sleeper.poll() is None
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


def test_stop_stops_a_running_daemon_whose_daemon_json_is_corrupt(cli: Cli) -> None:
    cli.run("daemon", "start", ok=True)
    pid = cli.daemon_pid()
    assert pid is not None
    (cli.home / "daemon.json").write_text("{ not json")
    proc = cli.run("daemon", "stop", ok=True)
    assert proc.stdout == "Coven daemon: stopped\n"
    assert not pid_alive(pid)
    assert not (cli.home / "coven.sock").exists()
    assert not (cli.home / "daemon.json").exists(), "the corrupt leftover is cleaned up too"
    assert cli.run("daemon", "status").stdout == "Coven daemon: not running\n"


FAKE_HEALTH_SERVER = r"""
import json, socket, sys
path, pid = sys.argv[1], int(sys.argv[2])
doc = {"ok": True, "apiVersion": "coven.daemon.v1", "covenVersion": "0",
       "daemon": {"pid": pid, "startedAt": "2026-01-01T00:00:00Z", "socket": path}}
body = json.dumps(doc).encode()
server = socket.socket(socket.AF_UNIX)
server.bind(path)
server.listen()
print("listening", flush=True)
while True:
    conn, _ = server.accept()
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    conn.close()
"""


def test_stop_refuses_a_process_whose_health_names_another_pid(cli: Cli) -> None:
    cli.home.mkdir(mode=0o700)
    bystander = subprocess.Popen(["sleep", "60"])
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            FAKE_HEALTH_SERVER,
            str(cli.home / "coven.sock"),
            str(bystander.pid),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline() == "listening\n"
        (cli.home / "coven.sock").chmod(0o600)
        assert cli.run("daemon", "status", ok=True).stdout.startswith("Coven daemon: running")
        proc = cli.run("daemon", "stop")
        assert proc.returncode == 1
        assert "does not identify itself" in proc.stderr
        assert server.poll() is None and bystander.poll() is None, "nobody was signalled"
    finally:
        for child in (server, bystander):
            child.kill()
            child.wait()
        if server.stdout is not None:
            server.stdout.close()


def test_status_after_a_crash_reports_stale_once_and_removes_the_leftovers(cli: Cli) -> None:
    cli.run("daemon", "start", ok=True)
    pid = cli.daemon_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_gone(pid)
    assert (cli.home / "coven.sock").exists() and (cli.home / "daemon.json").exists()
    proc = cli.run("daemon", "status", ok=True)
    assert proc.stdout == f"Coven daemon: stale (pid {pid}, socket {cli.home / 'coven.sock'})\n"
    assert "removed the coven.sock and daemon.json" in proc.stderr
    assert not (cli.home / "coven.sock").exists()
    assert not (cli.home / "daemon.json").exists()
    assert cli.run("daemon", "status", ok=True).stdout == "Coven daemon: not running\n"
    assert cli.run("daemon", "start", ok=True).stdout.startswith("Coven daemon: running")


def test_status_leaves_a_wedged_daemon_and_its_files_alone(cli: Cli) -> None:
    cli.run("daemon", "start", ok=True)
    pid = cli.daemon_pid()
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        proc = cli.run("daemon", "status", ok=True)
        assert proc.stdout.startswith(f"Coven daemon: stale (pid {pid}, ")
        assert "coven daemon restart" in proc.stderr
        assert (cli.home / "coven.sock").exists() and (cli.home / "daemon.json").exists()
    finally:
        os.kill(pid, signal.SIGCONT)
    assert cli.run("daemon", "status", ok=True).stdout.startswith("Coven daemon: running")


def test_lifecycle_commands_take_turns_on_daemon_lock_which_the_daemon_does_not_keep(
    cli: Cli,
) -> None:
    cli.home.mkdir(mode=0o700)
    lock = os.open(cli.home / "daemon.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        threading.Timer(1.0, fcntl.flock, (lock, fcntl.LOCK_UN)).start()
        started = time.monotonic()
        cli.run("daemon", "start", ok=True)
        assert time.monotonic() - started >= 0.9, "start waited for the lifecycle lock"
        # The daemon it started holds its own serve lock, never daemon.lock.
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(lock, fcntl.LOCK_UN)
    finally:
        os.close(lock)
