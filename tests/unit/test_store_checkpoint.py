"""Checkpoints of the write-ahead log run beside the writer, never inside its commits."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

from coven.store import AppendEvents, InsertSession, NewEvent, SessionRow, StoreWriter, now_rfc3339
from coven.store import checkpoint as checkpoint_mod
from coven.store.checkpoint import Checkpointer
from coven.store.database import initialize

ROW = json.dumps({"data": "x" * (256 * 1024)})


def _session() -> SessionRow:
    now = now_rfc3339()
    return SessionRow(
        id="s1", project_root="/p", harness="codex", title="t", status="running",
        created_at=now, updated_at=now,
    )  # fmt: skip


def _checkpointer(writer: StoreWriter) -> Checkpointer:
    """``writer``'s checkpointer, once a session exists to append events to."""
    writer.submit(InsertSession(_session())).result(10)
    return writer._checkpointer


def _wait(predicate: object, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def writer(tmp_path: Path) -> StoreWriter:
    path = str(tmp_path / "coven.sqlite3")
    initialize(path)
    w = StoreWriter(path)
    w.start()
    yield w  # type: ignore[misc]
    w.stop()


def test_the_writer_never_checkpoints_in_a_commit(writer: StoreWriter) -> None:
    assert writer._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0


def test_a_passive_checkpoint_follows_enough_committed_output(
    writer: StoreWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoint_mod, "PASSIVE_AT_BYTES", 1024 * 1024)
    checkpointer = _checkpointer(writer)
    assert checkpointer.checkpoints == 0
    for _ in range(8):  # 2 MiB: past the threshold
        writer.submit(AppendEvents([NewEvent("s1", "output", ROW, "clean")])).result(10)
    _wait(lambda: checkpointer.checkpoints >= 1)
    assert checkpointer.last_at is not None and checkpointer.last_error is None


def test_a_flood_of_output_is_copied_once_it_stops(
    writer: StoreWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # While sessions' output floods in, checkpoints wait (up to FLOOD_AT_BYTES): copying
    # the log meanwhile takes the cores and the disk from the output itself.
    monkeypatch.setattr(checkpoint_mod, "QUIET_SECONDS", 1.0)
    checkpointer = _checkpointer(writer)
    flowing_until = time.monotonic() + 2.5  # over two rounds of the checkpointer
    rows = [NewEvent("s1", "output", ROW, "clean") for _ in range(3)]
    while time.monotonic() < flowing_until:  # ~15 MiB/s, past PASSIVE_AT_BYTES
        writer.submit(AppendEvents(rows)).result(10)
        time.sleep(0.05)
    assert checkpointer._wrote > checkpoint_mod.PASSIVE_AT_BYTES
    assert checkpointer.checkpoints == 0
    _wait(lambda: checkpointer.checkpoints == 1, seconds=5.0)  # about a round after
    assert checkpointer.last_error is None


def test_output_below_a_flood_keeps_the_normal_pace(
    writer: StoreWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A session printing steadily (here ~2.5 MiB/s, under FLOOD_BYTES a second) is
    # checkpointed every PASSIVE_AT_BYTES as it goes, as any other writes are.
    monkeypatch.setattr(checkpoint_mod, "PASSIVE_AT_BYTES", 1024 * 1024)
    checkpointer = _checkpointer(writer)
    deadline = time.monotonic() + 10.0
    while checkpointer.checkpoints == 0:
        assert time.monotonic() < deadline, "no checkpoint while output kept coming"
        writer.submit(AppendEvents([NewEvent("s1", "output", ROW, "clean")])).result(10)
        time.sleep(0.1)
    assert not checkpointer.flooding(time.monotonic())


def test_a_log_past_its_bound_is_emptied(
    writer: StoreWriter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A reader on an old snapshot (or a writer that never pauses) keeps passive
    # checkpoints from resetting the log; past FORCE_AT_BYTES a truncating checkpoint
    # makes the writer wait once and empties the file.
    monkeypatch.setattr(checkpoint_mod, "PASSIVE_AT_BYTES", 1024 * 1024)
    monkeypatch.setattr(checkpoint_mod, "FORCE_AT_BYTES", 2 * 1024 * 1024)
    monkeypatch.setattr(checkpoint_mod, "IDLE_SECONDS", 0.2)
    monkeypatch.setattr(checkpoint_mod, "QUIET_SECONDS", 0.2)
    path = str(tmp_path / "coven.sqlite3")  # the fixture's
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        writer.submit(InsertSession(_session())).result(10)
        reader.execute("BEGIN")
        reader.execute("SELECT COUNT(*) FROM events").fetchone()  # holds its snapshot
        for _ in range(16):  # 4 MiB of log that cannot be reset meanwhile
            writer.submit(AppendEvents([NewEvent("s1", "output", ROW, "clean")])).result(10)
        assert os.path.getsize(path + "-wal") > 2 * 1024 * 1024
        reader.execute("COMMIT")
        # Nothing is written after the reader lets go: an append here could land just
        # after the truncation and grow the file again (a passive checkpoint never
        # shrinks it), which failed this test under load. The pending truncation, or the
        # round that retries it, empties the file.
        _wait(lambda: os.path.getsize(path + "-wal") == 0)
    finally:
        reader.close()
    assert writer._checkpointer.last_error is None


def test_nothing_written_nothing_checkpointed(tmp_path: Path) -> None:
    path = str(tmp_path / "coven.sqlite3")
    initialize(path)
    checkpointer = checkpoint_mod.Checkpointer(path)
    checkpointer.start()
    checkpointer.wrote(0)
    checkpointer.stop()
    assert checkpointer.checkpoints == 0
