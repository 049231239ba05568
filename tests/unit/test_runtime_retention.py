"""Retention: the prune tick's bounds, its free-disk floor (the reading injected, no disk
filled), the recorded prune time, and the settings read from the daemon's environment."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from coven.errors import InvalidRequest
from coven.redaction import Redactor
from coven.runtime import retention as retention_module
from coven.runtime.health import HealthReport, storage_status
from coven.runtime.ledger import Ledger
from coven.runtime.live import LiveTable
from coven.runtime.output import DropStats
from coven.runtime.retention import (
    FULL_SCAN_SECONDS,
    MIN_FREE_DISK_BYTES,
    TICK_ROUND_EVENTS,
    TICK_ROUNDS,
    Retention,
    RetentionSettings,
)
from coven.runtime.search import SearchService
from coven.schema.meta import DaemonIdentity
from coven.store import (
    AppendEvents,
    InsertSession,
    NewEvent,
    SessionRow,
    encode_payload,
    now_rfc3339,
    open_store,
)
from coven.store.search import PruneCandidate

AT = "2026-11-20T10:00:00.000000000Z"
OLD = "2020-01-01T00:00:00.000000000Z"
PLENTY = 50 * 1024**3


class Disk:
    """The free-disk reading the retention and health see (settable by the test)."""

    def __init__(self) -> None:
        self.free: int | None = PLENTY

    def __call__(self) -> int | None:
        return self.free


@pytest.fixture
async def ledger(tmp_path: Path) -> AsyncIterator[Ledger]:
    writer, reader = open_store(str(tmp_path / "coven.sqlite3"))
    ledger = Ledger(asyncio.get_running_loop(), writer, reader)
    try:
        yield ledger
    finally:
        ledger.close()
        writer.stop()
        reader.close()


def count_searches(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The cutoffs of every search for old events (the scan a tick should rarely make)."""
    searched: list[str] = []
    search = ledger.reader.prune_candidates

    def counted(cutoff: str) -> list[PruneCandidate]:
        searched.append(cutoff)
        return search(cutoff)

    monkeypatch.setattr(ledger.reader, "prune_candidates", counted)
    return searched


def retention(ledger: Ledger, disk: Disk, settings: RetentionSettings | None = None) -> Retention:
    search = SearchService(ledger, Redactor())
    return Retention(ledger, search.clean, settings or RetentionSettings(), disk)


async def add_session(ledger: Ledger, session_id: str, status: str, events: int, at: str) -> None:
    await ledger.write(InsertSession(SessionRow(session_id, "/p", "codex", "t", status, AT, AT)))
    batch = [
        NewEvent(session_id, "output", encode_payload({"data": f"line {i}\n"}), "clean", at)
        for i in range(events)
    ]
    await ledger.write(AppendEvents(batch))


async def count(ledger: Ledger, session_id: str) -> int:
    return len(await ledger.read(ledger.reader.list_events, session_id))


async def test_a_tick_prunes_old_events_of_finished_sessions_in_bounded_rounds(
    ledger: Ledger,
) -> None:
    budget = TICK_ROUNDS * TICK_ROUND_EVENTS
    await add_session(ledger, "done", "completed", budget + 200, OLD)
    await add_session(ledger, "live", "running", 30, OLD)
    await add_session(ledger, "fresh", "completed", 10, now_rfc3339())
    keeper = retention(ledger, Disk())
    assert keeper.last_prune_at is None
    assert await keeper.tick() == budget  # one tick deletes at most its budget...
    assert await count(ledger, "done") == 200
    assert keeper.last_prune_at is not None
    assert await keeper.tick() == 200  # ...and the next one the rest
    assert await count(ledger, "done") == 0
    assert await count(ledger, "live") == 30  # never a running session's
    assert await count(ledger, "fresh") == 10  # nor recent events
    assert (await ledger.session("done")).title == "t"  # the session row stays
    assert await keeper.tick() == 0


async def test_a_tick_reads_one_row_while_the_first_event_is_recent_and_searches_hourly(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(retention_module.time, "monotonic", lambda: clock[0])
    searches = count_searches(ledger, monkeypatch)
    await add_session(ledger, "fresh", "completed", 10, now_rfc3339())
    keeper = retention(ledger, Disk())
    assert await keeper.tick() == 0
    assert len(searches) == 1  # the first tick searches
    # Old events written after newer ones (a clock set back): the first event is recent,
    # so the next ticks do not search...
    await add_session(ledger, "skewed", "completed", 7, OLD)
    clock[0] += 60
    assert await keeper.tick() == 0
    assert len(searches) == 1
    assert await count(ledger, "skewed") == 7
    assert keeper.last_prune_at is not None  # a tick that did not search still ran
    # ...until a full scan is due again.
    clock[0] += FULL_SCAN_SECONDS
    assert await keeper.tick() == 7
    assert len(searches) == 2
    assert await count(ledger, "skewed") == 0
    assert await count(ledger, "fresh") == 10


async def test_a_tick_searches_while_the_first_event_is_old(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    searches = count_searches(ledger, monkeypatch)
    await add_session(ledger, "live", "running", 3, OLD)  # never pruned, always first
    keeper = retention(ledger, Disk())
    for _ in range(3):
        assert await keeper.tick() == 0
    assert len(searches) == 3
    await add_session(ledger, "done", "completed", 4, OLD)
    assert await keeper.tick() == 4
    assert await count(ledger, "live") == 3


async def test_under_the_free_disk_floor_a_tick_does_nothing_and_health_says_so(
    ledger: Ledger,
) -> None:
    await add_session(ledger, "done", "completed", 5, OLD)
    disk = Disk()
    keeper = retention(ledger, disk)
    identity = DaemonIdentity(pid=1, startedAt=AT, socket="/s")
    health = HealthReport(ledger, LiveTable(), DropStats(), identity, keeper)
    disk.free = MIN_FREE_DISK_BYTES - 1
    assert await keeper.tick() is None
    assert keeper.blocked and keeper.last_prune_at is None
    assert await count(ledger, "done") == 5
    storage = health.document().storage
    assert storage.status == "critical" and storage.maintenanceBlocked
    assert storage.freeDiskBytes == MIN_FREE_DISK_BYTES - 1
    assert storage.lastPruneAt is None and storage.pruneAgeSeconds is None
    disk.free = MIN_FREE_DISK_BYTES  # at the floor: it runs again
    assert await keeper.tick() == 5
    assert not keeper.blocked
    time.sleep(1.1)  # health reads the disk at most once a second
    storage = health.document().storage
    assert storage.status == "warning" and not storage.maintenanceBlocked
    assert storage.lastPruneAt == keeper.last_prune_at
    assert storage.pruneAgeSeconds is not None and 0 <= storage.pruneAgeSeconds < 60


def test_storage_status_order() -> None:
    assert storage_status("healthy", None) == "ok"
    assert storage_status("healthy", PLENTY) == "ok"
    assert storage_status("healthy", 2**30 - 1) == "warning"
    assert storage_status("healthy", MIN_FREE_DISK_BYTES - 1) == "critical"
    assert storage_status("degraded", MIN_FREE_DISK_BYTES - 1) == "degraded"


async def test_the_prune_time_is_kept_in_the_store(ledger: Ledger) -> None:
    first = retention(ledger, Disk())
    await first.tick()
    assert first.last_prune_at is not None
    assert retention(ledger, Disk()).last_prune_at == first.last_prune_at


async def test_the_background_tick_runs_after_its_first_delay(ledger: Ledger) -> None:
    await add_session(ledger, "done", "completed", 3, OLD)
    keeper = retention(ledger, Disk(), RetentionSettings(first_delay=0.05, interval=0.05))
    keeper.start()
    try:
        deadline = time.monotonic() + 10
        while await count(ledger, "done"):
            assert time.monotonic() < deadline, "the tick never pruned"
            await asyncio.sleep(0.05)
    finally:
        await keeper.close()


async def test_a_request_without_days_uses_the_retention(ledger: Ledger) -> None:
    await add_session(ledger, "done", "completed", 4, OLD)
    keeper = retention(ledger, Disk(), RetentionSettings(event_days=7))
    plan = await keeper.prune(None, dry_run=True)
    assert plan.eventDays == 7 and plan.events == 4 and await count(ledger, "done") == 4
    for days in (0, -1, 36501):
        with pytest.raises(InvalidRequest):
            await keeper.prune(days, dry_run=True)


@pytest.mark.parametrize(
    ("env", "days", "first", "interval"),
    [
        ({}, 30, 60.0, 60.0),
        ({"COVEN_LOG_RETENTION_DAYS": "7"}, 7, 60.0, 60.0),
        ({"COVEN_LOG_RETENTION_DAYS": "0"}, 30, 60.0, 60.0),
        ({"COVEN_LOG_RETENTION_DAYS": "abc"}, 30, 60.0, 60.0),
        ({"COVEN_LOG_RETENTION_DAYS": "-3"}, 30, 60.0, 60.0),
        ({"COVEN_LOG_RETENTION_DAYS": "2.5"}, 30, 60.0, 60.0),
        ({"COVEN_PRUNE_INTERVAL_SECONDS": "0.5"}, 30, 60.0, 0.5),
        ({"COVEN_PRUNE_FIRST_DELAY_SECONDS": "2", "COVEN_PRUNE_INTERVAL_SECONDS": "x"}, 30, 2, 60),
        ({"COVEN_PRUNE_FIRST_DELAY_SECONDS": "0"}, 30, 60.0, 60.0),
    ],
)
def test_settings_from_the_environment(
    env: dict[str, str], days: int, first: float, interval: float
) -> None:
    assert RetentionSettings.from_env(env) == RetentionSettings(days, first, interval)
