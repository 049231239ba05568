"""Opening the store: file modes, refusal of corrupt and foreign files, migrations, clock."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coven.errors import HomeRefused
from coven.store import SCHEMA_VERSION, StoreCorrupt, StoreIncompatible, open_store
from coven.store.clock import format_rfc3339_ns, now_rfc3339
from coven.store.database import PAGE_SIZE, connect, initialize


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "coven.sqlite3")


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_new_database_and_sidecars_are_0600(db_path: str, loose_umask: None) -> None:
    writer, reader = open_store(db_path)
    try:
        assert reader.list_sessions() == []
        assert _mode(db_path) == 0o600
        for suffix in ("-wal", "-shm"):
            assert os.path.exists(db_path + suffix)
            assert _mode(db_path + suffix) == 0o600
    finally:
        writer.stop()
        reader.close()


def test_existing_loose_file_mode_is_tightened(db_path: str) -> None:
    initialize(db_path)
    os.chmod(db_path, 0o644)
    initialize(db_path)
    assert _mode(db_path) == 0o600


def test_schema_version_wal_and_connection_pragmas(db_path: str) -> None:
    initialize(db_path)
    conn = connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 100
        indexes = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")
        }
        assert {
            "idx_events_session_seq",
            "idx_sessions_created_at_id",
            "idx_sessions_status",
        } <= indexes
    finally:
        conn.close()


def test_reader_connection_is_query_only(db_path: str) -> None:
    initialize(db_path)
    conn = connect(db_path, query_only=True)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM sessions")
    finally:
        conn.close()


def test_initialize_twice_keeps_data(db_path: str) -> None:
    initialize(db_path)
    conn = connect(db_path)
    conn.execute(
        "INSERT INTO sessions (id, project_root, harness, title, status, created_at, updated_at)"
        " VALUES ('s', '/p', 'codex', 't', 'running', 'a', 'a')"
    )
    conn.close()
    initialize(db_path)
    conn = connect(db_path)
    try:
        assert conn.execute("SELECT id FROM sessions").fetchall() == [("s",)]
    finally:
        conn.close()


def test_new_store_uses_large_pages_and_an_existing_one_keeps_its_own(
    db_path: str, tmp_path: Path
) -> None:
    # Output rows are tens of KiB: 16 KiB pages halve the writer's work per byte.
    initialize(db_path)
    conn = connect(db_path)
    try:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 16384
    finally:
        conn.close()
    older = str(tmp_path / "older.sqlite3")
    initialize(older)
    # A store made before the change: rebuilt at 4 KiB pages.
    legacy = sqlite3.connect(older, isolation_level=None)
    legacy.execute("PRAGMA journal_mode = DELETE")
    legacy.execute("PRAGMA page_size = 4096")
    legacy.execute("VACUUM")
    legacy.execute("PRAGMA journal_mode = WAL")
    legacy.close()
    writer, reader = open_store(older)  # initializes again, then opens the writer
    writer.stop(timeout=5.0)
    reader.close()
    conn = connect(older)
    try:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


def test_empty_existing_file_becomes_a_fresh_store(db_path: str) -> None:
    Path(db_path).write_bytes(b"")
    initialize(db_path)
    conn = connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


@pytest.mark.parametrize(
    "content",
    [
        b"hello, I am a text file\n",
        b"SQLite format 3\x00" + b"\xff" * 4080,
        b"SQLite format",  # truncated header
    ],
    ids=["text", "garbage-after-magic", "short"],
)
def test_non_database_file_is_refused_and_left_byte_identical(db_path: str, content: bytes) -> None:
    Path(db_path).write_bytes(content)
    before = _digest(db_path)
    with pytest.raises(StoreCorrupt) as info:
        initialize(db_path)
    assert db_path in info.value.message
    assert info.value.code == "store_corrupt"
    assert _digest(db_path) == before
    assert not os.path.exists(db_path + "-wal")


def test_damaged_schema_page_is_refused_and_left_byte_identical(db_path: str) -> None:
    initialize(db_path)
    conn = connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    data = bytearray(Path(db_path).read_bytes())
    data[100:4096] = b"\xa5" * (4096 - 100)  # the sqlite_master b-tree on page 1
    Path(db_path).write_bytes(bytes(data))
    before = _digest(db_path)
    with pytest.raises(StoreCorrupt, match=db_path):
        initialize(db_path)
    assert _digest(db_path) == before


def test_reference_style_schema_is_refused(db_path: str) -> None:
    conn = sqlite3.connect(db_path)
    conn.executescript(
        "CREATE TABLE sessions (id TEXT PRIMARY KEY, project_root TEXT NOT NULL);"
        "CREATE TABLE events (id TEXT PRIMARY KEY, session_id TEXT NOT NULL);"
    )
    conn.close()
    before = _digest(db_path)
    with pytest.raises(StoreIncompatible, match="did not create"):
        initialize(db_path)
    assert _digest(db_path) == before


def test_newer_schema_version_is_refused(db_path: str) -> None:
    initialize(db_path)
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    with pytest.raises(StoreIncompatible, match="newer"):
        initialize(db_path)


def test_current_version_with_foreign_columns_is_refused(db_path: str) -> None:
    conn = sqlite3.connect(db_path)
    conn.executescript(
        "CREATE TABLE sessions (id TEXT PRIMARY KEY);"
        "CREATE TABLE events (id TEXT PRIMARY KEY);"
        "PRAGMA user_version = 1;"
    )
    conn.close()
    with pytest.raises(StoreIncompatible, match="lacks columns"):
        initialize(db_path)


def test_symlinked_database_path_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.sqlite3"
    target.write_bytes(b"")
    link = tmp_path / "coven.sqlite3"
    link.symlink_to(target)
    with pytest.raises(HomeRefused, match="symlink"):
        initialize(str(link))


def test_directory_as_database_path_is_refused(tmp_path: Path) -> None:
    (tmp_path / "coven.sqlite3").mkdir()
    with pytest.raises(HomeRefused, match="regular file"):
        initialize(str(tmp_path / "coven.sqlite3"))


def test_fifo_as_database_path_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "coven.sqlite3"
    os.mkfifo(fifo)
    # O_RDWR on a FIFO does not block on Linux, so this reaches the fstat check.
    with pytest.raises(HomeRefused, match="regular file"):
        initialize(str(fifo))


# -- clock ---------------------------------------------------------------


def test_timestamp_format() -> None:
    assert format_rfc3339_ns(0) == "1970-01-01T00:00:00.000000000Z"
    assert format_rfc3339_ns(1_795_474_752_876_448_569) == "2026-11-23T22:59:12.876448569Z"
    stamp = now_rfc3339()
    assert len(stamp) == 30 and stamp.endswith("Z") and stamp[10] == "T"


def test_timestamp_rejects_out_of_range() -> None:
    with pytest.raises(ValueError, match="epoch"):
        format_rfc3339_ns(-1)
    with pytest.raises(ValueError, match="9999"):
        format_rfc3339_ns(253_402_300_800 * 1_000_000_000)


_NS = st.integers(min_value=0, max_value=253_402_300_799_999_999_999)


@given(_NS, _NS)
def test_timestamps_sort_lexically_in_time_order(a: int, b: int) -> None:
    fa, fb = format_rfc3339_ns(a), format_rfc3339_ns(b)
    assert (fa < fb) == (a < b)
    assert len(fa) == len(fb) == 30
