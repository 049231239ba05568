"""Sessions outlive the daemon: every harness runs under a holder the next daemon adopts."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from pathlib import Path

import pytest

from tests.support.daemon import Daemon
from tests.support.daemon import daemon_env as make_env
from tests.support.flood import expected_flood, stored_output

FLOOD_BYTES = 8 * 1024 * 1024


def _daemon(tmp_path: Path, **extra: str) -> Daemon:
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir(exist_ok=True)
    return Daemon(home, make_env(home, project, extra))


def _alive(pid: int) -> bool:
    """Running (a zombie counts as gone: its parent's job, checked separately)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _exists(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _wait(predicate: object, timeout: float, what: str) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _status(daemon: Daemon, sid: str) -> str:
    status: str = daemon.call("GET", f"/api/v1/sessions/{sid}").json()["status"]
    return status


@pytest.mark.timeout(120)
@pytest.mark.parametrize("run", range(3))
def test_kill_9_mid_flood_next_daemon_adopts_with_byte_identical_output(
    tmp_path: Path, run: int
) -> None:
    daemon = _daemon(tmp_path, FAKE_BYTES=str(FLOOD_BYTES))
    daemon.start()
    floods = [daemon.launch("--fake-mode=flood-after-enter")["id"] for _ in range(4)]
    holders = daemon.holder_pids()
    try:
        assert set(floods) <= set(holders)
        for sid in floods:
            daemon.wait_output(sid, "ready")
        for sid in floods:
            reply = daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": "\n"})
            assert reply.status in (200, 202), reply.body
        # Killed right after the last flood was started, while the first ones are well
        # under way (some of their output committed, some only read by the daemon).
        daemon.crash()
        running = [sid for sid in floods if _alive(holders[sid])]
        assert running, "every flood ended before the crash: nothing was adopted mid-flood"
        daemon.start()
        for sid in floods:
            record = daemon.wait_status(sid, {"completed", "failed", "orphaned"}, timeout=60)
            assert record["status"] == "completed", record
        want = expected_flood(FLOOD_BYTES)
        for sid in floods:
            got, kinds = stored_output(daemon, sid)
            got = got.split(b"ready\r\n", 1)[1]  # after the fake's banner
            got = got.removeprefix(b"\r\n")  # the echo of the Enter that started it
            assert len(got) == len(want), (sid, len(got), len(want))
            assert got == want, f"{sid}: stored output differs from what was emitted"
            assert kinds[-1] == "exit" and kinds.count("exit") == 1
        # Released holders exit: nothing is left behind.
        _wait(lambda: not any(_exists(holders[sid]) for sid in floods), 10, "holders to exit")
        assert not list((daemon.home / "h").glob("*.sock"))
        print(f"run {run}: {len(running)} of 4 floods were adopted mid-flood")
    finally:
        daemon.stop()


@pytest.mark.timeout(90)
def test_restart_keeps_interactive_sessions_and_their_input(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path)
    daemon.start()
    sids = [daemon.launch("--fake-mode=echo")["id"] for _ in range(4)]
    try:
        for index, sid in enumerate(sids):
            daemon.wait_output(sid, "ready")
            reply = daemon.call(
                "POST", f"/api/v1/sessions/{sid}/input", {"data": f"before {index}\n"}
            )
            assert reply.status in (200, 202), reply.body
            daemon.wait_output(sid, f"echo: before {index}")
        holders = daemon.holder_pids()
        daemon.stop_keeping_sessions()
        assert all(_alive(holders[sid]) for sid in sids)
        daemon.start()
        for index, sid in enumerate(sids):
            assert _status(daemon, sid) == "running"
            reply = daemon.call(
                "POST", f"/api/v1/sessions/{sid}/input", {"data": f"after {index}\n"}
            )
            assert reply.status in (200, 202), reply.body
            text = daemon.wait_output(sid, f"echo: after {index}")
            # Nothing twice: the output before the restart is stored once.
            assert text.count(f"echo: before {index}") == 1, text
            inputs = [
                json.loads(e["payload_json"])["data"]
                for e in daemon.events(sid)
                if e["kind"] == "input"
            ]
            assert inputs == [f"before {index}\n", f"after {index}\n"]
        reply = daemon.call("POST", f"/api/v1/sessions/{sids[0]}/input", {"data": "exit\n"})
        assert daemon.wait_status(sids[0], {"completed"})["status"] == "completed"
    finally:
        daemon.stop()
    _wait(lambda: not any(_exists(p) for p in holders.values()), 10, "holders to exit")


@pytest.mark.timeout(60)
def test_an_adopted_session_keeps_its_screen_and_who_it_is_waiting_for(tmp_path: Path) -> None:
    """The next daemon's screen model starts from the stored output, not blank: a
    full-screen agent that is quietly waiting is shown, and seen waiting, at once."""
    daemon = _daemon(tmp_path)
    daemon.start()
    try:
        drawn = daemon.launch("--fake-mode=screen", rows=30, cols=100)["id"]
        asking = daemon.launch("--fake-mode=ask")["id"]
        daemon.wait_output(drawn, "status: ready")
        before = daemon.call("GET", f"/api/v1/sessions/{drawn}/screen").json()["text"]
        assert before.startswith("FAKE SCREEN")
        _wait(lambda: _attention(daemon, asking) == "awaiting_input", 20, "the question")
        daemon.stop_keeping_sessions()
        daemon.start()
        screen = daemon.call("GET", f"/api/v1/sessions/{drawn}/screen").json()
        assert (screen["live"], screen["text"]) == (True, before)
        _wait(lambda: _attention(daemon, asking) == "awaiting_input", 20, "the question again")
    finally:
        daemon.stop()


def _attention(daemon: Daemon, sid: str) -> str | None:
    value: str | None = daemon.call("GET", f"/api/v1/sessions/{sid}").json()["attention"]
    return value


@pytest.mark.timeout(60)
def test_kill_9_of_a_holder_orphans_its_session_and_leaves_no_process(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path)
    daemon.start()
    try:
        sid = daemon.launch("--fake-mode=ignore-signals")["id"]
        text = daemon.wait_output(sid, "ready")
        found = re.search(r"pids (\d+) (\d+)", text)
        assert found
        pids = [int(g) for g in found.groups()]
        holder = daemon.holder_pids()[sid]
        os.kill(holder, signal.SIGKILL)
        record = daemon.wait_status(sid, {"orphaned"}, timeout=10)
        assert record["status"] == "orphaned"
        events = daemon.events(sid)
        assert events[-1]["kind"] == "exit"
        ending = json.loads(events[-1]["payload_json"])
        assert ending["status"] == "orphaned" and "holder" in ending["reason"], ending
        # The SIGHUP-proof harness and its child are ended, not left unmanaged...
        _wait(lambda: not any(_alive(p) for p in pids), 10, "the harness to be ended")
        # ...and reaped by someone (no zombies left behind).
        _wait(lambda: not any(_exists(p) for p in [*pids, holder]), 10, "zombies to be reaped")
        assert not list((daemon.home / "h").iterdir())
    finally:
        daemon.stop()


@pytest.mark.timeout(60)
def test_exit_while_no_daemon_runs_is_recorded_on_adoption(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path)
    daemon.start()
    try:
        sid = daemon.launch("--fake-mode=echo")["id"]
        text = daemon.wait_output(sid, "ready")
        harness = int(re.findall(r"ids pid=(\d+)", text)[0])
        holder = daemon.holder_pids()[sid]
        daemon.crash()
        # The harness ends while no daemon runs (as if it finished on its own).
        os.kill(harness, signal.SIGTERM)
        _wait(lambda: not _alive(harness), 5, "the harness to exit")
        assert _alive(holder)  # keeps the exit status for the next daemon
        daemon.start()
        record = daemon.wait_status(sid, {"completed", "failed", "killed", "orphaned"})
        assert record["status"] == "failed", record  # ended by SIGTERM: 128 + 15
        ending = json.loads(daemon.events(sid)[-1]["payload_json"])
        assert ending["exitCode"] == 143 and ending["signal"] == signal.SIGTERM
        _wait(lambda: not _exists(holder), 10, "the released holder to exit")
    finally:
        daemon.stop()


@pytest.mark.timeout(60)
def test_a_holder_whose_session_already_ended_is_let_go_on_start(tmp_path: Path) -> None:
    """A daemon that recorded the exit but died before releasing the holder."""
    import sqlite3

    daemon = _daemon(tmp_path)
    daemon.start()
    try:
        sid = daemon.launch("--fake-mode=sleep")["id"]
        daemon.wait_output(sid, "ready")
        holder = daemon.holder_pids()[sid]
        daemon.crash()
        with sqlite3.connect(daemon.home / "coven.sqlite3") as conn:
            conn.execute("UPDATE sessions SET status = 'completed' WHERE id = ?", (sid,))
        daemon.start()
        assert _status(daemon, sid) == "completed"
        _wait(lambda: not _exists(holder), 15, "the stale holder to exit")
        assert not list((daemon.home / "h").iterdir())
    finally:
        daemon.stop()
