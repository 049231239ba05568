"""Process control by session: signal, list, kill and reap what a harness left running.

A harness runs as the leader of its own session and process group
(pid == pgid == sid), so its session id is its pid. Children that move to another
process group (job control in a shell) stay in the session; those are found by
scanning ``/proc``. A grandchild that calls ``setsid()`` itself leaves the session
and is out of reach here: nothing on Linux links it back without a cgroup.

Zombies are never counted as members: they run no code, and a zombie whose
parent is a non-reaping PID 1 would otherwise look alive forever.

Only call these for a session you own: a live session's id cannot be reused by
the kernel, but once the whole session is gone and reaped its number can be.
``reap_orphan`` guards that case with the leader's start time.
"""

from __future__ import annotations

import os
import signal
import time

from coven.pty.procfs import ProcStat, iter_processes, read_stat

_POLL_INTERVAL = 0.02


def _send(pid: int, sig: int) -> bool:
    """``kill(pid, sig)``; False when the target (process or group) has vanished."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        # Not ours (another user's process): never an error for the caller, just untouched.
        return False
    return True


def _belongs(stat: ProcStat, sid: int) -> bool:
    if stat.is_dead:
        return False
    if stat.sid == sid or stat.pgid == sid:
        return True
    # The window right after spawn: our child has exec'd the setsid helper but not
    # yet called setsid(), so it is still in our own session.
    return stat.pid == sid and stat.ppid == os.getpid()


def session_members(sid: int) -> list[int]:
    """Live (non-zombie) pids whose session id or process group id is ``sid``, sorted.

    Returns an empty list for a non-positive ``sid``.
    """
    if sid <= 0:
        return []
    return sorted(stat.pid for stat in iter_processes() if _belongs(stat, sid))


def signal_session(sid: int, sig: int) -> int:
    """Send ``sig`` to process group ``sid`` and to every other live member of session ``sid``.

    Each process is signalled once (the group by ``kill(-sid)``, the rest one by
    one), so a harness that counts Ctrl-C presses never sees one signal twice.
    Returns how many live processes were signalled; vanished processes are
    skipped silently. A non-positive ``sid`` signals nothing and returns 0
    (``kill(0)``/``kill(-1)`` would hit the daemon itself or everything).
    """
    if sid <= 0:
        return 0
    # Take the census first: a SIGKILL'd leader turns zombie at once and would
    # otherwise drop out of the count.
    members = [stat for stat in iter_processes() if _belongs(stat, sid)]
    group_signalled = _send(-sid, sig)
    count = 0
    for stat in members:
        # Group members already got the signal from kill(-sid).
        already = group_signalled and stat.pgid == sid
        if already or _send(stat.pid, sig):
            count += 1
    return count


def _wait_empty(sid: int, deadline: float) -> bool:
    while True:
        if not session_members(sid):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_INTERVAL)


def kill_session_tree(sid: int, grace: float = 2.0) -> bool:
    """Hang up and terminate session ``sid``; SIGKILL what is left after ``grace`` seconds.

    Blocking (it sleeps while polling): for daemon shutdown and startup reaping,
    never for the event loop. Sends SIGHUP and SIGTERM, then SIGCONT so a stopped
    process can act on them. Returns True when no member remains (zombies do not
    count; reaping the leader is the caller's job via ``PtyChild.poll_exit``).
    """
    if sid <= 0:
        return True
    if not session_members(sid):
        return True
    signal_session(sid, signal.SIGHUP)
    signal_session(sid, signal.SIGTERM)
    signal_session(sid, signal.SIGCONT)
    if _wait_empty(sid, time.monotonic() + max(grace, 0.0)):
        return True
    signal_session(sid, signal.SIGKILL)
    # SIGKILL cannot be ignored; the short wait only covers the kernel tearing
    # down the processes (and uninterruptible sleeps).
    return _wait_empty(sid, time.monotonic() + 1.0)


def reap_orphan(pid: int, start_time: int | None) -> bool:
    """SIGKILL what is left of session ``pid`` after a daemon crash, if it is provably ours.

    ``pid`` and ``start_time`` are what the crashed daemon recorded for the
    harness (the session leader). Survivors are killed only when the leader is
    gone (exited, or a zombie) or is still the same process (its current start
    time equals ``start_time``). A live leader with another start time, or with
    no recorded start time, is someone else's process reusing the pid: nothing is
    touched. Members that started before ``start_time`` cannot belong to our
    session and are never touched either. Returns whether anything was signalled.

    Residual risk (documented, not guarded): if our whole session ended, its pid
    was reused by another program that called setsid(), and that program's
    leader then exited leaving children, those children look like our survivors.
    """
    if pid <= 0:
        return False
    leader = read_stat(pid)
    if (
        leader is not None
        and not leader.is_dead
        and (start_time is None or leader.start_time != start_time)
    ):
        return False
    killed = False
    for stat in iter_processes():
        if stat.is_dead or not (stat.sid == pid or stat.pgid == pid):
            continue
        if start_time is not None and stat.start_time < start_time:
            continue
        if _send(stat.pid, signal.SIGKILL):
            killed = True
    return killed
