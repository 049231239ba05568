"""Guards: nothing a test starts can reach an agent installed on the machine.

A decoy ``codex``/``claude`` is put first on the test runner's own PATH (as a
real install would be); the daemons, CLIs and harnesses the tests start must
neither see nor run it, whatever is installed on the machine.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.fakes.ptyio import fake_env
from tests.support.daemon import FAKE_BIN, daemon_env, running_daemon
from tests.support.hermetic import AGENTS, agents_on, controlled_path


@pytest.fixture
def decoy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory of would-be real agents, first on the runner's PATH; each touches a marker."""
    directory = tmp_path / "installed"
    directory.mkdir()
    for name in AGENTS:
        script = directory / name
        script.write_text(f"#!/bin/sh\ntouch {tmp_path / 'decoy-ran'}\nsleep 30\n")
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ.get('PATH', '')}")
    return directory


def _environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    pairs = (item.decode().partition("=") for item in raw if item)
    return {name: value for name, _, value in pairs}


def test_every_test_environment_finds_only_the_fake_agents(tmp_path: Path, decoy: Path) -> None:
    envs = {
        "daemon/cli": daemon_env(tmp_path / "home", tmp_path / "project"),
        "pty": fake_env("exit"),
    }
    for name, env in envs.items():
        assert agents_on(env["PATH"]) == [], name
        for agent in AGENTS:
            assert shutil.which(agent, path=env["PATH"]) == str(FAKE_BIN / agent), name
    assert agents_on(controlled_path()) == []
    assert all(shutil.which(agent, path=controlled_path()) is None for agent in AGENTS)
    env = envs["daemon/cli"]
    assert Path(env["HOME"]).is_relative_to(tmp_path)
    assert Path(env["COVEN_HOME"]).is_relative_to(tmp_path)


def test_a_test_daemon_runs_with_a_controlled_path_and_home(tmp_path: Path, decoy: Path) -> None:
    with running_daemon(tmp_path) as daemon:
        assert daemon.proc is not None
        seen = _environ_of(daemon.proc.pid)
        assert agents_on(seen["PATH"]) == [], seen["PATH"]
        assert str(decoy) not in seen["PATH"].split(os.pathsep)
        assert Path(seen["HOME"]).is_relative_to(tmp_path)
        assert seen["COVEN_HOME"] == str(daemon.home)
        sid = daemon.launch("--fake-mode=exit", harness="claude")["id"]
        assert "FAKE[claude]" in daemon.wait_output(sid, "ready")
    assert not (tmp_path / "decoy-ran").exists()


def test_a_test_daemon_without_fakes_finds_no_agent_at_all(tmp_path: Path, decoy: Path) -> None:
    with running_daemon(tmp_path, {"PATH": controlled_path()}) as daemon:
        for agent in AGENTS:
            body = {"projectRoot": str(tmp_path / "project"), "harness": agent, "prompt": "hi"}
            reply = daemon.call("POST", "/api/v1/sessions", body)
            assert reply.status == 400, reply.body
            assert "not available" in reply.json()["error"]["message"]
    assert not (tmp_path / "decoy-ran").exists()
