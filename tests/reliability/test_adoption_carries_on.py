"""What a daemon does for a live session carries on across a restart: input it held,
and the watch for Codex's thread id."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import Daemon
from tests.support.daemon import daemon_env as make_env


def _daemon(tmp_path: Path) -> Daemon:
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir(exist_ok=True)
    return Daemon(home, make_env(home, project))


def _inputs(daemon: Daemon, sid: str) -> list[str]:
    return [
        json.loads(e["payload_json"])["data"] for e in daemon.events(sid) if e["kind"] == "input"
    ]


def _type(daemon: Daemon, sid: str, text: str) -> None:
    reply = daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": text})
    assert reply.status in (200, 202), reply.body


@pytest.mark.timeout(60)
def test_typed_input_the_stopping_daemon_held_is_stored_before_it_exits(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path)
    daemon.start()
    try:
        sid = daemon.launch("--fake-mode=echo")["id"]
        daemon.wait_output(sid, "ready")
        # No Enter, and the last word could still grow: the daemon holds all of it.
        _type(daemon, sid, "hello wor")
        assert _inputs(daemon, sid) == []
        daemon.stop_keeping_sessions()
        daemon.start()
        assert _inputs(daemon, sid) == ["hello wor"]
        _type(daemon, sid, "ld\n")
        daemon.wait_output(sid, "echo: hello world")
        assert "".join(_inputs(daemon, sid)) == "hello world\n"
    finally:
        daemon.stop()


def _conversation(daemon: Daemon, sid: str) -> Any:
    return daemon.call("GET", f"/api/v1/sessions/{sid}").json().get("conversation_id")


@pytest.mark.timeout(60)
def test_an_adopted_codex_session_still_gets_its_thread_id(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path)

    # Each harness runs with its own CODEX_HOME, which only its environment names (runs
    # in one directory and one sessions directory could not be told apart).
    def environment(name: str) -> dict[str, str]:
        return {**daemon.env, "CODEX_HOME": str(tmp_path / name)}

    daemon.start()
    try:
        sid = daemon.launch("--fake-mode=echo", environment=environment("codex-a"))["id"]
        other = daemon.launch("--fake-mode=echo", environment=environment("codex-b"))["id"]
        daemon.wait_output(sid, "ready")
        daemon.wait_output(other, "ready")
        _type(daemon, other, "rollout thread-before\n")
        deadline = time.monotonic() + 10
        while _conversation(daemon, other) is None:
            assert time.monotonic() < deadline, "the thread before the restart was not recorded"
            time.sleep(0.1)
        assert _conversation(daemon, sid) is None
        daemon.stop_keeping_sessions()
        daemon.start()
        # Codex starts its thread (writes its rollout file) only after the restart.
        _type(daemon, sid, "rollout thread-after\n")
        daemon.wait_output(sid, "echo: rollout thread-after")
        deadline = time.monotonic() + 10
        while _conversation(daemon, sid) is None:
            assert time.monotonic() < deadline, "the adopted session's thread was not recorded"
            time.sleep(0.1)
        assert _conversation(daemon, sid) == "thread-after"
        assert _conversation(daemon, other) == "thread-before"
    finally:
        daemon.stop()
