"""Daemon lifecycle: graceful stop, crash recovery, refusals at start, file modes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
from pathlib import Path

import pytest

from tests.integration.helpers import alive, harness_pids, wait_until
from tests.support.daemon import Daemon
from tests.support.daemon import daemon_env as make_env


def _daemon(tmp_path: Path, home: Path | None = None) -> Daemon:
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    return Daemon(home or tmp_path / "home", make_env(home or tmp_path / "home", project))


def _refused(daemon: Daemon) -> str:
    with pytest.raises(RuntimeError) as caught:
        daemon.start()
    return str(caught.value)


def test_sigterm_kills_live_sessions_records_them_and_cleans_up(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path)
    daemon.start()
    ids = [
        daemon.launch(mode)["id"] for mode in ("--fake-mode=sleep", "--fake-mode=ignore-signals")
    ]
    for sid in ids:
        daemon.wait_output(sid, "ready")
    pids = harness_pids(daemon.home)
    assert len(pids) >= 3  # two harnesses and the ignoring one's child
    assert daemon.stop() == 0
    assert not any(alive(p) for p in pids)
    assert not daemon.socket.exists() and not (daemon.home / "daemon.json").exists()
    again = _daemon(tmp_path)
    again.start()
    try:
        for sid in ids:
            record = again.call("GET", f"/api/v1/sessions/{sid}").json()
            assert record["status"] == "killed"
            events = again.events(sid)
            assert events[-1]["kind"] == "exit"
            assert json.loads(events[-1]["payload_json"])["reason"] == "daemon shutdown"
    finally:
        again.stop()


def test_crash_leaves_an_orphan_that_the_next_daemon_reaps_and_explains(tmp_path: Path) -> None:
    """A crashed daemon whose session's holder is gone too: nothing to adopt.

    (With its holder alive the next daemon adopts the session: tests/reliability/
    test_holders.py.)"""
    first = _daemon(tmp_path)
    first.start()
    sid = first.launch("--fake-mode=ignore-signals")["id"]
    text = first.wait_output(sid, "ready")
    found = re.search(r"pids (\d+) (\d+)", text)
    assert found
    pids = [int(g) for g in found.groups()]
    holder = first.holder_pids()[sid]
    first.crash()
    os.kill(holder, signal.SIGKILL)
    assert all(alive(p) for p in pids), "SIGHUP-ignoring harness should outlive its holder"
    assert first.socket.exists()  # left behind: the next daemon must reclaim it
    second = _daemon(tmp_path)
    second.start()
    try:
        wait_until(lambda: not any(alive(p) for p in pids), 5, "leftover harness to be reaped")
        record = second.call("GET", f"/api/v1/sessions/{sid}").json()
        assert record["status"] == "orphaned"
        events = second.events(sid)
        metadata = [e for e in events if e["kind"] == "metadata"]
        assert metadata, events
        assert "stopped and the session's holder" in metadata[-1]["payload_json"]
        # The explanation, then the exit event clients end a turn on, last in the log.
        assert events[-1]["kind"] == "exit" and events[-2] == metadata[-1]
        ending = json.loads(events[-1]["payload_json"])
        assert ending["status"] == "orphaned" and ending["exitCode"] is None
        assert (
            "is gone" in ending["reason"] and "leftover processes were killed" in ending["reason"]
        )
        status = json.loads((second.home / "daemon.json").read_text())
        assert second.proc is not None and status["pid"] == second.proc.pid
        assert second.call("GET", "/health").status == 200
    finally:
        second.stop()


def test_second_daemon_on_a_live_home_refuses_to_start(tmp_path: Path) -> None:
    first = _daemon(tmp_path)
    first.start()
    try:
        message = _refused(_daemon(tmp_path))
        assert "another Coven daemon is already serving" in message
        assert first.call("GET", "/health").status == 200
    finally:
        first.stop()


def test_stale_socket_from_a_dead_daemon_is_reclaimed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(home / "coven.sock"))
    os.chmod(home / "coven.sock", 0o600)
    daemon = _daemon(tmp_path)
    daemon.start()
    try:
        assert daemon.call("GET", "/health").status == 200
    finally:
        daemon.stop()


@pytest.mark.parametrize("kind", ["file", "symlink"])
def test_planted_file_at_socket_path_is_refused_and_left_untouched(
    tmp_path: Path, kind: str
) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    target = tmp_path / "target"
    target.write_text("precious")
    planted = home / "coven.sock"
    if kind == "file":
        planted.write_text("planted")
    else:
        planted.symlink_to(target)
    _refused(_daemon(tmp_path))
    if kind == "file":
        assert planted.read_text() == "planted" and not planted.is_symlink()
    else:
        assert planted.is_symlink() and os.readlink(planted) == str(target)
    assert target.read_text() == "precious"


def test_symlinked_home_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    link = tmp_path / "home"
    link.symlink_to(real)
    _refused(_daemon(tmp_path, link))
    assert list(real.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_foreign_owned_home_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    os.chown(home, 1000, 1000)
    _refused(_daemon(tmp_path))
    assert list(home.iterdir()) == []


def test_files_are_private(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path)
    daemon.start()
    try:
        sid = daemon.launch("--fake-mode=exit")["id"]
        daemon.wait_status(sid, {"completed"})
        home = daemon.home
        assert stat.S_IMODE(home.stat().st_mode) == 0o700
        assert stat.S_ISSOCK(os.lstat(daemon.socket).st_mode)
        for name in ("coven.sock", "daemon.json", "coven.sqlite3", "coven.sqlite3-wal",
                     "coven.sqlite3-shm"):  # fmt: skip
            assert stat.S_IMODE(os.lstat(home / name).st_mode) == 0o600, name
        logs = [p for p in home.iterdir() if p.suffix == ".log"]
        assert logs
        for path in logs:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        daemon.stop()


def test_corrupt_database_is_refused_and_left_byte_identical(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    db = home / "coven.sqlite3"
    garbage = b"SQLite format 3\x00" + bytes(range(256)) * 64
    db.write_bytes(garbage)
    os.chmod(db, 0o600)
    _refused(_daemon(tmp_path))
    assert db.read_bytes() == garbage
    assert not (home / "coven.sock").exists()
