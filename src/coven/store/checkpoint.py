"""Checkpoints of the write-ahead log on their own thread, never inside a commit.

SQLite's automatic checkpoint runs inside the commit that crosses its threshold:
copying the log into the database and syncing both stalled that commit for
240-330 ms here (measured: 330 KB rows, 64 MiB threshold), and while the writer
stalls no output is acknowledged, the session holders fill up and the harnesses
block. So the writer's connection never checkpoints; this thread does, with its
own connection:

* a ``PASSIVE`` checkpoint once ``PASSIVE_AT_BYTES`` were committed since the last
  one, and whatever is left after ``IDLE_SECONDS``. A passive checkpoint never waits
  for the writer: both run at once, SQLite releases the GIL.
* **not while sessions' output floods in** (``FLOOD_BYTES`` of events committed within
  a second): a checkpoint copies every committed byte a second time and syncs the
  database file, and done every 16 MiB of a flood it took the two cores and the disk
  from the output itself (4 x 64 MiB floods drained ~8 % slower). During a flood the
  threshold is ``FLOOD_AT_BYTES``; the rest waits until the flood has stopped for
  ``QUIET_SECONDS``. Other writes (the search index catching up, say) keep the normal
  pace: a log left to grow under them slowed every read meanwhile.
* a ``TRUNCATE`` checkpoint when the log file has grown past ``FORCE_AT_BYTES``
  anyway (readers that never let go keep a passive checkpoint from resetting the
  log): that one makes the writer wait, once, and empties the file.

Errors (busy, locked, I/O) are kept for health and retried at the next round; a
checkpoint that does not happen loses nothing, the log just stays longer.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time

from coven.store import database
from coven.store.clock import now_rfc3339

PASSIVE_AT_BYTES = 16 * 1024 * 1024
IDLE_SECONDS = 5.0
# Events committed within one second that make a flood (no agent prints this much
# for long; `cat` of a big file, a build log, a runaway loop do), how much a flood may
# leave uncopied, and how long after it the copy waits.
FLOOD_BYTES = 4 * 1024 * 1024
FLOOD_AT_BYTES = 512 * 1024 * 1024
QUIET_SECONDS = 1.0
FORCE_AT_BYTES = 1024 * 1024 * 1024
# After a reset the writer's connection trims the log file to this (journal_size_limit).
WAL_KEEP_BYTES = 64 * 1024 * 1024


class Checkpointer:
    """Checkpoints the database at ``path`` when told how much was written."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._wal = path + "-wal"
        self._wrote = 0  # bytes committed; only the writer thread adds to it
        self._done = 0  # ``_wrote`` as of the last successful checkpoint
        # Event bytes committed in the current one-second window, and until when the
        # output counts as flooding (both only touched by the writer thread).
        self._window_at = 0.0
        self._window_bytes = 0
        self._flood_until = 0.0
        self._last_at = time.monotonic()  # of the last checkpoint (or the start)
        self._wake = threading.Event()
        self._stopping = False
        self.checkpoints = 0
        self.last_at: str | None = None
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="coven-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wrote(self, size: int, events: int = 0) -> None:
        """``size`` more bytes were committed, ``events`` of them sessions' events
        (called by the writer thread after commits)."""
        self._wrote += size
        now = time.monotonic()
        if events:
            if now - self._window_at >= 1.0:
                self._window_at, self._window_bytes = now, 0
            self._window_bytes += events
            if self._window_bytes >= FLOOD_BYTES:
                self._flood_until = now + QUIET_SECONDS
        if self._wrote - self._done >= self._limit(now):
            self._wake.set()

    def flooding(self, now: float) -> bool:
        """Sessions' output is flooding in (it was within the last ``QUIET_SECONDS``)."""
        return now < self._flood_until

    def _limit(self, now: float) -> int:
        """How much may be committed and not yet copied before a checkpoint is due."""
        return FLOOD_AT_BYTES if self.flooding(now) else PASSIVE_AT_BYTES

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(30.0)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stopping:
                # Short rounds: a flood's backlog (past PASSIVE_AT_BYTES) is copied within
                # a round of the flood's end, not at the next IDLE_SECONDS tick.
                self._wake.wait(QUIET_SECONDS)
                self._wake.clear()
                if self._stopping or self._wrote == self._done:
                    continue
                now = time.monotonic()
                idle_due = not self.flooding(now) and now - self._last_at >= IDLE_SECONDS
                if self._wrote - self._done < self._limit(now) and not idle_due:
                    continue
                if conn is None:
                    conn = database.connect(self._path)
                self._checkpoint(conn)
        finally:
            if conn is not None:
                conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        target = self._wrote
        try:
            size = os.stat(self._wal).st_size
        except OSError:
            size = 0
        mode = "TRUNCATE" if size >= FORCE_AT_BYTES else "PASSIVE"
        try:
            conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
        except sqlite3.Error as exc:
            self.last_error = f"{mode.lower()} checkpoint failed: {exc}"
            return
        self._done = target
        self._last_at = time.monotonic()
        self.checkpoints += 1
        self.last_at = now_rfc3339()
        self.last_error = None
