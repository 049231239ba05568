"""Opening the database file safely, connection settings and schema migrations.

The file is created by us with mode 0600 before SQLite touches it; a file that
is not a SQLite database is refused with ``StoreCorrupt`` *before* SQLite writes
anything, so it stays byte-identical for a human to inspect.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import stat
import time
from collections.abc import Callable

from coven.errors import HomeRefused
from coven.store.errors import StoreCorrupt, StoreIncompatible

# Each migration's number is named once, here: branches that add migrations at the same
# time renumber by changing one constant. SCHEMA_VERSION is the highest number.
REVIEW_STATE_MIGRATION = 4
MAINTENANCE_MIGRATION = 5
SEARCH_MIGRATION = 3
BUSY_TIMEOUT_MS = 100
_SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100

# Primary result codes (errorcode & 0xff) that mean "the storage is
# unavailable right now", not "this write is wrong": retry, never fail the op.
TRANSIENT_CODES = frozenset(
    {
        5,  # SQLITE_BUSY
        6,  # SQLITE_LOCKED
        7,  # SQLITE_NOMEM
        10,  # SQLITE_IOERR
        13,  # SQLITE_FULL
        14,  # SQLITE_CANTOPEN
        15,  # SQLITE_PROTOCOL
    }
)
CORRUPT_CODES = frozenset({11, 26})  # SQLITE_CORRUPT, SQLITE_NOTADB

_MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    project_root TEXT NOT NULL,
    harness TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    archived_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    conversation_id TEXT,
    labels TEXT,
    visibility TEXT NOT NULL DEFAULT 'private',
    familiar_id TEXT,
    execution_binding_json TEXT,
    external INTEGER NOT NULL DEFAULT 0,
    transcript_path TEXT,
    transcript_indexed_at TEXT,
    cwd TEXT,
    launch_mode TEXT,
    pid INTEGER,
    pgid INTEGER,
    proc_start INTEGER,
    daemon_instance TEXT
);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    redaction_status TEXT NOT NULL DEFAULT 'redacted',
    sensitive INTEGER
);
CREATE INDEX idx_events_session_seq ON events(session_id, seq);
CREATE INDEX idx_sessions_created_at_id ON sessions(created_at DESC, id DESC);
CREATE INDEX idx_sessions_status ON sessions(status);
""",
    # What each session did to the code: the repository it started in, its lane
    # (worktree and branch) and the session it continues. All NULL without git.
    2: """
ALTER TABLE sessions ADD COLUMN git_root TEXT;
ALTER TABLE sessions ADD COLUMN base_commit TEXT;
ALTER TABLE sessions ADD COLUMN base_branch TEXT;
ALTER TABLE sessions ADD COLUMN worktree_path TEXT;
ALTER TABLE sessions ADD COLUMN branch TEXT;
ALTER TABLE sessions ADD COLUMN continues TEXT;
CREATE INDEX idx_sessions_conversation_id ON sessions(conversation_id);
""",
    # Full-text search (coven.store.search). Output is indexed as cleaned text
    # segments (terminal controls stripped, redacted again) by the indexer, behind
    # a watermark, so the hot output path pays nothing; existing events are
    # backfilled by the same indexer in bounded steps. Titles are tiny: triggers
    # keep their index current and the migration backfills it at once.
    SEARCH_MIGRATION: """
CREATE TABLE output_segments (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX idx_output_segments_session ON output_segments(session_id, last_seq);
CREATE VIRTUAL TABLE output_index USING fts5(
    text, content='output_segments', content_rowid='id'
);
CREATE TRIGGER output_segments_ai AFTER INSERT ON output_segments BEGIN
    INSERT INTO output_index(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER output_segments_ad AFTER DELETE ON output_segments BEGIN
    INSERT INTO output_index(output_index, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TABLE search_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_seq INTEGER NOT NULL
);
INSERT INTO search_state (id, indexed_seq) VALUES (1, 0);
CREATE VIRTUAL TABLE title_index USING fts5(session_id UNINDEXED, title);
INSERT INTO title_index (session_id, title) SELECT id, title FROM sessions;
CREATE TRIGGER sessions_title_ai AFTER INSERT ON sessions BEGIN
    INSERT INTO title_index (session_id, title) VALUES (new.id, new.title);
END;
CREATE TRIGGER sessions_title_au AFTER UPDATE OF title ON sessions BEGIN
    DELETE FROM title_index WHERE session_id = old.id;
    INSERT INTO title_index (session_id, title) VALUES (new.id, new.title);
END;
CREATE TRIGGER sessions_title_ad AFTER DELETE ON sessions BEGIN
    DELETE FROM title_index WHERE session_id = old.id;
END;
""",
    # The review of each session's work, shared by every client (see coven.runtime.review).
    REVIEW_STATE_MIGRATION: """
ALTER TABLE sessions ADD COLUMN review_state TEXT NOT NULL DEFAULT 'unreviewed';
""",
    # When the store was last pruned (coven.store.maintenance), kept across restarts.
    MAINTENANCE_MIGRATION: """
CREATE TABLE IF NOT EXISTS maintenance_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    last_prune_at TEXT
);
INSERT OR IGNORE INTO maintenance_state (id, last_prune_at) VALUES (1, NULL);
""",
}
SCHEMA_VERSION = max(_MIGRATIONS)

# Columns whose absence means the file was laid out by someone else.
_REQUIRED_COLUMNS = {
    "sessions": frozenset({"id", "status", "created_at", "daemon_instance", "pgid"}),
    "events": frozenset({"seq", "id", "session_id", "payload_json"}),
}


PAGE_SIZE = 16384


def error_code(exc: BaseException) -> int | None:
    """The primary SQLite result code carried by ``exc``, if any."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_transient(exc: BaseException) -> bool:
    """True for errors that say the storage is unavailable right now (retry later)."""
    return isinstance(exc, sqlite3.Error) and error_code(exc) in TRANSIENT_CODES


def is_storage_fault(exc: BaseException) -> bool:
    """True when the storage itself failed (transient, or damaged), not the write's content."""
    return isinstance(exc, sqlite3.Error) and (
        error_code(exc) in TRANSIENT_CODES or error_code(exc) in CORRUPT_CODES
    )


def is_corrupt(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.DatabaseError) and error_code(exc) in CORRUPT_CODES


def create_db_file(path: str) -> None:
    """Create ``path`` with mode 0600 if missing; refuse a symlink or a non-regular file.

    An existing file's bytes are never touched; its mode is tightened to 0600.
    """
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise HomeRefused(f"database path {path} is a symlink", {"path": path}) from exc
        if exc.errno == errno.EISDIR:
            raise HomeRefused(
                f"database path {path} is not a regular file", {"path": path}
            ) from exc
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise HomeRefused(f"database path {path} is not a regular file", {"path": path})
        if st.st_mode & 0o777 != 0o600:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def check_header(path: str) -> None:
    """Refuse a non-empty file that does not start like a SQLite database."""
    with open(path, "rb") as fh:
        header = fh.read(_HEADER_SIZE)
    if header and (len(header) < _HEADER_SIZE or not header.startswith(_SQLITE_MAGIC)):
        raise StoreCorrupt(
            f"{path} is not a SQLite database; it was left unchanged", {"path": path}
        )


def connect(path: str, *, query_only: bool = False) -> sqlite3.Connection:
    """Open a connection with Coven's settings (WAL must already be on for readers).

    Autocommit mode (``isolation_level=None``): callers issue BEGIN/COMMIT
    themselves, so no hidden transaction ever holds a lock.
    """
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        if query_only:
            conn.execute("PRAGMA query_only = ON")
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_corrupt(exc):
            raise StoreCorrupt(f"{path} is damaged: {exc}", {"path": path}) from exc
        raise
    return conn


def tighten_sidecars(path: str) -> None:
    """Make the ``-wal`` and ``-shm`` files 0600 (SQLite copies the DB mode, but be sure)."""
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(path + suffix, 0o600, follow_symlinks=False)


def _retry_busy(action: Callable[[], None], *, attempts: int = 50, delay: float = 0.1) -> None:
    """Run ``action``, retrying while another connection holds the lock."""
    for attempt in range(attempts):
        try:
            action()
            return
        except sqlite3.OperationalError as exc:
            if not is_transient(exc) or attempt == attempts - 1:
                raise
            time.sleep(delay)


def initialize(path: str) -> None:
    """Create the file if needed, verify it, switch on WAL and migrate to ``SCHEMA_VERSION``.

    Raises ``StoreCorrupt`` (file untouched) for a non-database or damaged file,
    ``StoreIncompatible`` for a foreign or newer schema, ``HomeRefused`` for a
    symlinked or non-regular path.
    """
    create_db_file(path)
    check_header(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        try:
            # Reads page 1 and the schema before anything can be written.
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = {
                name
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND name NOT LIKE 'sqlite_%'"
                )
            }
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(
                f"{path} is not a usable SQLite database ({exc}); it was left unchanged",
                {"path": path},
            ) from exc
        _refuse_foreign(path, conn, version, tables)
        if not tables:
            # Only a brand-new file can take it (before the first table and WAL).
            conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")

        def set_wal() -> None:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreIncompatible(f"{path} cannot use WAL (journal_mode={mode})")

        _retry_busy(set_wal)
        tighten_sidecars(path)
        _retry_busy(lambda: _migrate(conn, path))
    finally:
        conn.close()
    tighten_sidecars(path)


def _refuse_foreign(path: str, conn: sqlite3.Connection, version: int, tables: set[str]) -> None:
    if version > SCHEMA_VERSION:
        raise StoreIncompatible(
            f"{path} has store schema version {version}, newer than this Coven "
            f"understands ({SCHEMA_VERSION}); upgrade Coven",
            {"path": path, "user_version": version},
        )
    if version == 0 and tables:
        raise StoreIncompatible(
            f"{path} holds tables ({', '.join(sorted(tables))}) that this Coven did not "
            "create (for example a reference-implementation store); refusing to use it",
            {"path": path},
        )
    if version >= 1:
        for table, required in _REQUIRED_COLUMNS.items():
            columns = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            missing = required - columns
            if missing:
                raise StoreIncompatible(
                    f"{path}: table {table} lacks columns {sorted(missing)}; "
                    "the schema is not Coven's",
                    {"path": path, "table": table},
                )


def _statements(script: str) -> list[str]:
    """Split a migration into statements; a trigger body's inner ``;`` does not split it."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending.strip())
            pending = ""
    return statements


def _ensure_search_tables(conn: sqlite3.Connection) -> None:
    """Create the search tables of a store that reached a later version without them.

    (A store migrated by a build that had the later migrations but not this one.)
    """
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_state'"
    ).fetchone()
    if found is None:
        for statement in _statements(_MIGRATIONS[SEARCH_MIGRATION]):
            conn.execute(statement)


def _migrate(conn: sqlite3.Connection, path: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Re-read inside the write lock: another process may have migrated meanwhile.
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        # In order, skipping numbers that are not taken (yet): a number reserved for
        # another change is not a migration this Coven has to run.
        for target in sorted(n for n in _MIGRATIONS if n > version):
            for statement in _statements(_MIGRATIONS[target]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target}")
        _ensure_search_tables(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
