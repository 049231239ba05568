"""Readers: session listing and keyset pages, event pages, lookups, decoding, stats."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coven.store import (
    AppendEvents,
    ArchiveSession,
    InsertSession,
    NewEvent,
    SessionRow,
    StoreCorrupt,
    StoreReader,
    StoreWriter,
    open_store,
)
from coven.store.reader import sessions_page_query


def session(session_id: str, created_at: str, status: str = "running", **extra: Any) -> SessionRow:
    return SessionRow(
        id=session_id,
        project_root="/p",
        harness="codex",
        title="t",
        status=status,
        created_at=created_at,
        updated_at=created_at,
        **extra,
    )


def ts(n: int) -> str:
    return f"2026-11-23T22:59:{n:02d}.000000000Z"


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "coven.sqlite3")


@pytest.fixture
def store(db_path: str) -> Iterator[tuple[StoreWriter, StoreReader]]:
    writer, reader = open_store(db_path)
    yield writer, reader
    writer.stop()
    reader.close()


def run(writer: StoreWriter, op: Any) -> Any:
    return writer.submit(op).result(timeout=10)


def test_list_sessions_newest_first_with_id_tiebreak(
    store: tuple[StoreWriter, StoreReader],
) -> None:
    writer, reader = store
    for sid, n in [("a", 1), ("b", 3), ("c", 3), ("d", 2)]:
        run(writer, InsertSession(session(sid, ts(n))))
    assert [s.id for s in reader.list_sessions()] == ["c", "b", "d", "a"]


def test_keyset_pages_cover_every_row_exactly_once(
    store: tuple[StoreWriter, StoreReader],
) -> None:
    writer, reader = store
    # Many equal created_at values, so the id tiebreak must carry the cursor.
    expected = []
    for i in range(23):
        row = session(f"s{i:02d}", ts(i % 4))
        run(writer, InsertSession(row))
        expected.append(row)
    expected.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    seen: list[SessionRow] = []
    before = None
    while True:
        page = reader.list_sessions(limit=5, before=before)
        if not page:
            break
        seen.extend(page)
        before = (page[-1].created_at, page[-1].id)
    assert seen == expected


@pytest.mark.parametrize("include_archived", [False, True])
def test_a_page_after_a_cursor_searches_the_index_instead_of_scanning_it(
    store: tuple[StoreWriter, StoreReader], include_archived: bool
) -> None:
    """Pages deep in a long list cost what the first one does (a scan grew linearly)."""
    _, reader = store
    sql, params = sessions_page_query(include_archived, 100, (ts(5), "s05"))
    plan = " ".join(reader.explain(sql, params))
    assert "SEARCH sessions USING INDEX idx_sessions_created_at_id" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # the index gives the order too


def test_events_before_reads_a_sessions_log_from_its_end(
    store: tuple[StoreWriter, StoreReader],
) -> None:
    writer, reader = store
    for sid in ("a", "b"):
        run(writer, InsertSession(session(sid, ts(1))))
    for n in range(5):
        for sid in ("a", "b"):
            run(writer, AppendEvents([NewEvent(sid, "output", f'{{"data": "{sid}{n}"}}')]))
    newest = reader.events_before("a", 1 << 62, 2)
    assert [e.payload_json for e in newest] == ['{"data": "a4"}', '{"data": "a3"}']
    older = reader.events_before("a", newest[-1].seq, 10)
    assert [e.payload_json for e in older] == [f'{{"data": "a{n}"}}' for n in (2, 1, 0)]
    assert reader.events_before("a", older[-1].seq, 10) == []
    with pytest.raises(ValueError, match="limit"):
        reader.events_before("a", 10, -1)


def test_archived_sessions_hidden_unless_asked(store: tuple[StoreWriter, StoreReader]) -> None:
    writer, reader = store
    run(writer, InsertSession(session("a", ts(1))))
    run(writer, InsertSession(session("b", ts(2))))
    run(writer, ArchiveSession("b", True))
    assert [s.id for s in reader.list_sessions()] == ["a"]
    assert [s.id for s in reader.list_sessions(include_archived=True)] == ["b", "a"]
    assert reader.list_sessions(limit=0) == []


def test_negative_limits_are_refused(store: tuple[StoreWriter, StoreReader]) -> None:
    _, reader = store
    with pytest.raises(ValueError, match="limit"):
        reader.list_sessions(limit=-1)
    with pytest.raises(ValueError, match="limit"):
        reader.list_events("s", after_seq=0, limit=-1)


def test_running_sessions_excludes_external_and_finished(
    store: tuple[StoreWriter, StoreReader],
) -> None:
    writer, reader = store
    run(writer, InsertSession(session("live", ts(1), pid=42, pgid=42, daemon_instance="d")))
    run(writer, InsertSession(session("ext", ts(2), external=True)))
    run(writer, InsertSession(session("done", ts(3), status="completed")))
    (live,) = reader.running_sessions()
    assert (live.id, live.pid, live.pgid, live.daemon_instance) == ("live", 42, 42, "d")


def test_event_pages_by_seq_skip_other_sessions(store: tuple[StoreWriter, StoreReader]) -> None:
    writer, reader = store
    run(writer, InsertSession(session("a", ts(1))))
    run(writer, InsertSession(session("b", ts(2))))
    for i in range(10):
        run(writer, AppendEvents([NewEvent("a", "output", f'{{"data":"{i}"}}')]))
        run(writer, AppendEvents([NewEvent("b", "output", "{}")]))
    events = reader.list_events("a", after_seq=0)
    assert len(events) == 10 and all(e.session_id == "a" for e in events)
    seqs = [e.seq for e in events]
    assert seqs == sorted(seqs) and seqs[1] - seqs[0] == 2  # global seq: gaps per session
    assert reader.list_events("a", after_seq=seqs[3], limit=2) == events[4:6]
    assert reader.list_events("a", after_seq=-5, limit=1) == events[:1]
    assert reader.list_events("a", after_seq=seqs[-1]) == []
    assert reader.list_events("ghost", after_seq=0) == []
    assert reader.last_seq("a") == seqs[-1]
    assert reader.last_seq("ghost") == 0


def test_event_seq_only_within_its_session(store: tuple[StoreWriter, StoreReader]) -> None:
    writer, reader = store
    run(writer, InsertSession(session("a", ts(1))))
    run(writer, InsertSession(session("b", ts(2))))
    (event,) = run(writer, AppendEvents([NewEvent("a", "input", '{"data":"x"}', sensitive=True)]))
    assert reader.event_seq("a", event.id) == event.seq
    assert reader.event_seq("b", event.id) is None
    assert reader.event_seq("a", "not-an-id") is None
    (stored,) = reader.list_events("a", after_seq=0)
    assert stored.sensitive is True and stored.redaction_status == "redacted"


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (None, []),
        ('["x","y"]', ["x", "y"]),
        ("not json", []),
        ('{"a":1}', []),
        ("[1,2]", []),
    ],
)
def test_labels_decode_leniently(
    store: tuple[StoreWriter, StoreReader], db_path: str, raw: str | None, decoded: list[str]
) -> None:
    writer, reader = store
    run(writer, InsertSession(session("s", ts(1))))
    # Another writer (the reference CLI) shares this column; simulate what it may leave.
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE sessions SET labels = ? WHERE id = 's'", (raw,))
    conn.commit()
    conn.close()
    row = reader.get_session("s")
    assert row is not None and row.labels == decoded


def test_empty_labels_are_stored_as_null(
    store: tuple[StoreWriter, StoreReader], db_path: str
) -> None:
    writer, _ = store
    run(writer, InsertSession(session("s", ts(1), labels=[])))
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT labels, external FROM sessions").fetchone() == (None, 0)
    finally:
        conn.close()


def test_readers_in_many_threads_while_writing(store: tuple[StoreWriter, StoreReader]) -> None:
    writer, reader = store
    run(writer, InsertSession(session("s", ts(1))))
    errors: list[BaseException] = []
    stop = threading.Event()

    def poll() -> None:
        try:
            after = 0
            while not stop.is_set():
                for event in reader.list_events("s", after_seq=after, limit=50):
                    assert event.seq > after
                    after = event.seq
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=poll) for _ in range(4)]
    for t in threads:
        t.start()
    futures = [
        writer.submit(AppendEvents([NewEvent("s", "output", json.dumps({"data": i}))]))
        for i in range(1000)
    ]
    for f in futures:
        f.result(timeout=20)
    stop.set()
    for t in threads:
        t.join(10)
    assert errors == []
    assert len(reader.list_events("s", after_seq=0)) == 1000


def test_stats_report_sizes(store: tuple[StoreWriter, StoreReader]) -> None:
    writer, reader = store
    run(writer, InsertSession(session("s", ts(1))))
    stats = reader.stats()
    assert set(stats) == {"database_bytes", "wal_bytes", "free_disk_bytes"}
    assert stats["database_bytes"] > 0 and stats["wal_bytes"] > 0
    assert stats["free_disk_bytes"] > 0


def test_closed_reader_refuses_reads(db_path: str) -> None:
    writer, reader = open_store(db_path)
    assert reader.get_session("s") is None  # this thread now has a connection
    writer.stop()
    reader.close()
    with pytest.raises(RuntimeError, match="closed"):
        reader.get_session("s")


def test_queued_ops_are_group_committed_and_read_back_in_bounded_pages(
    store: tuple[StoreWriter, StoreReader], db_path: str
) -> None:
    """What the old timing floor guarded, without a clock: ops that queue while the
    writer waits go out in a few transactions (no per-op transaction or fsync), and
    the reader gives every event back, in order, page by page. (The rates themselves
    are measured by ``bench/store_writer.py``.)"""
    writer, reader = store
    run(writer, InsertSession(session("s", ts(1))))
    ops = 2_000
    before = writer.stats().transactions
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer now waits: everything below queues
    try:
        futures = [
            writer.submit(AppendEvents([NewEvent("s", "output", json.dumps({"data": str(n)}))]))
            for n in range(ops)
        ]
    finally:
        blocker.execute("COMMIT")
        blocker.close()
    for future in futures:
        future.result(timeout=60)
    transactions = writer.stats().transactions - before
    # The op taken before the lock was noticed, then full batches (MAX_BATCH_OPS, 256):
    # about 9; a writer committing op by op would take 2,000.
    assert transactions <= 20, transactions
    seen: list[str] = []
    after = 0
    while page := reader.list_events("s", after_seq=after, limit=300):
        assert len(page) <= 300
        seen.extend(json.loads(e.payload_json)["data"] for e in page)
        after = page[-1].seq
    assert seen == [str(n) for n in range(ops)]


def test_damaged_table_page_reads_as_store_corrupt(db_path: str) -> None:
    writer, reader = open_store(db_path)
    run(writer, InsertSession(session("s", ts(1))))
    run(writer, AppendEvents([NewEvent("s", "output", '{"data":"x"}') for _ in range(50)]))
    writer.stop()
    reader.close()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'events'").fetchone()
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(db_path, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xa5" * page_size)
    fresh = StoreReader(db_path)
    try:
        with pytest.raises(StoreCorrupt, match=db_path):
            fresh.list_events("s", after_seq=0)
    finally:
        fresh.close()
