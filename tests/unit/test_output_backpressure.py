"""Backpressure and persistence outages in the output pipeline.

A stalled store first pauses reading (the harness blocks, nothing is lost);
only when persistence stays down past the grace period does the pipeline let
the harness run on, counting exactly what it could not store.
"""

from __future__ import annotations

import asyncio
import itertools
from concurrent.futures import Future

import pytest

from coven.redaction import StreamRedactor
from coven.runtime import output
from coven.runtime.output import DropStats, OutputPipeline


class StalledStore:
    def __init__(self) -> None:
        self.rows: list[str] = []
        self.waiting: list[Future[int]] = []
        self.markers: list[tuple[int, int]] = []
        self.healthy = True
        self._seq = itertools.count(1)

    def submit(self, text: str, _status: str) -> Future[int]:
        self.rows.append(text)
        future: Future[int] = Future()
        self.waiting.append(future)
        return future

    def submit_marker(self, dropped_bytes: int, dropped_events: int) -> Future[int]:
        self.markers.append((dropped_bytes, dropped_events))
        future: Future[int] = Future()
        future.set_result(next(self._seq))
        return future

    def commit_all(self) -> None:
        waiting, self.waiting = self.waiting, []
        for future in waiting:
            future.set_result(next(self._seq))


class Reader:
    def __init__(self) -> None:
        self.paused = False
        self.pauses = 0
        self.resumes = 0

    def pause(self) -> None:
        self.paused = True
        self.pauses += 1

    def resume(self) -> None:
        self.paused = False
        self.resumes += 1


def make(store: StalledStore, reader: Reader, drops: DropStats) -> OutputPipeline:
    return OutputPipeline(
        asyncio.get_running_loop(),
        store.submit,
        StreamRedactor(),
        on_pause=reader.pause,
        on_resume=reader.resume,
        on_commit=lambda _seq: None,
        storage_ok=lambda: store.healthy,
        submit_marker=store.submit_marker,
        drops=drops,
    )


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


CHUNK = b"x" * 1023 + b"\n"


async def test_a_slow_store_pauses_reading_and_loses_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(output, "PAUSE_ABOVE", 64 * 1024)
    monkeypatch.setattr(output, "RESUME_BELOW", 16 * 1024)
    store, reader, drops = StalledStore(), Reader(), DropStats()
    pipeline = make(store, reader, drops)
    fed = 0
    while not reader.paused:
        pipeline.feed(CHUNK)
        fed += len(CHUNK)
    assert reader.pauses == 1
    store.commit_all()
    await settle()
    assert not reader.paused and reader.resumes == 1
    pipeline.finish()
    store.commit_all()
    await settle()
    assert "".join(store.rows) == (CHUNK * (fed // len(CHUNK))).decode()
    assert store.markers == [] and drops.bytes == 0


async def test_a_long_outage_lets_the_harness_run_on_with_exact_markers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(output, "PAUSE_ABOVE", 64 * 1024)
    monkeypatch.setattr(output, "OUTAGE_GRACE_SECONDS", 0.05)
    store, reader, drops = StalledStore(), Reader(), DropStats()
    pipeline = make(store, reader, drops)
    while not reader.paused:
        pipeline.feed(CHUNK)
    store.healthy = False
    await asyncio.sleep(0.1)
    assert not reader.paused, "reading resumes once the outage outlasts the grace period"
    for _ in range(10):
        pipeline.feed(CHUNK)
    assert drops.bytes == 10 * len(CHUNK) and drops.events == 10
    store.healthy = True
    store.commit_all()
    pipeline.feed(b"after the outage\n")
    assert store.markers == [(10 * len(CHUNK), 10)]
    pipeline.finish()
    store.commit_all()
    await settle()
    assert "".join(store.rows).endswith("after the outage\n")


async def test_a_short_outage_drops_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "PAUSE_ABOVE", 64 * 1024)
    monkeypatch.setattr(output, "OUTAGE_GRACE_SECONDS", 10.0)
    store, reader, drops = StalledStore(), Reader(), DropStats()
    pipeline = make(store, reader, drops)
    while not reader.paused:
        pipeline.feed(CHUNK)
    store.healthy = False
    await asyncio.sleep(0.05)
    assert reader.paused
    store.healthy = True
    store.commit_all()
    await settle()
    assert not reader.paused
    assert store.markers == [] and drops.events == 0
