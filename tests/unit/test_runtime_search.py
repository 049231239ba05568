"""The search service: the index follows output in the background, searches catch it up,
and a store that cannot write never makes a search hang."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from coven.errors import InvalidRequest
from coven.redaction import Redactor
from coven.runtime.ledger import Ledger
from coven.runtime.search import SearchService, split_highlights
from coven.store import (
    AppendEvents,
    InsertSession,
    NewEvent,
    SessionRow,
    encode_payload,
    open_store,
)

AT = "2026-11-20T10:00:00.000000000Z"


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[SearchService]:
    writer, reader = open_store(str(tmp_path / "coven.sqlite3"))
    ledger = Ledger(asyncio.get_running_loop(), writer, reader)
    search = SearchService(ledger, Redactor())
    await ledger.write(InsertSession(SessionRow("s1", "/p", "codex", "t", "running", AT, AT)))
    try:
        yield search
    finally:
        await search.close()
        ledger.close()
        writer.stop()
        reader.close()


async def append(search: SearchService, text: str) -> int:
    event = NewEvent("s1", "output", encode_payload({"data": text}), "clean")
    rows = await search.ledger.write(AppendEvents([event]))
    return rows[-1].seq


async def test_the_index_follows_output_without_any_search(service: SearchService) -> None:
    service.start()
    seq = await append(service, "background words\r\n")
    deadline = time.monotonic() + 10
    while await service.ledger.read(service.ledger.reader.indexed_seq) < seq:
        assert time.monotonic() < deadline, "the background indexer never caught up"
        await asyncio.sleep(0.05)
    hits = await service.ledger.read(service.ledger.reader.search, '"background"', 5)
    assert [h.session_id for h in hits] == ["s1"]


async def test_a_search_catches_up_and_reports_complete(service: SearchService) -> None:
    await append(service, "one \x1b[1mbold\x1b[0m word\n")
    result = await service.search("bold word", None)
    assert result.complete and [h.kind for h in result.hits] == ["output"]
    hit = result.hits[0]
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["bold", "word"]


async def test_a_search_with_the_store_unable_to_write_answers_promptly(
    service: SearchService,
) -> None:
    await append(service, "indexed before the outage\n")
    assert (await service.search("outage", None)).complete
    await append(service, "committed, not indexed yet\n")
    service.ledger.writer.set_max_page_count(1)  # every write now fails: the disk is "full"
    await append_no_wait(service, "x" * 200_000)
    started = time.monotonic()
    result = await service.search("outage", None)
    assert time.monotonic() - started < 5
    assert not result.complete and [h.kind for h in result.hits] == ["output"]
    service.ledger.writer.set_max_page_count(None)


async def append_no_wait(search: SearchService, text: str) -> None:
    event = NewEvent("s1", "output", encode_payload({"data": text}), "clean")
    search.ledger.submit(AppendEvents([event]))
    deadline = time.monotonic() + 5
    while search.ledger.healthy:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(("text", "limit"), [("", None), ("   ", None), ("x", 0), ("x", 201)])
async def test_bad_searches(service: SearchService, text: str, limit: int | None) -> None:
    with pytest.raises(InvalidRequest):
        await service.search(text, limit)


def test_split_highlights() -> None:
    assert split_highlights("a \x02bc\x03 d \x02e\x03") == ("a bc d e", [(2, 4), (7, 8)])
    assert split_highlights("\x02\x03x") == ("x", [])
