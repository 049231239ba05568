"""Readers: thread-safe, read-only queries over the store.

Each thread gets its own ``query_only`` connection; every public method is a
single SELECT, so it sees one consistent WAL snapshot and never blocks the
writer.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from coven.schema.vocabulary import SessionStatus
from coven.store import database
from coven.store import search as fts
from coven.store.errors import StoreCorrupt
from coven.store.maintenance import last_prune_at
from coven.store.rows import (
    EVENT_COLUMNS,
    SESSION_COLUMNS,
    EventRow,
    SessionRow,
    event_from_row,
    session_from_row,
)
from coven.store.search import PruneCandidate, SearchHit

_SESSION_SELECT = f"SELECT {', '.join(SESSION_COLUMNS)} FROM sessions"
_EVENT_SELECT = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events"


def sessions_page_query(
    include_archived: bool, limit: int | None, before: tuple[str, str] | None
) -> tuple[str, list[Any]]:
    """The SQL of ``StoreReader.list_sessions``. The cursor is a row-value comparison:
    SQLite searches the ``(created_at DESC, id DESC)`` index with it, so any page costs
    what the first does (the spelled-out ``a < ? OR (a = ? AND b < ?)`` scans the index
    from the newest row: 35 ms for the last page of 100,000 sessions)."""
    where: list[str] = []
    params: list[Any] = []
    if not include_archived:
        where.append("archived_at IS NULL")
    if before is not None:
        where.append("(created_at, id) < (?, ?)")
        params += list(before)
    sql = _SESSION_SELECT
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at DESC, id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


def _events_after(session_id: str, after_seq: int, limit: int | None) -> tuple[str, list[Any]]:
    """The SQL of a session's events with ``seq > after_seq``, ascending, at most ``limit``."""
    if limit is not None and limit < 0:
        raise ValueError("limit must be >= 0")
    sql = f"{_EVENT_SELECT} WHERE session_id = ? AND seq > ? ORDER BY seq"
    params: list[Any] = [session_id, after_seq]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


class StoreReader:
    """Read access for any thread. ``close()`` closes every thread's connection."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._closed = False

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError("StoreReader is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                if self._closed:
                    raise RuntimeError("StoreReader is closed")
                conn = database.connect(self._path, query_only=True)
                self._conns.append(conn)
            self._local.conn = conn
        return conn

    @contextmanager
    def _query(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._conn()
        except sqlite3.DatabaseError as exc:
            if database.is_corrupt(exc):
                raise StoreCorrupt(f"{self._path} is damaged: {exc}", {"path": self._path}) from exc
            raise

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()

    # -- sessions --------------------------------------------------------

    def get_session(self, session_id: str) -> SessionRow | None:
        with self._query() as conn:
            row = conn.execute(f"{_SESSION_SELECT} WHERE id = ?", (session_id,)).fetchone()
        return None if row is None else session_from_row(row)

    def session_by_conversation(self, conversation_id: str) -> SessionRow | None:
        """The newest session that recorded ``conversation_id`` as its harness conversation."""
        with self._query() as conn:
            row = conn.execute(
                f"{_SESSION_SELECT} WHERE conversation_id = ? ORDER BY created_at DESC, id DESC"
                " LIMIT 1",
                (conversation_id,),
            ).fetchone()
        return None if row is None else session_from_row(row)

    def lane_sessions(self, worktree_path: str) -> list[SessionRow]:
        """Every session recorded as running in the lane at ``worktree_path`` (oldest first)."""
        with self._query() as conn:
            rows = conn.execute(
                f"{_SESSION_SELECT} WHERE worktree_path = ? ORDER BY created_at, id",
                (worktree_path,),
            ).fetchall()
        return [session_from_row(row) for row in rows]

    def list_sessions(
        self,
        *,
        include_archived: bool = False,
        limit: int | None = None,
        before: tuple[str, str] | None = None,
    ) -> list[SessionRow]:
        """Sessions newest first (``created_at DESC, id DESC``).

        ``before`` = ``(created_at, id)`` of the last row of the previous page;
        only rows strictly less are returned (keyset pagination).
        """
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        sql, params = sessions_page_query(include_archived, limit, before)
        with self._query() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [session_from_row(row) for row in rows]

    def explain(self, sql: str, params: Sequence[Any]) -> list[str]:
        """SQLite's query plan for ``sql`` (one detail line per step)."""
        with self._query() as conn:
            return [str(row[3]) for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]

    def running_sessions(self) -> list[SessionRow]:
        """Sessions the daemon launched that are recorded as running (startup recovery)."""
        with self._query() as conn:
            rows = conn.execute(
                f"{_SESSION_SELECT} WHERE status = ? AND external = 0 ORDER BY created_at, id",
                (SessionStatus.RUNNING,),
            ).fetchall()
        return [session_from_row(row) for row in rows]

    # -- events ----------------------------------------------------------

    def list_events(
        self, session_id: str, *, after_seq: int = 0, limit: int | None = None
    ) -> list[EventRow]:
        """A session's events with ``seq > after_seq``, ascending, at most ``limit``."""
        sql, params = _events_after(session_id, after_seq, limit)
        with self._query() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [event_from_row(row) for row in rows]

    def events_page(
        self,
        session_id: str,
        after_seq: int,
        limit: int | None,
        size: Callable[[EventRow], int],
        budget: int,
    ) -> tuple[list[EventRow], bool, EventRow | None]:
        """Events with ``seq > after_seq`` while their ``size``s fit in ``budget``; also
        "is there more" and, when the very first event alone is over the budget, that event.

        One statement stepped a row at a time: a page of large events reads what it
        returns plus at most the one row that did not fit, never a fixed batch (four
        1 MiB output rows were read for every one a 4 MiB page returned, which was most
        of the daemon's CPU while clients followed several floods). "More" after a full
        ``limit`` is answered from the ``(session_id, seq)`` index, without a payload.
        """
        sql, params = _events_after(session_id, after_seq, limit)
        out: list[EventRow] = []
        with self._query() as conn:
            cur = conn.execute(sql, params)
            try:
                for raw in cur:
                    row = event_from_row(raw)
                    budget -= size(row)
                    if budget < 0:
                        return out, True, None if out else row
                    out.append(row)
            finally:
                cur.close()
            if limit is None or len(out) < limit or not out:
                return out, False, None
            more = conn.execute(
                "SELECT 1 FROM events WHERE session_id = ? AND seq > ? LIMIT 1",
                (session_id, out[-1].seq),
            ).fetchone()
        return out, more is not None, None

    def events_before(self, session_id: str, before_seq: int, limit: int) -> list[EventRow]:
        """A session's events with ``seq < before_seq``, newest first, at most ``limit``
        (reading a long log from its end costs what is read, not the log's length)."""
        if limit < 0:
            raise ValueError("limit must be >= 0")
        sql = f"{_EVENT_SELECT} WHERE session_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?"
        with self._query() as conn:
            rows = conn.execute(sql, (session_id, before_seq, limit)).fetchall()
        return [event_from_row(row) for row in rows]

    def event_seq(self, session_id: str, event_id: str) -> int | None:
        """The seq of ``event_id`` if it belongs to ``session_id``, else None."""
        with self._query() as conn:
            row = conn.execute(
                "SELECT seq FROM events WHERE id = ? AND session_id = ?", (event_id, session_id)
            ).fetchone()
        return None if row is None else int(row[0])

    def last_seq(self, session_id: str) -> int:
        """The highest seq of the session's events, 0 if it has none."""
        with self._query() as conn:
            row = conn.execute(
                "SELECT MAX(seq) FROM events WHERE session_id = ?", (session_id,)
            ).fetchone()
        return 0 if row[0] is None else int(row[0])

    # -- search ----------------------------------------------------------

    def search(self, query: str, limit: int) -> list[SearchHit]:
        """Hits for an FTS5 query (``fts_query``) over output and titles, best first."""
        with self._query() as conn:
            return fts.search(conn, query, limit)

    def indexed_seq(self) -> int:
        """The search watermark: every ``output`` event at or below it is indexed."""
        with self._query() as conn:
            return fts.indexed_seq(conn)

    def unindexed_output(self, after_seq: int) -> bool:
        """Whether an ``output`` event after ``after_seq`` is stored."""
        with self._query() as conn:
            return fts.unindexed_output(conn, after_seq)

    def first_event_at(self) -> str | None:
        """``created_at`` of the first event by ``seq``, None when there is none."""
        with self._query() as conn:
            return fts.first_event_at(conn)

    def prune_candidates(self, cutoff: str) -> list[PruneCandidate]:
        """Finished sessions with events created before ``cutoff``, with counts."""
        with self._query() as conn:
            return fts.prune_candidates(conn, cutoff)

    def last_prune_at(self) -> str | None:
        """When events were last pruned, or None."""
        with self._query() as conn:
            return last_prune_at(conn)

    # -- health ----------------------------------------------------------

    def integrity_check(self) -> list[str]:
        """SQLite's ``PRAGMA integrity_check`` rows (``["ok"]`` for a sound database)."""
        with self._query() as conn:
            return [str(row[0]) for row in conn.execute("PRAGMA integrity_check").fetchall()]

    def stats(self) -> dict[str, int | None]:
        """``database_bytes``, ``wal_bytes`` and ``free_disk_bytes`` (for health and watermarks).

        ``free_disk_bytes`` is ``None`` when the filesystem cannot be asked.
        """
        return {
            "database_bytes": _size(self._path),
            "wal_bytes": _size(self._path + "-wal"),
            "free_disk_bytes": self.free_disk(),
        }

    def free_disk(self) -> int | None:
        """Free bytes (for unprivileged users) on the store's filesystem; None if unknown."""
        try:
            vfs = os.statvfs(os.path.dirname(os.path.abspath(self._path)))
        except OSError:
            return None
        return vfs.f_bavail * vfs.f_frsize


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0
