"""`coven cockpit`: starts the daemon and a server, prints the address, reuses a running one."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.support.cli import COVEN, Cli
from tests.support.cockpit import Cockpit, cockpit_command, serving


@pytest.fixture
def served(cli: Cli) -> Iterator[Cockpit]:
    with serving([*COVEN, "cockpit", "--no-open"], cli.env, cli.home, cwd=cli.project) as cockpit:
        yield cockpit


def test_cockpit_starts_the_daemon_and_serves_the_printed_address(
    cli: Cli, served: Cockpit
) -> None:
    assert cli.daemon_pid() is not None  # started for us, as `coven run` would
    assert served.url.startswith("http://127.0.0.1:")
    assert len(served.token) >= 40
    health = served.http("GET", "/api/v1/health").json()
    assert health["apiVersion"] == "coven.daemon.v1"
    context = served.http("GET", "/cockpit/context").json()
    assert context["cockpit"]["defaultProjectRoot"] == str(cli.project)


def test_a_second_launch_reuses_the_running_cockpit(cli: Cli, served: Cockpit) -> None:
    began = time.monotonic()
    again = cli.run("cockpit", "--no-open", ok=True, timeout=20)
    assert again.stdout.strip() == f"Coven cockpit: {served.url}"
    assert "already running" in again.stderr
    assert time.monotonic() - began < 10
    assert served.proc.poll() is None


def test_stopping_removes_the_state_file(cli: Cli, served: Cockpit) -> None:
    state = cli.home / "cockpit.json"
    assert state.exists()
    assert served.stop() == 0
    assert not state.exists()


def test_a_stale_state_file_is_replaced_by_a_new_server(cli: Cli) -> None:
    cli.run("daemon", "start", ok=True)
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = {"pid": dead.pid, "port": 9, "token": "old", "started_at": "2020-01-01T00:00:00Z"}
    (cli.home / "cockpit.json").write_text(json.dumps(stale))
    with serving(cockpit_command(cli.home), cli.env, cli.home) as cockpit:
        assert cockpit.token != "old"
        assert json.loads((cli.home / "cockpit.json").read_text())["pid"] == cockpit.proc.pid


def test_a_port_in_use_is_a_sentence_not_a_traceback(cli: Cli) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = cli.run("cockpit", "--no-open", "--port", str(port), timeout=30)
    assert proc.returncode == 1
    assert f"port {port} is in use" in proc.stderr
    assert not (cli.home / "cockpit.json").exists()


def test_the_browser_is_not_opened_on_a_text_terminal(cli: Cli) -> None:
    # No DISPLAY and no BROWSER: webbrowser would pick a console browser and take the tty.
    env = {k: v for k, v in cli.env.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY"}}
    env["BROWSER"] = ""
    # Without --no-open.
    with serving(cockpit_command(cli.home)[:-1], env, cli.home) as cockpit:
        try:
            time.sleep(0.3)
            children = subprocess.run(
                ["ps", "-o", "pid=", "--ppid", str(cockpit.proc.pid)],
                capture_output=True,
                text=True,
            )
            assert children.stdout.strip() == ""
        finally:
            os.killpg(cockpit.proc.pid, signal.SIGTERM)
