"""Property tests: cursor pagination never skips, repeats or reorders anything.

Sessions are paged by the opaque keyset cursor (created_at, id) the API hands out;
events by ``afterSeq`` with ``limit``. Both run against a real SQLite store.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from coven.runtime import queries
from coven.store import (
    AppendEvents,
    InsertSession,
    NewEvent,
    SessionRow,
    encode_payload,
    open_store,
)

STAMPS = [f"2026-11-24T00:00:0{n}.000000000Z" for n in range(4)]  # few values: many ties


@settings(max_examples=40, deadline=None)
@given(
    sessions=st.lists(st.tuples(st.sampled_from(STAMPS), st.booleans()), min_size=0, max_size=40),
    limit=st.integers(min_value=1, max_value=12),
    include_archived=st.booleans(),
)
def test_session_pages_cover_every_row_exactly_once_in_order(
    sessions: list[tuple[str, bool]], limit: int, include_archived: bool
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        writer, reader = open_store(str(Path(tmp) / "coven.sqlite3"))
        try:
            expected = []
            for n, (stamp, archived) in enumerate(sessions):
                row = SessionRow(
                    id=f"s{n:03d}",
                    project_root="/p",
                    harness="codex",
                    title="t",
                    status="completed",
                    created_at=stamp,
                    updated_at=stamp,
                    archived_at=stamp if archived else None,
                )
                writer.submit(InsertSession(row)).result()
                if include_archived or not archived:
                    expected.append((stamp, row.id))
            expected.sort(reverse=True)
            seen: list[tuple[str, str]] = []
            before = None
            while True:
                rows = reader.list_sessions(
                    include_archived=include_archived, limit=limit + 1, before=before
                )
                page, more = rows[:limit], len(rows) > limit
                seen += [(r.created_at, r.id) for r in page]
                if not more:
                    break
                cursor = queries.encode_cursor(page[-1].created_at, page[-1].id)
                before = queries.decode_cursor(cursor)
                assert page, "a cursor never comes with an empty page"
            assert seen == expected
        finally:
            writer.stop()
            reader.close()


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=3000), min_size=0, max_size=60),
    limit=st.one_of(st.none(), st.integers(min_value=1, max_value=25)),
    start=st.integers(min_value=0, max_value=10),
)
def test_event_pages_cover_every_event_exactly_once(
    sizes: list[int], limit: int | None, start: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        writer, reader = open_store(str(Path(tmp) / "coven.sqlite3"))
        try:
            for sid in ("a", "b"):
                stamp = STAMPS[0]
                row = SessionRow(
                    id=sid,
                    project_root="/p",
                    harness="codex",
                    title="t",
                    status="running",
                    created_at=stamp,
                    updated_at=stamp,
                )
                writer.submit(InsertSession(row)).result()
            # Interleave two sessions so seqs of one session have gaps.
            for size in sizes:
                events = [
                    NewEvent(sid, "output", encode_payload({"data": "x" * size}), "clean")
                    for sid in ("a", "b")
                ]
                writer.submit(AppendEvents(events)).result()
            all_a = [e.seq for e in reader.list_events("a", after_seq=0)]
            after = all_a[start - 1] if 0 < start <= len(all_a) else 0
            expected = [seq for seq in all_a if seq > after]
            seen: list[int] = []
            while True:
                rows, more = queries.read_events(reader, "a", after, limit)
                assert limit is None or len(rows) <= limit
                assert not (more and not rows), "hasMore never comes with an empty page"
                seen += [r.seq for r in rows]
                if not more:
                    break
                after = rows[-1].seq
            assert seen == expected
        finally:
            writer.stop()
            reader.close()
