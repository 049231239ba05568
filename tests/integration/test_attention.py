"""Attention end to end: a real daemon, fake harnesses, the real hook entry point.

A fake agent that asks ``(y/n)`` is seen as ``awaiting_input`` by the screen
detectors; fake ``claude``/``codex`` run the hook command the daemon wired into
their argv exactly as the real CLIs do (stdin JSON / one JSON argument); quiet
output turns into ``idle``; ``coven sessions``, ``wait``, ``send`` and ``watch``
show and drive it; a fake ``notify-send`` and a local HTTP server receive the
notifications.
"""

from __future__ import annotations

import http.server
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.integration.helpers import payloads, wait_until
from tests.support.daemon import Daemon, daemon_env
from tests.support.recorders import recording_program

IDLE_SECONDS = "1.5"


class Hooked(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, str]]] = []

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(size).decode()
        Hooked.received.append((self.path, self.headers.get("Title", ""), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def webhook() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hooked)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/coven-topic"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: Any, webhook: str) -> Iterator[tuple[Daemon, Path]]:
    base = tmp_path_factory.mktemp("attention")
    project = base / "project"
    project.mkdir()
    home = base / "home"
    home.mkdir()
    (home / "notify.toml").write_text(f'url = "{webhook}"\n')
    tools = base / "tools"
    tools.mkdir()
    sent = base / "notify-send.log"
    recording_program(tools / "notify-send", sent)
    env = daemon_env(home, project)
    env.update(
        PATH=f"{tools}:{env['PATH']}",
        COVEN_HARNESS_HOOKS="on",
        COVEN_ATTENTION_IDLE_SECONDS=IDLE_SECONDS,
    )
    daemon = Daemon(home, env)
    daemon.start()
    try:
        yield daemon, sent
    finally:
        daemon.stop()


def record(daemon: Daemon, sid: str) -> dict[str, Any]:
    reply = daemon.call("GET", f"/api/v1/sessions/{sid}")
    assert reply.status == 200, reply.body
    found: dict[str, Any] = reply.json()
    return found


def wait_attention(daemon: Daemon, sid: str, state: str, timeout: float = 15.0) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        current = record(daemon, sid)
        return current if current["attention"] == state else None

    return wait_until(found, timeout, f"attention {state}")


def coven(daemon: Daemon, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coven.cli.main", *args],
        env=daemon.env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def type_line(daemon: Daemon, sid: str, text: str) -> None:
    reply = daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": text + "\n"})
    assert reply.status == 202, reply.body


def test_a_yes_no_question_on_screen_is_awaiting_input_until_answered(
    world: tuple[Daemon, Path],
) -> None:
    daemon, _ = world
    sid = daemon.launch("--fake-mode=ask", harness="codex")["id"]
    waiting = wait_attention(daemon, sid, "awaiting_input")
    assert waiting["attention_reason"] == "Apply this edit to app.py? (y/n)"
    assert waiting["attention_since"]

    listing = coven(daemon, "sessions")
    assert listing.returncode == 0, listing.stderr
    first = listing.stdout.splitlines()[1]  # the header, then the waiting session on top
    assert first.startswith(sid[:8]) and "  waiting  " in first
    assert first.endswith("— Apply this edit to app.py? (y/n)")
    as_json = json.loads(coven(daemon, "sessions", "--json").stdout)
    mine = next(s for s in as_json["sessions"] if s["id"] == sid)
    assert mine["attention"] == "awaiting_input"

    sent = coven(daemon, "send", sid, "y", "--enter")
    assert sent.returncode == 0, sent.stderr
    daemon.wait_output(sid, "answered y")
    assert record(daemon, sid)["attention"] in ("working", "idle")
    wait_attention(daemon, sid, "idle")

    changes = payloads(daemon, sid, "attention")
    assert [(c["state"], c["source"]) for c in changes[:3]] == [
        ("awaiting_input", "screen"),
        ("working", "input"),
        ("idle", "quiet"),
    ]
    assert changes[0]["detector"] == "yes-no/1"
    assert "Apply this edit" in changes[0]["prompt"]
    type_line(daemon, sid, "exit")
    done = daemon.wait_status(sid, {"completed"})
    assert done["attention"] is None and done["attention_reason"] is None


def test_claude_hooks_report_through_coven_hook(world: tuple[Daemon, Path]) -> None:
    daemon, sent = world
    Hooked.received.clear()
    sid = daemon.launch("--fake-mode=hooks", harness="claude")["id"]
    daemon.wait_output(sid, "hooks claude")
    type_line(daemon, sid, "notify Claude needs your permission to use Bash")
    daemon.wait_output(sid, "hooked notify rc=0")
    waiting = record(daemon, sid)
    assert waiting["attention"] == "awaiting_input"
    assert waiting["attention_reason"] == "Claude needs your permission to use Bash"
    # Output alone does not clear a hook's question (a TUI redraws while it waits).
    time.sleep(float(IDLE_SECONDS) + 1.0)
    assert record(daemon, sid)["attention"] == "awaiting_input"

    type_line(daemon, sid, "stop")
    daemon.wait_output(sid, "hooked stop rc=0")
    idle = wait_attention(daemon, sid, "idle")
    assert idle["attention_reason"] == "turn finished"
    hooks = [c for c in payloads(daemon, sid, "attention") if c["source"] == "hook"]
    assert [c["state"] for c in hooks] == ["awaiting_input", "idle"]

    # Notified: the question and the end of the turn, on the desktop and the webhook.
    wait_until(lambda: len(Hooked.received) >= 2, 10, "two webhook posts")
    path, title, body = Hooked.received[0]
    assert path == "/coven-topic" and "waiting" in title
    assert sid in body and "awaiting_input" in body and "permission to use Bash" in body
    wait_until(lambda: sent.exists() and sid in sent.read_text(), 10, "notify-send")
    assert "Claude needs your permission" in sent.read_text()
    type_line(daemon, sid, "exit")
    daemon.wait_status(sid, {"completed"})


def test_codex_notify_reports_a_finished_turn(world: tuple[Daemon, Path]) -> None:
    daemon, _ = world
    sid = daemon.launch("--fake-mode=hooks", harness="codex")["id"]
    daemon.wait_output(sid, "hooks codex")
    type_line(daemon, sid, "turn Shall I also update the docs?")
    daemon.wait_output(sid, "hooked turn rc=0")
    idle = wait_attention(daemon, sid, "idle", timeout=5)
    assert idle["attention_reason"] == "turn complete"
    hook = [c for c in payloads(daemon, sid, "attention") if c["source"] == "hook"]
    assert hook[0]["prompt"] == "Shall I also update the docs?"
    type_line(daemon, sid, "exit")
    daemon.wait_status(sid, {"completed"})


def test_the_users_own_codex_notify_still_runs_after_ours(
    world: tuple[Daemon, Path], tmp_path: Path
) -> None:
    """Codex runs one notify program and ours displaces theirs for the session, so
    `coven hook` runs theirs with the same payload."""
    daemon, _ = world
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    called = tmp_path / "their-notify.log"
    theirs = recording_program(tmp_path / "their-notify", called)
    (codex_home / "config.toml").write_text(f'notify = ["{theirs}", "--from-config"]\n')
    sid = daemon.launch(
        "--fake-mode=hooks",
        harness="codex",
        environment={**daemon.env, "CODEX_HOME": str(codex_home)},
    )["id"]
    daemon.wait_output(sid, "hooks codex")
    type_line(daemon, sid, "turn All done here.")
    daemon.wait_output(sid, "hooked turn rc=0")
    wait_attention(daemon, sid, "idle", timeout=5)  # ours reported
    wait_until(
        lambda: called.exists() and "agent-turn-complete" in called.read_text(), 10, "theirs"
    )
    args = called.read_text().splitlines()
    assert args[0] == "--from-config"
    assert json.loads(args[1])["last-assistant-message"] == "All done here."
    type_line(daemon, sid, "exit")
    daemon.wait_status(sid, {"completed"})


def test_the_attention_route_takes_only_known_states_for_live_sessions(
    world: tuple[Daemon, Path],
) -> None:
    daemon, _ = world
    sid = daemon.launch("--fake-mode=echo", harness="codex")["id"]
    daemon.wait_output(sid, "ready")
    route = f"/api/v1/sessions/{sid}/attention"
    bad = daemon.call("POST", route, {"state": "sleeping"})
    assert bad.status == 400 and bad.json()["error"]["code"] == "invalid_request"
    long = daemon.call("POST", route, {"state": "idle", "reason": "x" * 301})
    assert long.status == 400 and "300" in long.json()["error"]["message"]
    extra = daemon.call("POST", route, {"state": "idle", "colour": "red"})
    assert extra.status == 400
    secret = "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2
    ok = daemon.call("POST", route, {"state": "awaiting_input", "reason": f"paste {secret}?"})
    assert ok.status == 200, ok.body
    assert ok.json()["attention_reason"] == "paste [REDACTED]?"
    assert secret not in json.dumps(payloads(daemon, sid, "attention"))
    type_line(daemon, sid, "exit")
    daemon.wait_status(sid, {"completed"})
    gone = daemon.call("POST", route, {"state": "idle"})
    assert gone.status == 409 and gone.json()["error"]["code"] == "session_not_live"
    missing = daemon.call("POST", "/api/v1/sessions/nope/attention", {"state": "idle"})
    assert missing.status == 404


def test_coven_wait_exit_statuses(world: tuple[Daemon, Path]) -> None:
    daemon, _ = world
    sid = daemon.launch("--fake-mode=ask", harness="codex")["id"]
    reached = coven(daemon, "wait", sid, "--until", "awaiting_input", "--timeout", "15")
    assert reached.returncode == 0, reached.stderr
    assert reached.stdout.strip() == f"{sid} awaiting_input: Apply this edit to app.py? (y/n)"
    timed_out = coven(daemon, "wait", sid, "--until", "exit", "--timeout", "0.5")
    assert timed_out.returncode == 4
    type_line(daemon, sid, "n")
    type_line(daemon, sid, "exit")
    ended = coven(daemon, "wait", sid, "--until", "awaiting_input", "--timeout", "15")
    assert ended.returncode == 3 and "exited (completed)" in ended.stdout
    assert coven(daemon, "wait", sid, "--until", "exit").returncode == 0


def test_coven_watch_prints_one_line_per_change(world: tuple[Daemon, Path]) -> None:
    daemon, _ = world
    watcher = subprocess.Popen(
        [sys.executable, "-m", "coven.cli.main", "watch", "--json"],
        env=daemon.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(1.5)  # the watcher's first look happens before the launch
        sid = daemon.launch("--fake-mode=ask", harness="codex")["id"]
        wait_attention(daemon, sid, "awaiting_input")
        type_line(daemon, sid, "y")
        type_line(daemon, sid, "exit")
        daemon.wait_status(sid, {"completed"})
        time.sleep(1.5)
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
    lines = [json.loads(line) for line in out.splitlines()]
    mine = [(d["attention"], d["source"], d["status"]) for d in lines if d["sessionId"] == sid]
    # Every change, none missed even though the question lasted only a moment, none twice.
    assert mine == [
        ("awaiting_input", "screen", "running"),
        ("working", "input", "running"),
        (None, None, "completed"),
    ]


def test_an_exit_is_notified_but_not_a_kill_someone_asked_for(
    world: tuple[Daemon, Path],
) -> None:
    daemon, sent = world
    killed = daemon.launch("--fake-mode=echo", harness="codex")["id"]
    daemon.wait_output(killed, "ready")
    reply = daemon.call("POST", f"/api/v1/sessions/{killed}/kill", {})
    assert reply.status in (200, 202), reply.body
    daemon.wait_status(killed, {"killed"})
    ended = daemon.launch("--fake-mode=echo", harness="codex")["id"]
    daemon.wait_output(ended, "ready")
    type_line(daemon, ended, "exit")
    daemon.wait_status(ended, {"completed"})
    # One worker sends notices in order: the completed session's comes after any for the kill.
    wait_until(lambda: sent.exists() and ended in sent.read_text(), 10, "the exit's notice")
    notices = sent.read_text()
    assert "completed" in notices.split(ended, 1)[1].splitlines()[0]
    assert killed not in notices
