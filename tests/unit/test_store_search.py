"""Full-text search in the store: segments behind a watermark, titles, pruning, migration."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coven.screen.plain import plain_text
from coven.store import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    AppendEvents,
    DeleteSession,
    IndexOutput,
    InsertSession,
    NewEvent,
    PruneSession,
    SessionRow,
    StoreReader,
    StoreWriter,
    UpdateSession,
    encode_payload,
    fts_query,
    open_store,
)
from coven.store.database import connect
from coven.store.search import SEGMENT_CHARS


def clean(text: str) -> str:
    return plain_text(text).replace("hunter2", "[REDACTED]")


def session(session_id: str, title: str = "t", status: str = "running") -> SessionRow:
    at = "2026-11-20T10:00:00.000000000Z"
    return SessionRow(
        id=session_id,
        project_root="/p",
        harness="codex",
        title=title,
        status=status,
        created_at=at,
        updated_at=at,
    )


def output(session_id: str, text: str, at: str = "2026-11-20T10:00:01.000000000Z") -> NewEvent:
    return NewEvent(session_id, "output", encode_payload({"data": text}), "clean", at)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[StoreWriter, StoreReader]]:
    writer, reader = open_store(str(tmp_path / "coven.sqlite3"))
    yield writer, reader
    writer.stop()
    reader.close()


def run(writer: StoreWriter, op: Any) -> Any:
    return writer.submit(op).result(timeout=10)


def index_all(writer: StoreWriter) -> None:
    while run(writer, IndexOutput(clean, max_chars=4096)).more:
        pass


def find(reader: StoreReader, words: str, limit: int = 20) -> list[Any]:
    return reader.search(fts_query(words), limit)


def test_output_is_searchable_only_after_indexing_and_without_terminal_controls(
    store: tuple[StoreWriter, StoreReader],
) -> None:
    writer, reader = store
    run(writer, InsertSession(session("s1")))
    run(
        writer,
        AppendEvents([output("s1", "\x1b[31mcompil"), output("s1", "ing\x1b[0m widget\r\n")]),
    )
    assert find(reader, "compiling") == []
    index_all(writer)
    hits = find(reader, "compiling")
    assert [(h.kind, h.session_id) for h in hits] == [("output", "s1")]
    snippet = hits[0].snippet
    assert f"{HIGHLIGHT_START}compiling{HIGHLIGHT_END}" in snippet
    assert "\x1b" not in snippet and "31m" not in snippet
    assert hits[0].event_id is not None and hits[0].seq is not None


def test_text_joined_by_stripping_is_redacted_again(store: tuple[StoreWriter, StoreReader]) -> None:
    writer, reader = store
    run(writer, InsertSession(session("s1")))
    run(writer, AppendEvents([output("s1", "password hunt\x1b[0mer2 here\n")]))
    index_all(writer)
    assert find(reader, "hunter2") == []
    assert len(find(reader, "password")) == 1


def test_a_secret_completed_by_a_later_step_is_redacted_in_the_merged_segment(
    store: tuple[StoreWriter, StoreReader],
) -> None:
    writer, reader = store
    run(writer, InsertSession(session("s1")))
    run(writer, AppendEvents([output("s1", "token hun")]))
    index_all(writer)
    run(writer, AppendEvents([output("s1", "ter2 end\n")]))
    index_all(writer)
    assert find(reader, "hunter2") == []
    assert "[REDACTED]" in find(reader, "token")[0].snippet


def test_small_segments_of_a_session_merge_and_large_output_splits(
    store: tuple[StoreWriter, StoreReader], tmp_path: Path
) -> None:
    writer, reader = store
    run(writer, InsertSession(session("s1")))
    for word in ("alpha", "beta", "gamma"):
        run(writer, AppendEvents([output("s1", f"{word}\n")]))
        index_all(writer)
    hits = find(reader, "alpha")
    assert len(hits) == 1 and find(reader, "gamma")[0].seq == hits[0].seq
    run(writer, AppendEvents([output("s1", "filler " * (SEGMENT_CHARS // 3))]))
    run(writer, AppendEvents([output("s1", "needle\n")]))
    index_all(writer)
    conn = connect(str(tmp_path / "coven.sqlite3"))
    try:
        sizes = [row[0] for row in conn.execute("SELECT length(text) FROM output_segments")]
    finally:
        conn.close()
    # alpha..gamma stay one segment; the long filler is cut into two full segments and a
    # rest, which the next output (needle) continues.
    assert len(sizes) == 4 and max(sizes) <= SEGMENT_CHARS
    assert find(reader, "needle")[0].seq != hits[0].seq


def test_flood_output_is_cut_into_segments_that_name_their_own_events(
    store: tuple[StoreWriter, StoreReader], tmp_path: Path
) -> None:
    writer, reader = store
    run(writer, InsertSession(session("s1")))
    lines = "".join(f"line {n} lorem ipsum\r\n" for n in range(4000))  # ~88 KiB, one event
    first = run(writer, AppendEvents([output("s1", lines)]))[0].seq
    second = run(
        writer, AppendEvents([output("s1", lines.replace("line 3999 ", "line 3999 zebra "))])
    )
    index_all(writer)
    conn = connect(str(tmp_path / "coven.sqlite3"))
    try:
        rows = conn.execute("SELECT first_seq, last_seq, text FROM output_segments").fetchall()
    finally:
        conn.close()
    assert max(len(text) for _f, _l, text in rows) <= SEGMENT_CHARS
    # Pieces are cut at line ends: every line is whole in exactly one segment.
    assert sum(text.count("lorem ipsum") for _f, _l, text in rows) == 8000
    assert find(reader, "zebra")[0].seq == second[0].seq  # the event it is in, not the first
    assert find(reader, '"line 0"')[0].seq == first
    assert len(find(reader, "lorem", limit=50)) == len(rows) > 2


def test_titles_are_indexed_by_triggers_and_ranked_with_output(
    store: tuple[StoreWriter, StoreReader],
) -> None:
    writer, reader = store
    run(writer, InsertSession(session("s1", title="fix the flaky parser")))
    run(writer, InsertSession(session("s2", title="other")))
    run(writer, AppendEvents([output("s2", "the parser is flaky\n")]))
    index_all(writer)
    assert {(h.kind, h.session_id) for h in find(reader, "flaky parser")} == {
        ("title", "s1"),
        ("output", "s2"),
    }
    run(writer, UpdateSession("s1", {"title": "renamed"}))
    assert [h.session_id for h in find(reader, "flaky")] == ["s2"]
    run(writer, UpdateSession("s2", {"status": "completed"}))
    run(writer, DeleteSession("s2"))
    assert find(reader, "flaky") == []
    assert [h.kind for h in find(reader, "renamed")] == ["title"]


@pytest.mark.parametrize("words", ['"', "::", 'a"b', "NEAR(", "*", "-x", "AND OR"])
def test_any_words_make_a_valid_query(store: tuple[StoreWriter, StoreReader], words: str) -> None:
    writer, reader = store
    run(writer, InsertSession(session("s1", title='a"b NEAR( AND OR -x')))
    find(reader, words)  # never an FTS5 syntax error


def test_prefix_queries(store: tuple[StoreWriter, StoreReader]) -> None:
    writer, reader = store
    run(writer, InsertSession(session("s1", title="deployment done")))
    assert len(find(reader, "deploy*")) == 1
    assert find(reader, "deploy") == []


def test_prune_deletes_old_events_of_finished_sessions_and_their_index(
    store: tuple[StoreWriter, StoreReader],
) -> None:
    writer, reader = store
    old, new = "2026-01-01T00:00:00.000000000Z", "2026-11-20T00:00:00.000000000Z"
    run(writer, InsertSession(session("done", status="completed")))
    run(writer, InsertSession(session("live")))
    run(writer, AppendEvents([output("done", "ancient words\n", old)]))
    run(writer, AppendEvents([output("done", "recent words\n", new)]))
    run(writer, AppendEvents([output("live", "ancient live words\n", old)]))
    index_all(writer)
    cutoff = "2026-06-01T00:00:00.000000000Z"
    candidates = reader.prune_candidates(cutoff)
    assert [(c.session_id, c.events) for c in candidates] == [("done", 1)]
    assert run(writer, PruneSession("done", candidates[0].max_seq, cutoff, clean)) == 1
    assert [h.session_id for h in find(reader, "ancient")] == ["live"]
    assert [h.session_id for h in find(reader, "recent")] == ["done"]  # re-indexed survivor
    assert [e.kind for e in reader.list_events("done")] == ["output"]
    # A session that is live again is never pruned.
    assert run(writer, PruneSession("live", 10**9, cutoff, clean)) == 0


def test_an_existing_store_migrates_and_backfills(tmp_path: Path) -> None:
    path = str(tmp_path / "coven.sqlite3")
    writer, reader = open_store(path)
    run(writer, InsertSession(session("s1", title="legacy title")))
    run(writer, AppendEvents([output("s1", "legacy output\n")]))
    writer.stop()
    reader.close()
    conn = sqlite3.connect(path)
    for name in ("output_index", "title_index", "output_segments", "search_state"):
        conn.execute(f"DROP TABLE {name}")
    for trigger in ("sessions_title_ai", "sessions_title_au", "sessions_title_ad"):
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    conn.execute("ALTER TABLE sessions DROP COLUMN review_state")  # migration 4
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    writer, reader = open_store(path)
    try:
        assert [h.kind for h in find(reader, "legacy")] == ["title"]
        index_all(writer)
        assert sorted(h.kind for h in find(reader, "legacy")) == ["output", "title"]
    finally:
        writer.stop()
        reader.close()


def test_a_later_store_without_the_search_tables_gets_them(tmp_path: Path) -> None:
    path = str(tmp_path / "coven.sqlite3")
    writer, reader = open_store(path)
    run(writer, InsertSession(session("s1", title="later title")))
    writer.stop()
    reader.close()
    conn = sqlite3.connect(path)
    for name in ("output_index", "title_index", "output_segments", "search_state"):
        conn.execute(f"DROP TABLE {name}")
    for trigger in ("sessions_title_ai", "sessions_title_au", "sessions_title_ad"):
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    conn.commit()
    conn.close()
    writer, reader = open_store(path)  # same user_version: no migration runs
    try:
        assert [h.kind for h in find(reader, "later")] == ["title"]
    finally:
        writer.stop()
        reader.close()


def test_a_word_found_everywhere_is_ranked_among_its_newest_matches(
    store: tuple[StoreWriter, StoreReader], monkeypatch: pytest.MonkeyPatch
) -> None:
    from coven.store import search as search_mod

    writer, reader = store
    run(writer, InsertSession(session("s1")))
    seqs = []
    for n in range(10):  # each event is a segment of its own (each fills one)
        text = f"common word{n} " + "x" * (SEGMENT_CHARS - 30) + "\n"
        seqs.append(run(writer, AppendEvents([output("s1", text)]))[0].seq)
    index_all(writer)
    monkeypatch.setattr(search_mod, "RANKED_MATCHES", 3)
    assert sorted(hit.seq for hit in find(reader, "common")) == seqs[-3:]
    assert [hit.seq for hit in find(reader, "word0")] == [seqs[0]]  # a rare word: all of it


def test_a_nul_in_a_query_separates_words(store: tuple[StoreWriter, StoreReader]) -> None:
    writer, reader = store
    run(writer, InsertSession(session("s1")))
    run(writer, AppendEvents([output("s1", "alpha beta\n")]))
    index_all(writer)
    assert fts_query("alpha\x00beta") == '"alpha" "beta"'
    assert len(find(reader, "alpha\x00beta")) == 1  # no "unterminated string" from SQLite
    assert find(reader, '\x00"\x00') == []
