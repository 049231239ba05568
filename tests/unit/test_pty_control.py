"""Session-wide signalling, kill escalation and orphan reaping with real process trees."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

from coven.pty import (
    ExitStatus,
    PtyChild,
    kill_session_tree,
    proc_start_time,
    reap_orphan,
    session_members,
    signal_session,
)
from coven.pty.procfs import parse_stat, read_stat
from tests.fakes.ptyio import Spawner, pid_alive, read_until, wait_dead, wait_exit


def start_stubborn(spawner: Spawner, **extra: str) -> tuple[PtyChild, int]:
    """A harness ignoring HUP/TERM/INT with a forked child that ignores them too."""
    child = spawner("ignore-signals", **extra)
    out = read_until(child, b"ready").decode()
    match = re.search(r"pids (\d+) (\d+)", out)
    assert match is not None, out
    assert int(match[1]) == child.pid
    grandchild = int(match[2])
    spawner.extra_pids.append(grandchild)
    return child, grandchild


def test_session_members_lists_leader_and_child(spawner: Spawner) -> None:
    child, grandchild = start_stubborn(spawner)
    assert session_members(child.pid) == sorted([child.pid, grandchild])


@pytest.mark.parametrize("sid", [0, -1, -12345])
def test_non_positive_sid_is_never_signalled(sid: int) -> None:
    # kill(0)/kill(-1) would hit the test process or everything it may signal.
    assert signal_session(sid, signal.SIGTERM) == 0
    assert session_members(sid) == []
    assert kill_session_tree(sid, grace=0.0) is True
    assert reap_orphan(sid, None) is False


def test_signal_session_reaches_every_member_once(spawner: Spawner) -> None:
    child, grandchild = start_stubborn(spawner)
    # Both ignore SIGTERM: the count says who was signalled without killing them.
    assert signal_session(child.pid, signal.SIGTERM) == 2
    assert pid_alive(child.pid) and pid_alive(grandchild)


def test_signal_session_reaches_a_member_that_left_the_group(spawner: Spawner) -> None:
    child, grandchild = start_stubborn(spawner, FAKE_CHILD_OWN_GROUP="1")
    deadline = time.monotonic() + 5
    while os.getpgid(grandchild) != grandchild:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert os.getsid(grandchild) == child.pid
    assert grandchild in session_members(child.pid)
    assert signal_session(child.pid, signal.SIGKILL) == 2
    assert wait_dead(grandchild)
    assert wait_exit(child) == ExitStatus(code=None, signal=signal.SIGKILL)


def test_signal_session_of_a_vanished_session_is_zero(spawner: Spawner) -> None:
    child = spawner("exit")
    wait_exit(child)
    assert signal_session(child.pid, signal.SIGTERM) == 0
    assert session_members(child.pid) == []


def test_kill_session_tree_graceful_for_a_normal_harness(spawner: Spawner) -> None:
    child = spawner("sleep")
    read_until(child, b"ready")
    started = time.monotonic()
    assert kill_session_tree(child.pid, grace=5.0) is True
    assert time.monotonic() - started < 2.0  # did not sit out the grace period
    status = wait_exit(child)
    assert status == ExitStatus(code=None, signal=signal.SIGHUP)


def test_kill_session_tree_escalates_to_sigkill_for_signal_ignorers(spawner: Spawner) -> None:
    child, grandchild = start_stubborn(spawner)
    started = time.monotonic()
    assert kill_session_tree(child.pid, grace=0.3) is True
    assert time.monotonic() - started >= 0.3
    assert not pid_alive(grandchild)
    assert wait_exit(child) == ExitStatus(code=None, signal=signal.SIGKILL)
    assert session_members(child.pid) == []


def test_setsid_grandchild_is_out_of_reach(spawner: Spawner) -> None:
    """Documented limit: a grandchild that calls setsid() leaves the session for good."""
    child, grandchild = start_stubborn(spawner, FAKE_SETSID_CHILD="1")
    deadline = time.monotonic() + 5
    while os.getsid(grandchild) != grandchild:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert kill_session_tree(child.pid, grace=0.1) is True
    assert pid_alive(grandchild)  # survives; the fixture kills it by pid


def test_reap_orphan_kills_survivors_of_a_dead_leader(spawner: Spawner) -> None:
    child, grandchild = start_stubborn(spawner)
    start = child.start_time
    os.kill(child.pid, signal.SIGKILL)
    wait_exit(child)  # the leader is gone and reaped, as after a daemon crash
    assert pid_alive(grandchild)
    assert reap_orphan(child.pid, start) is True
    assert wait_dead(grandchild)
    assert reap_orphan(child.pid, start) is False  # nothing left


def test_reap_orphan_with_a_zombie_leader_counts_it_as_gone(spawner: Spawner) -> None:
    child, grandchild = start_stubborn(spawner)
    os.kill(child.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while (stat := read_stat(child.pid)) is not None and not stat.is_dead:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert reap_orphan(child.pid, None) is True
    assert wait_dead(grandchild)


def test_reap_orphan_kills_a_live_leader_with_the_recorded_start_time(spawner: Spawner) -> None:
    child, grandchild = start_stubborn(spawner)
    assert reap_orphan(child.pid, child.start_time) is True
    assert wait_exit(child) == ExitStatus(code=None, signal=signal.SIGKILL)
    assert wait_dead(grandchild)


def test_reap_orphan_never_touches_a_leader_with_another_start_time(spawner: Spawner) -> None:
    child, grandchild = start_stubborn(spawner)
    assert child.start_time is not None
    assert reap_orphan(child.pid, child.start_time - 1) is False
    assert reap_orphan(child.pid, child.start_time + 1) is False
    assert reap_orphan(child.pid, None) is False  # unverifiable: hands off
    time.sleep(0.1)
    assert pid_alive(child.pid) and pid_alive(grandchild)
    assert child.poll_exit() is None


def test_reap_orphan_skips_processes_older_than_the_recorded_leader(spawner: Spawner) -> None:
    child, grandchild = start_stubborn(spawner)
    assert child.start_time is not None
    os.kill(child.pid, signal.SIGKILL)
    wait_exit(child)
    # A start time later than the survivor's own: it cannot be from that session.
    assert reap_orphan(child.pid, child.start_time + 10**9) is False
    assert pid_alive(grandchild)


def test_reap_orphan_of_nothing_is_false() -> None:
    assert reap_orphan(2**22 + 12345, 1) is False  # above pid_max's default range


def test_proc_start_time() -> None:
    own = proc_start_time(os.getpid())
    assert isinstance(own, int) and own > 0
    assert proc_start_time(os.getppid()) is not None
    assert proc_start_time(os.getppid()) <= own  # type: ignore[operator]
    assert proc_start_time(0) is None
    assert proc_start_time(-5) is None
    assert proc_start_time(2**22 + 12345) is None


def test_parse_stat_handles_hostile_command_names() -> None:
    fields = " ".join(["S", "1", "77", "77"] + ["0"] * 15 + ["4242"] + ["0"] * 10)
    stat = parse_stat(99, f"99 (a) b (c) {fields}")
    assert stat is not None
    assert (stat.state, stat.ppid, stat.pgid, stat.sid, stat.start_time) == ("S", 1, 77, 77, 4242)
    assert parse_stat(99, "garbage") is None
    assert parse_stat(99, "99 (x) S 1 2") is None
    assert parse_stat(99, f"99 (x) {fields.replace('4242', 'xx')}") is None
