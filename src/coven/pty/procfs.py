"""Reading process facts from ``/proc`` (Linux).

Every function here tolerates processes that vanish while being read: a process
that is gone is reported as absent (``None`` or left out), never as an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NamedTuple

_PROC = "/proc"


class ProcStat(NamedTuple):
    """The fields of ``/proc/<pid>/stat`` that process control needs.

    A NamedTuple, not a dataclass: the holders' fork server imports this, and
    ``dataclasses`` (with ``inspect``) would be ~8 ms of every cold start."""

    pid: int
    state: str
    ppid: int
    pgid: int
    sid: int
    start_time: int
    """Field 22: clock ticks after boot at which the process started (survives exec)."""

    @property
    def is_dead(self) -> bool:
        """True for zombies (``Z``) and dying tasks (``X``): they run no code any more."""
        return self.state in ("Z", "X")


def parse_stat(pid: int, text: str) -> ProcStat | None:
    """Parse the text of ``/proc/<pid>/stat``; ``None`` when it is malformed.

    The command name (field 2) is in parentheses and may itself contain spaces
    and parentheses, so fields are counted from the *last* ``)``.
    """
    end = text.rfind(")")
    if end < 0:
        return None
    rest = text[end + 1 :].split()
    # rest[0] is field 3 (state); field n is rest[n - 3].
    if len(rest) < 20:
        return None
    try:
        return ProcStat(
            pid=pid,
            state=rest[0],
            ppid=int(rest[1]),
            pgid=int(rest[2]),
            sid=int(rest[3]),
            start_time=int(rest[19]),
        )
    except ValueError:
        return None


def read_stat(pid: int) -> ProcStat | None:
    """The stat of ``pid``, or ``None`` when no such process exists (or pid is not positive)."""
    if pid <= 0:
        return None
    try:
        with open(f"{_PROC}/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    return parse_stat(pid, text)


def proc_start_time(pid: int) -> int | None:
    """Start time (field 22 of ``/proc/<pid>/stat``) of ``pid``; ``None`` if it does not exist.

    A zombie still has its start time; together with the pid it identifies one
    process across pid reuse.
    """
    stat = read_stat(pid)
    return None if stat is None else stat.start_time


def iter_processes() -> Iterator[ProcStat]:
    """Every process visible in ``/proc`` at the time each entry is read."""
    try:
        names = os.listdir(_PROC)
    except OSError:
        return
    for name in names:
        if not name.isdigit():
            continue
        stat = read_stat(int(name))
        if stat is not None:
            yield stat
