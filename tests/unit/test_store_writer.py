"""The writer thread: ops, group commit, per-op failure, recovery from storage faults."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from coven.errors import SessionIdConflict, SessionNotFound, StorageUnavailable
from coven.store import (
    AppendEvents,
    ArchiveSession,
    DeleteSession,
    EventRow,
    FinishResult,
    FinishSession,
    InsertSession,
    MarkOrphaned,
    NewEvent,
    SessionRow,
    StoreReader,
    StoreWriter,
    UpdateSession,
    now_rfc3339,
)
from coven.store.database import initialize

BIG = json.dumps({"data": "x" * (64 * 1024 - 12)})


def session(session_id: str, status: str = "running", **extra: Any) -> SessionRow:
    now = now_rfc3339()
    return SessionRow(
        id=session_id,
        project_root="/p",
        harness="codex",
        title="t",
        status=status,
        created_at=now,
        updated_at=now,
        **extra,
    )


def output(session_id: str, text: str = "hi") -> NewEvent:
    return NewEvent(session_id, "output", json.dumps({"data": text}), "clean")


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    path = str(tmp_path / "coven.sqlite3")
    initialize(path)
    return path


@pytest.fixture
def writer(db_path: str) -> Iterator[StoreWriter]:
    w = StoreWriter(db_path)
    w.start()
    yield w
    w.stop(timeout=5)


@pytest.fixture
def reader(db_path: str) -> Iterator[StoreReader]:
    r = StoreReader(db_path)
    yield r
    r.close()


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def run(writer: StoreWriter, op: Any) -> Any:
    return writer.submit(op).result(timeout=10)


# -- ops -----------------------------------------------------------------


def test_insert_and_append_return_committed_rows(writer: StoreWriter, reader: StoreReader) -> None:
    row = session("s1", labels=["lane:a", "b.c"], pid=10, pgid=10, daemon_instance="d1")
    assert run(writer, InsertSession(row)) == row
    assert reader.get_session("s1") == row
    events = run(writer, AppendEvents([output("s1", "a"), output("s1", "b")]))
    assert [e.seq for e in events] == [events[0].seq, events[0].seq + 1]
    assert reader.list_events("s1", after_seq=0) == events
    assert all(len(e.id) == 36 for e in events) and events[0].id != events[1].id


def test_duplicate_session_id_is_a_conflict(writer: StoreWriter) -> None:
    run(writer, InsertSession(session("s1")))
    with pytest.raises(SessionIdConflict):
        run(writer, InsertSession(session("s1")))


def test_append_to_unknown_session_appends_nothing(
    writer: StoreWriter, reader: StoreReader
) -> None:
    run(writer, InsertSession(session("s1")))
    with pytest.raises(SessionNotFound):
        run(writer, AppendEvents([output("s1"), output("ghost")]))
    assert reader.list_events("s1", after_seq=0) == []


def test_update_session_respects_only_if_status(writer: StoreWriter, reader: StoreReader) -> None:
    run(writer, InsertSession(session("s1", status="killed")))
    assert not run(writer, UpdateSession("s1", {"status": "failed"}, frozenset({"running"})))
    assert reader.get_session("s1").status == "killed"  # type: ignore[union-attr]
    assert run(writer, UpdateSession("s1", {"title": "new", "labels": ["x"], "external": True}))
    row = reader.get_session("s1")
    assert row is not None
    assert (row.title, row.labels, row.external) == ("new", ["x"], True)
    assert row.updated_at > row.created_at
    assert not run(writer, UpdateSession("ghost", {"title": "x"}))


@pytest.mark.parametrize(
    ("fields", "statuses", "match"),
    [
        ({}, None, "at least one"),
        ({"id": "other"}, None, "cannot update"),
        ({"created_at": "x"}, None, "cannot update"),
        ({"nonsense": 1}, None, "cannot update"),
        ({"title": "x"}, frozenset(), "non-empty"),
        ({"labels": [1]}, None, "strings"),
    ],
)
def test_bad_update_is_refused_in_the_callers_thread(
    fields: dict[str, Any], statuses: frozenset[str] | None, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        UpdateSession("s1", fields, statuses)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"redaction_status": "legacy"}, "redaction_status"),
        ({"session_id": ""}, "session_id"),
        ({"kind": ""}, "kind"),
    ],
)
def test_bad_new_event_is_refused(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"session_id": "s", "kind": "output", "payload_json": "{}"}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        NewEvent(**args)


def test_finish_writes_event_and_status_together(writer: StoreWriter, reader: StoreReader) -> None:
    run(writer, InsertSession(session("s1")))
    run(writer, AppendEvents([output("s1")]))
    exit_event = NewEvent("s1", "exit", '{"exitCode":0,"status":"completed"}', "clean")
    result = run(writer, FinishSession("s1", exit_event, "completed", 0))
    assert isinstance(result, FinishResult) and result.applied
    assert result.event is not None and result.event.kind == "exit"
    row = reader.get_session("s1")
    assert row is not None and (row.status, row.exit_code) == ("completed", 0)
    assert reader.list_events("s1", after_seq=0)[-1] == result.event


def test_finish_keeps_killed_status_but_records_exit(
    writer: StoreWriter, reader: StoreReader
) -> None:
    run(writer, InsertSession(session("s1", status="killed")))
    exit_event = NewEvent("s1", "exit", '{"exitCode":1,"status":"failed"}', "clean")
    result = run(writer, FinishSession("s1", exit_event, "failed", 1))
    assert not result.applied and result.event is not None
    row = reader.get_session("s1")
    assert row is not None and (row.status, row.exit_code) == ("killed", None)
    assert [e.kind for e in reader.list_events("s1", after_seq=0)] == ["exit"]


def test_finish_can_leave_no_event_when_the_status_had_moved_on(
    writer: StoreWriter, reader: StoreReader
) -> None:
    """A completion that lost a race records nothing (an exit that did not happen)."""
    run(writer, InsertSession(session("s1", status="completed")))
    exit_event = NewEvent("s1", "exit", '{"exitCode":3,"status":"failed"}', "clean")
    op = FinishSession("s1", exit_event, "failed", 3, frozenset({"running"}), False)
    result = run(writer, op)
    assert not result.applied and result.event is None
    assert reader.list_events("s1", after_seq=0) == []


def test_finish_unknown_session_fails(writer: StoreWriter) -> None:
    with pytest.raises(SessionNotFound):
        run(writer, FinishSession("ghost", None, "completed", 0))


def test_finish_refuses_exit_event_of_another_session() -> None:
    with pytest.raises(ValueError, match="another session"):
        FinishSession("s1", output("s2"), "completed", 0)


def test_mark_orphaned_only_live_rows_with_explanation_then_exit(
    writer: StoreWriter, reader: StoreReader
) -> None:
    run(writer, InsertSession(session("live")))
    run(writer, InsertSession(session("done", status="completed")))
    marked = run(writer, MarkOrphaned(["live", "done", "ghost", "live"], "daemon restarted"))
    assert marked == ["live"]
    assert reader.get_session("live").status == "orphaned"  # type: ignore[union-attr]
    assert reader.get_session("done").status == "completed"  # type: ignore[union-attr]
    explanation, ending = reader.list_events("live", after_seq=0)
    assert explanation.kind == "metadata"
    assert explanation.payload_json == '{"orphaned":true,"reason":"daemon restarted"}'
    # Clients end a turn on `exit`: an orphaned session ends its log like any other.
    assert ending.kind == "exit" and ending.seq > explanation.seq
    assert ending.payload_json == (
        '{"exitCode":null,"reason":"daemon restarted","status":"orphaned"}'
    )
    assert reader.list_events("done", after_seq=0) == []


def test_archive_and_unarchive(writer: StoreWriter, reader: StoreReader) -> None:
    run(writer, InsertSession(session("s1")))
    assert run(writer, ArchiveSession("s1", True))
    assert reader.get_session("s1").archived_at is not None  # type: ignore[union-attr]
    assert run(writer, ArchiveSession("s1", False))
    assert reader.get_session("s1").archived_at is None  # type: ignore[union-attr]
    assert not run(writer, ArchiveSession("ghost", True))


def test_delete_cascades_to_events(writer: StoreWriter, reader: StoreReader) -> None:
    run(writer, InsertSession(session("s1")))
    run(writer, AppendEvents([output("s1")]))
    assert run(writer, DeleteSession("s1"))
    assert reader.get_session("s1") is None
    assert reader.list_events("s1", after_seq=0) == []
    assert not run(writer, DeleteSession("s1"))


# -- group commit and isolation of failures -------------------------------


def test_one_bad_op_fails_alone_inside_one_transaction(db_path: str, reader: StoreReader) -> None:
    w = StoreWriter(db_path)
    try:
        # Queued before start(), so the thread takes them as one batch.
        futures: list[Future[Any]] = [
            w.submit(InsertSession(session("a"))),
            w.submit(AppendEvents([output("a", "1")])),
            w.submit(DeleteSession("a")),
            w.submit(AppendEvents([output("a", "lost with its session")])),
            w.submit(InsertSession(session("b"))),
            w.submit(InsertSession(session("b"))),
            w.submit(AppendEvents([output("b", "2")])),
        ]
        assert w.stats().queued_ops == 7
        w.start()
        results = [f.exception(timeout=10) for f in futures]
        assert [type(r).__name__ if r else None for r in results] == [
            None,
            None,
            None,
            "SessionNotFound",
            None,
            "SessionIdConflict",
            None,
        ]
        stats = w.stats()
        assert stats.transactions == 1
        assert stats.committed_events == 2
        assert (stats.queued_ops, stats.queued_bytes) == (0, 0)
        assert stats.state == "healthy" and stats.last_commit_at is not None
    finally:
        w.stop()
    assert reader.get_session("a") is None
    assert [json.loads(e.payload_json)["data"] for e in reader.list_events("b", after_seq=0)] == [
        "2"
    ]


def test_queued_bytes_counts_unresolved_payloads(db_path: str) -> None:
    w = StoreWriter(db_path)
    try:
        w.submit(InsertSession(session("s1")))
        w.submit(AppendEvents([NewEvent("s1", "output", BIG)]))
        assert w.queued_bytes > len(BIG)
        assert w.stats().queued_bytes == w.queued_bytes
        w.start()
        wait_until(lambda: w.queued_bytes == 0)
        assert w.stats().committed_events == 1
    finally:
        w.stop()


def test_seqs_are_strictly_increasing_across_concurrent_submitters(
    writer: StoreWriter, reader: StoreReader
) -> None:
    import threading

    for name in ("x", "y"):
        run(writer, InsertSession(session(name)))
    acked: list[EventRow] = []
    lock = threading.Lock()

    def submitter(name: str) -> None:
        futures = [writer.submit(AppendEvents([output(name, str(i))])) for i in range(500)]
        rows = [row for f in futures for row in f.result(timeout=20)]
        with lock:
            acked.extend(rows)

    threads = [threading.Thread(target=submitter, args=(n,)) for n in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for name in ("x", "y"):
        stored = reader.list_events(name, after_seq=0)
        assert [json.loads(e.payload_json)["data"] for e in stored] == [str(i) for i in range(500)]
        assert sorted((e for e in acked if e.session_id == name), key=lambda e: e.seq) == stored
    assert len({e.seq for e in acked}) == 1000


async def test_submit_is_awaitable_from_asyncio(writer: StoreWriter) -> None:
    row = await asyncio.wrap_future(writer.submit(InsertSession(session("s1"))))
    assert row.id == "s1"


# -- storage faults ------------------------------------------------------


def test_full_disk_degrades_then_recovers_without_losing_acknowledged_writes(
    db_path: str, reader: StoreReader
) -> None:
    w = StoreWriter(db_path)
    w.start()
    try:
        run(w, InsertSession(session("s1")))
        w.set_max_page_count(1)  # clamps to the current size: no room to grow
        futures = [w.submit(AppendEvents([NewEvent("s1", "output", BIG)])) for _ in range(20)]
        wait_until(lambda: w.stats().state == "degraded")
        time.sleep(0.3)
        stats = w.stats()
        assert stats.state == "degraded"
        assert stats.last_error is not None and "FULL" in stats.last_error
        assert stats.degraded_since is not None
        assert not any(f.done() for f in futures)
        assert stats.queued_ops == 20
        w.set_max_page_count(None)
        acked = [row for f in futures for row in f.result(timeout=10)]
        wait_until(lambda: w.stats().state == "healthy")
        assert w.stats().degraded_since is None
    finally:
        w.stop()
    assert reader.list_events("s1", after_seq=0) == acked
    assert len(acked) == 20


LOCK_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("COMMIT")
"""


def hold_lock(db_path: str, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, db_path, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    proc.stdout.close()
    return proc


def test_lock_held_by_another_process_degrades_then_recovers(
    writer: StoreWriter, reader: StoreReader, db_path: str
) -> None:
    run(writer, InsertSession(session("s1")))
    holder = hold_lock(db_path, 1.5)
    try:
        futures = [writer.submit(AppendEvents([output("s1", str(i))])) for i in range(50)]
        wait_until(lambda: writer.stats().state == "degraded")
        assert "BUSY" in (writer.stats().last_error or "")
        assert not any(f.done() for f in futures)
        acked = [row for f in futures for row in f.result(timeout=10)]
    finally:
        holder.wait(10)
    wait_until(lambda: writer.stats().state == "healthy")
    assert reader.list_events("s1", after_seq=0) == acked
    assert [json.loads(e.payload_json)["data"] for e in acked] == [str(i) for i in range(50)]


def test_stop_while_storage_is_down_fails_pending_ops_instead_of_hanging(
    writer: StoreWriter, db_path: str
) -> None:
    run(writer, InsertSession(session("s1")))
    holder = hold_lock(db_path, 3.0)
    try:
        future = writer.submit(AppendEvents([output("s1")]))
        wait_until(lambda: writer.stats().state == "degraded")
        started = time.monotonic()
        assert writer.stop(timeout=0.3) is False
        assert time.monotonic() - started < 2.5
        with pytest.raises(StorageUnavailable):
            future.result(timeout=1)
        assert writer.stats().state == "stopped"
    finally:
        holder.wait(10)


# -- lifecycle -----------------------------------------------------------


def test_stop_drains_the_queue(db_path: str, reader: StoreReader) -> None:
    w = StoreWriter(db_path)
    w.start()
    w.submit(InsertSession(session("s1")))
    futures = [w.submit(AppendEvents([output("s1", str(i))])) for i in range(2000)]
    assert w.stop(timeout=10) is True
    assert all(f.done() and f.exception() is None for f in futures)
    assert len(reader.list_events("s1", after_seq=0)) == 2000


def test_submit_after_stop_fails_fast(writer: StoreWriter) -> None:
    writer.stop()
    with pytest.raises(StorageUnavailable):
        writer.submit(InsertSession(session("s1"))).result(timeout=1)
    with pytest.raises(StorageUnavailable):
        writer.start()
    assert writer.stop() is True  # idempotent


def test_stop_before_start_fails_queued_ops(db_path: str) -> None:
    w = StoreWriter(db_path)
    future = w.submit(InsertSession(session("s1")))
    w.stop()
    with pytest.raises(StorageUnavailable):
        future.result(timeout=1)
    assert w.stats().queued_ops == 0


def test_cancelled_future_still_commits_and_writer_survives(
    db_path: str, reader: StoreReader
) -> None:
    w = StoreWriter(db_path)
    try:
        first = w.submit(InsertSession(session("s1")))
        assert first.cancel()
        w.start()
        run(w, AppendEvents([output("s1")]))
        assert reader.get_session("s1") is not None
        assert w.stats().state == "healthy"
    finally:
        w.stop()
