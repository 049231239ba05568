"""Persistence faults against a real daemon: a locked database, a full disk, a vanished row.

The store writer never latches dead: while SQLite reports the storage busy or
full it keeps ops queued, reports ``degraded``, refuses new work with 503
``storage_unavailable``, stops reading the flooding PTY (backpressure), and
recovers by itself. These tests check each of those promises end to end and
that, after recovery, every byte a harness wrote is stored exactly once.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import wait_until
from tests.reliability.support import health_latency
from tests.support.daemon import Daemon, daemon_env, running_daemon
from tests.support.flood import expected_flood, stored_output

MIB = 1024 * 1024

# A separate process takes the write lock; busy_timeout=0 so it never waits
# inside SQLite, and it retries BEGIN EXCLUSIVE until it wins a gap between the
# daemon's commits. It says "locked" once it holds the lock and "released" after.
LOCK_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA busy_timeout = 0")
sys.stdin.readline()
deadline = time.monotonic() + 10
while True:
    try:
        conn.execute("BEGIN EXCLUSIVE")
        break
    except sqlite3.OperationalError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.001)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
print("released", flush=True)
"""


# -- helpers -------------------------------------------------------------------------------


def assert_flood_stored(daemon: Daemon, sid: str, total: int, why: str = "") -> None:
    stored, kinds = stored_output(daemon, sid)
    assert "output_truncated" not in kinds, f"{why}output was truncated"
    assert kinds and kinds[-1] == "exit", f"{why}exit is not the last event: {kinds[-3:]}"
    _head, marker, flood = stored.partition(b"ready\r\n")
    assert marker, stored[:300]
    expected = expected_flood(total)
    assert len(flood) == len(expected), f"{why}stored {len(flood)} of {len(expected)} bytes"
    assert flood == expected, f"{why}stored output differs from the emitted flood"


def health(daemon: Daemon) -> dict[str, Any]:
    reply = daemon.call("GET", "/health", timeout=5)
    assert reply.status == 200, reply.body[:300]
    document: dict[str, Any] = reply.json()
    return document


def wait_health(daemon: Daemon, state: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        document = health(daemon)
        if document["eventWriter"]["state"] == state:
            return document
        if time.monotonic() > deadline:
            raise AssertionError(f"writer stayed {document['eventWriter']} (wanted {state})")
        time.sleep(0.05)


def harness_pids(
    session_id: str | None = None, argv_has: str | None = None, home: str | None = None
) -> list[int]:
    """Live (non-zombie) harness processes: by ``COVEN_SESSION_ID``, an argv substring
    and/or the ``COVEN_HOME`` of the daemon that started them (other test runs on the
    same machine start fake harnesses too)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes().split(b"\0")
            exe = os.readlink(entry / "exe")
        except OSError:
            continue
        # A version-manager shim (pyenv: bash scripts) runs helpers with the same argv
        # and env before it execs the interpreter; only the interpreter is the harness.
        if not Path(exe).name.startswith("python"):
            continue
        if state == "Z" or (b"fake_harness" not in cmdline and b"fakes/bin" not in cmdline):
            continue
        if session_id is not None and f"COVEN_SESSION_ID={session_id}".encode() not in environ:
            continue
        if argv_has is not None and argv_has.encode() not in cmdline:
            continue
        if home is not None and f"COVEN_HOME={home}".encode() not in environ:
            continue
        found.append(int(entry.name))
    return found


def wait_harness(session_id: str, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while True:
        pids = harness_pids(session_id)
        if pids:
            return pids[0]
        assert time.monotonic() < deadline, f"no harness process for session {session_id}"
        time.sleep(0.01)


def bytes_written(pid: int) -> int:
    """``wchar`` from /proc/<pid>/io: bytes the process has passed to write()."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar")


def assert_harness_blocked(pid: int, settle: float, quiet: float) -> None:
    """Wait (at most ``settle`` s) until ``pid`` has written nothing for ``quiet`` s."""
    deadline = time.monotonic() + settle
    last = bytes_written(pid)
    while True:
        time.sleep(quiet)
        now = bytes_written(pid)
        if now == last:
            return
        assert time.monotonic() < deadline, "the harness never blocked on a full disk"
        last = now


def session_ids(daemon: Daemon) -> set[str]:
    reply = daemon.call("GET", "/api/v1/sessions")
    assert reply.status == 200, reply.body[:300]
    return {record["id"] for record in reply.json()}


def assert_refused_launch(daemon: Daemon) -> None:
    """A launch while storage is down: 503 storage_unavailable, and no process spawned."""
    # Only this launch uses sleep mode in these tests, so its argv identifies it.
    body = {
        "projectRoot": daemon.env["COVEN_TEST_PROJECT"],
        "harness": "codex",
        "prompt": "--fake-mode=sleep",
    }
    reply = daemon.call("POST", "/api/v1/sessions", body)
    assert reply.status == 503, reply.body[:300]
    assert reply.json()["error"]["code"] == "storage_unavailable", reply.body[:300]
    time.sleep(0.2)
    spawned = harness_pids(argv_has="--fake-mode=sleep", home=daemon.env["COVEN_HOME"])
    assert not spawned, "a refused launch spawned a harness"


@contextlib.contextmanager
def drained_stderr(daemon: Daemon) -> Iterator[None]:
    """Keep reading the daemon's stderr pipe so a noisy fault can never block it on write."""
    proc = daemon.proc
    assert proc is not None and proc.stderr is not None
    stream = proc.stderr

    def pump() -> None:
        with contextlib.suppress(OSError, ValueError):
            while stream.read(65536):
                pass

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    yield


# -- 1. database locked by another process ---------------------------------------------------


@pytest.mark.timeout(90)
def test_database_locked_by_another_process_degrades_then_recovers_losslessly(
    tmp_path: Path,
) -> None:
    total = 48 * MIB
    with running_daemon(tmp_path, {"FAKE_BYTES": str(total)}) as daemon:
        holder = subprocess.Popen(
            [sys.executable, "-c", LOCK_HOLDER, str(daemon.home / "coven.sqlite3"), "5"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdin is not None and holder.stdout is not None
            sid = daemon.launch("--fake-mode=flood")["id"]
            harness = wait_harness(sid)
            holder.stdin.write("go\n")
            holder.stdin.flush()
            assert holder.stdout.readline() == "locked\n"
            locked_at = time.monotonic()

            degraded = wait_health(daemon, "degraded", timeout=2)
            assert degraded["storage"]["status"] == "degraded"
            assert "lock" in degraded["eventWriter"]["lastError"].lower()
            latencies = [health_latency(daemon) for _ in range(10)]
            assert max(latencies) < 1.0, latencies
            assert_refused_launch(daemon)
            # WAL mode: an exclusive *write* lock does not block readers, so pages
            # of sessions and events keep being served from the last commit.
            assert daemon.call("GET", "/api/v1/sessions").status == 200
            assert daemon.call("GET", f"/api/v1/sessions/{sid}").json()["status"] == "running"
            assert daemon.call("GET", f"/api/v1/events?sessionId={sid}&limit=5").status == 200
            # Backpressure: the flood is still alive but blocked on its own write.
            assert harness_pids(sid) == [harness], "the flood ended while the store was locked"
            assert_harness_blocked(harness, settle=2.0, quiet=0.3)
            before = bytes_written(harness)
            time.sleep(0.5)
            assert bytes_written(harness) == before, "the PTY kept being read while locked"
            queued = health(daemon)["eventWriter"]["queuedBytes"]
            assert 0 < queued < 16 * MIB, queued
            assert time.monotonic() - locked_at < 4.5, "checks outlasted the lock; lengthen it"

            assert holder.stdout.readline() == "released\n"
            assert holder.wait(timeout=5) == 0
            recovered = wait_health(daemon, "healthy", timeout=5)
            assert recovered["storage"]["status"] in {"ok", "warning"}  # warning: < 1 GiB free
            after = daemon.launch("--fake-mode=exit")
            assert daemon.wait_status(after["id"], {"completed"})["exit_code"] == 0

            record = daemon.wait_status(sid, {"completed", "failed"}, timeout=60)
            assert record["status"] == "completed", record
            assert_flood_stored(daemon, sid, total)
            assert session_ids(daemon) == {sid, after["id"]}, "the refused launch wrote a row"
        finally:
            if holder.poll() is None:
                holder.kill()
            holder.wait()
            for pipe in (holder.stdin, holder.stdout):
                if pipe is not None:
                    pipe.close()


# -- 2. disk full -----------------------------------------------------------------------------


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill (needs root): {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False, capture_output=True)


@pytest.mark.timeout(90)
def test_disk_full_degrades_blocks_the_harness_and_recovers_losslessly(
    tmp_path: Path, small_tmpfs: Path
) -> None:
    total = 24 * MIB
    home = small_tmpfs / "home"
    project = tmp_path / "project"
    project.mkdir()
    daemon = Daemon(home, daemon_env(home, project, {"FAKE_BYTES": str(total)}))
    daemon.start()
    try:
        with drained_stderr(daemon):
            sid = daemon.launch("--fake-mode=flood")["id"]
            harness = wait_harness(sid)

            deadline = time.monotonic() + 30
            while True:
                document = health(daemon)
                writer = document["eventWriter"]
                if writer["state"] == "degraded" and "full" in writer.get("lastError", "").lower():
                    break
                assert time.monotonic() < deadline, f"never filled the disk: {writer}"
                time.sleep(0.05)
            assert document["storage"]["status"] == "degraded"
            latencies = [health_latency(daemon) for _ in range(10)]
            assert max(latencies) < 1.0, latencies
            assert_refused_launch(daemon)
            assert daemon.call("GET", f"/api/v1/sessions/{sid}").json()["status"] == "running"
            # Nothing dropped: the harness is alive and blocked on its write.
            assert harness_pids(sid) == [harness], "the flood ended while the disk was full"
            # Reading stops once the bounded backlog behind the failing writer is
            # full; on a loaded machine that can take a moment after "degraded".
            # Then the harness stays blocked: no byte is read while the disk is full.
            assert_harness_blocked(harness, settle=20.0, quiet=0.5)
            before = bytes_written(harness)
            time.sleep(0.5)
            assert bytes_written(harness) == before, "the PTY kept being read on a full disk"
            assert health(daemon)["eventWriter"]["droppedOutputBytes"] == 0

            # Room again: more than 1 GiB free (a limit, not memory; the flood is 24 MiB),
            # so health says ok, not warning or critical (under 1 GiB, 256 MiB free).
            subprocess.run(
                ["mount", "-o", "remount,size=2g", str(small_tmpfs)],
                check=True,
                capture_output=True,
            )
            wait_health(daemon, "healthy", timeout=10)
            # Health reads the disk at most once a second: the figure catches up.
            wait_until(lambda: health(daemon)["storage"]["status"] == "ok", 5, "storage ok")
            record = daemon.wait_status(sid, {"completed", "failed"}, timeout=60)
            assert record["status"] == "completed", record
            assert_flood_stored(daemon, sid, total)
            after = daemon.launch("--fake-mode=exit")
            assert daemon.wait_status(after["id"], {"completed"})["exit_code"] == 0
    finally:
        daemon.stop()


# -- 3/4. a session's row deleted while its process still writes ------------------------------


@pytest.mark.timeout(90)
def test_a_session_deleted_under_a_live_process_never_stops_recording_for_others(
    tmp_path: Path,
) -> None:
    total = 32 * MIB
    with running_daemon(tmp_path, {"FAKE_BYTES": str(total)}) as daemon:
        sid_a = daemon.launch("--fake-mode=flood")["id"]
        sid_b = daemon.launch("--fake-mode=flood")["id"]
        harness_a = wait_harness(sid_a)

        conn = sqlite3.connect(str(daemon.home / "coven.sqlite3"), isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 10000")
            conn.execute("PRAGMA foreign_keys = ON")
            assert harness_pids(sid_a) == [harness_a], "A finished before its row was deleted"
            deleted = conn.execute("DELETE FROM sessions WHERE id = ?", (sid_a,)).rowcount
        finally:
            conn.close()
        assert deleted == 1

        why = "one bad session (A's row vanished) must never stop recording for B: "
        record_b = daemon.wait_status(sid_b, {"completed", "failed"}, timeout=60)
        assert record_b["status"] == "completed", f"{why}{record_b}"
        assert_flood_stored(daemon, sid_b, total, why)

        deadline = time.monotonic() + 30
        while health(daemon)["liveSessions"] != 0:
            assert time.monotonic() < deadline, "A never ended after its row was deleted"
            time.sleep(0.05)
        assert not harness_pids(sid_a)
        assert daemon.proc is not None and daemon.proc.poll() is None, "the daemon died"
        document = wait_health(daemon, "healthy", timeout=5)
        assert document["storage"]["status"] in {"ok", "warning"}  # warning: < 1 GiB free
        assert daemon.call("GET", f"/api/v1/sessions/{sid_a}").status == 404
        gone = daemon.call("GET", f"/api/v1/events?sessionId={sid_a}")
        assert gone.status == 404, "A's events outlived its row"
        after = daemon.launch("--fake-mode=exit")
        assert daemon.wait_status(after["id"], {"completed"})["exit_code"] == 0
