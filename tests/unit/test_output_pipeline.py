"""The runtime's output pipeline on its own: what is sealed into events equals what was read."""

from __future__ import annotations

import asyncio
import itertools
from concurrent.futures import Future

import pytest

from coven.redaction import StreamRedactor
from coven.runtime.output import OutputPipeline, utf8_len


class Store:
    """A stand-in writer: commits instantly (or on demand) with increasing seqs."""

    def __init__(self, instant: bool = True) -> None:
        self.rows: list[tuple[str, str]] = []
        self.waiting: list[Future[int]] = []
        self.instant = instant
        self._seq = itertools.count(1)

    def submit(self, text: str, status: str) -> Future[int]:
        self.rows.append((text, status))
        future: Future[int] = Future()
        if self.instant:
            future.set_result(next(self._seq))
        else:
            self.waiting.append(future)
        return future

    def commit_all(self) -> None:
        waiting, self.waiting = self.waiting, []
        for future in waiting:
            future.set_result(next(self._seq))

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.rows)


def _pipeline(store: Store) -> OutputPipeline:
    return OutputPipeline(
        asyncio.get_running_loop(),
        store.submit,
        StreamRedactor(),
        on_pause=lambda: None,
        on_resume=lambda: None,
        on_commit=lambda _seq: None,
    )


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_complete_lines_are_stored_exactly() -> None:
    store = Store()
    pipeline = _pipeline(store)
    for n in range(50):
        pipeline.feed(b"line %d\r\n" % n)
        await _settle()
    pipeline.finish()
    await _settle()
    assert store.text == "".join(f"line {n}\r\n" for n in range(50))
    assert pipeline.idle


async def test_a_line_split_across_reads_is_stored_once() -> None:
    store = Store()
    pipeline = _pipeline(store)
    pipeline.feed(b"first half of a line ")
    await _settle()
    pipeline.feed(b"second half\r\nnext\r\n")
    await _settle()
    pipeline.finish()
    await _settle()
    assert store.text == "first half of a line second half\r\nnext\r\n"


async def test_flood_in_odd_chunks_is_stored_byte_for_byte_while_commits_lag() -> None:
    store = Store(instant=False)
    pipeline = _pipeline(store)
    data = b"".join(b"%08d abcdefghijklmnopqrstuvwxyz\n" % n for n in range(3000))
    for start in range(0, len(data), 4093):
        pipeline.feed(data[start : start + 4093])
        if start % 3 == 0:
            store.commit_all()
            await _settle()
    pipeline.finish()
    store.commit_all()
    await _settle()
    assert store.text == data.decode()
    assert pipeline.stored_bytes == pipeline.emitted_bytes == len(data)


async def test_a_secret_split_across_reads_is_redacted() -> None:
    store = Store()
    pipeline = _pipeline(store)
    pipeline.feed(b"key: sk-abcdefghij")
    await _settle()
    pipeline.feed(b"klmnopqrstuvwxyz0123 done\r\n")
    pipeline.finish()
    await _settle()
    assert "sk-abcdefghij" not in store.text
    assert "[REDACTED]" in store.text
    assert any(status == "redacted" for _, status in store.rows)


@pytest.mark.parametrize(
    "text",
    ["", "plain ascii\r\n", "héllo wörld", "emoji 🜁 and 漢字", "lone surrogate \udcff here"],
)
def test_utf8_len_counts_bytes_as_stored(text: str) -> None:
    assert utf8_len(text) == len(text.encode("utf-8", "replace"))


def _offset_pipeline(store: Store, offsets: list[tuple[int, int]], base: int = 0) -> OutputPipeline:
    return OutputPipeline(
        asyncio.get_running_loop(),
        store.submit,
        StreamRedactor(),
        on_pause=lambda: None,
        on_resume=lambda: None,
        on_commit=lambda _seq: None,
        on_offset=lambda seq, offset: offsets.append((seq, offset)),
        byte_base=base,
    )


async def test_committed_byte_offsets_follow_the_stream_across_split_characters() -> None:
    """What a holder is told it may forget: exactly the bytes behind committed events."""
    store = Store(instant=False)
    offsets: list[tuple[int, int]] = []
    pipeline = _offset_pipeline(store, offsets, base=1000)
    data = "".join(f"{n} ünïcødé ✓ line\r\n" for n in range(400)).encode()
    for start in range(0, len(data), 777):  # splits multi-byte characters
        pipeline.feed(data[start : start + 777])
        if start % 2 == 0:
            store.commit_all()
            await _settle()
    pipeline.finish()
    store.commit_all()
    await _settle()
    assert store.text == data.decode()
    assert offsets, "no offset was reported"
    # Each reported offset is the base plus the UTF-8 size of everything committed so far.
    committed = 0
    by_seq = dict(offsets)
    for seq, (text, _status) in enumerate(store.rows, start=1):
        committed += len(text.encode())
        if seq in by_seq:
            assert by_seq[seq] == 1000 + committed
    assert offsets[-1][1] == 1000 + len(data)
    assert [o for _s, o in offsets] == sorted(o for _s, o in offsets)


async def test_no_offset_is_claimed_past_held_back_text() -> None:
    store = Store()
    offsets: list[tuple[int, int]] = []
    pipeline = _offset_pipeline(store, offsets)
    data = b"visible line\r\nthen sk-abc"
    pipeline.feed(data)
    await _settle()
    # What the redactor holds back (a possible secret) is not committed: the offset
    # stops right before it, and moves on once it is stored.
    committed = sum(len(t.encode()) for t, _ in store.rows)
    assert 0 < committed < len(data)
    assert offsets[-1][1] == committed
    pipeline.finish()
    await _settle()
    assert offsets[-1][1] == len(data)
