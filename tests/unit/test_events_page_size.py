"""Events pages are filled to the response limit, and never over it with two events or more.

Before: each event was estimated at twice its stored payload, so a page of 1 MiB
outputs held one event and read a second one only to leave it out. Now the estimate
is an eighth over the payload, and ``encode_events_page`` moves events whose encoding
outgrew it (text dense in quotes, backslashes, control characters) to the next page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
import pytest

from coven.runtime import queries
from coven.runtime.records import to_event_record
from coven.schema import Cursor, EventsPage
from coven.store import (
    AppendEvents,
    InsertSession,
    NewEvent,
    SessionRow,
    StoreReader,
    encode_payload,
    open_store,
)

STAMP = "2026-11-30T00:00:00.000000000Z"
MIB = 1024 * 1024


@contextmanager
def _store(tmp: Path, texts: list[str]) -> Iterator[StoreReader]:
    """A real store with session ``s`` whose output events are ``texts``, in order."""
    writer, reader = open_store(str(tmp / "coven.sqlite3"))
    try:
        row = SessionRow(
            id="s",
            project_root="/p",
            harness="codex",
            title="t",
            status="running",
            created_at=STAMP,
            updated_at=STAMP,
        )
        writer.submit(InsertSession(row)).result()
        for text in texts:
            event = NewEvent("s", "output", encode_payload({"data": text}), "clean")
            writer.submit(AppendEvents([event])).result()
        yield reader
    finally:
        writer.stop()
        reader.close()


def _pages(reader: StoreReader) -> list[tuple[bytes, dict[str, Any]]]:
    """Follow the cursor from the start as the API does; each page's body and JSON."""
    out: list[tuple[bytes, dict[str, Any]]] = []
    after = 0
    while True:
        rows, more = queries.read_events(reader, "s", after, 1000)
        events = [to_event_record(r) for r in rows]
        page = EventsPage(events, Cursor(events[-1].seq) if events else None, more)
        body = queries.encode_events_page(page)
        decoded = json.loads(body)
        out.append((body, decoded))
        if not decoded["hasMore"]:
            return out
        after = decoded["nextCursor"]["afterSeq"]


def _read_back(pages: list[tuple[bytes, dict[str, Any]]]) -> list[str]:
    texts: list[str] = []
    for _body, page in pages:
        for event in page["events"]:
            texts.append(json.loads(event["payload_json"])["data"])
    return texts


def test_a_page_of_1_mib_outputs_holds_three_of_them(tmp_path: Path) -> None:
    texts = [f"{n:08d}" + "x" * (MIB - 8) for n in range(7)]
    with _store(tmp_path, texts) as reader:
        pages = _pages(reader)
        assert [len(page["events"]) for _b, page in pages] == [3, 3, 1]
        assert all(len(body) <= queries.RESPONSE_LIMIT for body, _p in pages)
        assert _read_back(pages) == texts


def test_pages_of_box_drawing_and_cjk_text_fit_without_being_cut(tmp_path: Path) -> None:
    # Three UTF-8 bytes per character: estimated by characters, the first page would
    # take all eight events, three times over the limit, and be cut after encoding.
    texts = [f"{n:02d}" + "─│漢字" * 100_000 for n in range(8)]
    with _store(tmp_path, texts) as reader:
        after, seen = 0, 0
        while True:
            rows, more = queries.read_events(reader, "s", after, 1000)
            page = EventsPage([to_event_record(r) for r in rows], Cursor(rows[-1].seq), more)
            body = queries.encode_events_page(page)
            assert len(body) <= queries.RESPONSE_LIMIT
            assert len(json.loads(body)["events"]) == len(rows)  # nothing cut
            seen += len(rows)
            if not more:
                break
            after = rows[-1].seq
        assert seen == len(texts)


@pytest.mark.parametrize("char", ['"', "\\", "\x1b"])
def test_text_that_outgrows_its_estimate_moves_to_the_next_page(tmp_path: Path, char: str) -> None:
    # Each stored character is escaped once in the payload and again in the page: the
    # encoded events are two to eleven times their estimate.
    texts = [f"{n:02d}" + char * 300_000 for n in range(9)]
    with _store(tmp_path, texts) as reader:
        pages = _pages(reader)
        assert len(pages) >= 3
        for body, page in pages:
            assert len(body) <= queries.RESPONSE_LIMIT or len(page["events"]) == 1
            if page["hasMore"]:
                assert page["nextCursor"] == {"afterSeq": page["events"][-1]["seq"]}
        assert _read_back(pages) == texts  # every event once, in order


def test_one_event_over_the_limit_is_still_sent_whole(tmp_path: Path) -> None:
    texts = ['"' * 1_500_000, "after"]  # stored as 3 MB, encoded as 6 MB
    with _store(tmp_path, texts) as reader:
        pages = _pages(reader)
        assert len(pages[0][0]) > queries.RESPONSE_LIMIT
        assert len(pages[0][1]["events"]) == 1
        assert _read_back(pages) == texts


def test_a_page_within_the_limit_is_encoded_as_it_is(tmp_path: Path) -> None:
    texts = ["plain \x1b[1mtext\x1b[0m\r\n" * 1000, '"quoted"']
    with _store(tmp_path, texts) as reader:
        rows, more = queries.read_events(reader, "s", 0, None)
        page = EventsPage([to_event_record(r) for r in rows], Cursor(rows[-1].seq), more)
        assert queries.encode_events_page(page) == msgspec.json.encode(page)
