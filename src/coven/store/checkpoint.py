"""Checkpoints of the write-ahead log on their own thread, never inside a commit.

SQLite's automatic checkpoint runs inside the commit that crosses its threshold:
copying the log into the database and syncing both stalled that commit for
240-330 ms here (measured: 330 KB rows, 64 MiB threshold), and while the writer
stalls no output is acknowledged, the session holders fill up and the harnesses
block. So the writer's connection never checkpoints; this thread does, with its
own connection, and mostly when output has paused:

* a ``PASSIVE`` checkpoint once nothing was committed for ``QUIET_SECONDS`` (an agent
  thinking, its user reading), or at once when ``PASSIVE_AT_BYTES`` were committed
  since the last one. A checkpoint copies every committed byte a second time and syncs
  the database file: run every 16 MiB, as it was, it took the cores and the disk from
  live output exactly while output was heaviest (4 x 64 MiB floods drained ~10 %
  slower). A passive checkpoint never waits for the writer: both run at once, SQLite
  releases the GIL.
* a ``TRUNCATE`` checkpoint when the log file has grown past ``FORCE_AT_BYTES`` anyway
  (readers that never let go keep a passive checkpoint from resetting the log): that
  one makes the writer wait, once, and empties the file.

So the log holds at most about ``PASSIVE_AT_BYTES`` not yet copied, and its file stays
under ``FORCE_AT_BYTES`` but for a reader that holds a snapshot meanwhile. Errors
(busy, locked, I/O) are kept for health and retried at the next round; a checkpoint
that does not happen loses nothing, the log just stays longer.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from coven.store import database
from coven.store.clock import now_rfc3339

PASSIVE_AT_BYTES = 512 * 1024 * 1024
FORCE_AT_BYTES = 1024 * 1024 * 1024
QUIET_SECONDS = 1.0
# After a reset the writer's connection trims the log file to this (journal_size_limit).
WAL_KEEP_BYTES = 64 * 1024 * 1024


class Checkpointer:
    """Checkpoints the database at ``path`` when told how much was written."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._wal = path + "-wal"
        self._wrote = 0  # bytes committed; only the writer thread adds to it
        self._done = 0  # ``_wrote`` as of the last successful checkpoint
        self._wake = threading.Event()
        self._stopping = False
        self.checkpoints = 0
        self.last_at: str | None = None
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name="coven-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wrote(self, size: int) -> None:
        """``size`` more bytes were committed (called by the writer thread after commits)."""
        self._wrote += size
        if self._wrote - self._done >= PASSIVE_AT_BYTES:
            self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(30.0)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        seen = self._wrote  # what had been committed at the previous round
        try:
            while not self._stopping:
                urgent = self._wake.wait(QUIET_SECONDS)  # set: past PASSIVE_AT_BYTES
                self._wake.clear()
                wrote = self._wrote
                quiet, seen = wrote == seen, wrote
                if self._stopping or wrote == self._done or not (urgent or quiet):
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
        self.checkpoints += 1
        self.last_at = now_rfc3339()
        self.last_error = None
