"""Retention: old events are pruned on request (``POST /store/prune``) and by a background tick.

One pruner serves both. What callers rely on:

* Only events go, never session rows (an old session stays listed, with its title and
  exit, and may end up with no events), and never an event of a live session
  (``PruneSession`` re-checks the status in the transaction that deletes). The
  full-text index drops the pruned text in the same transaction. Nothing is vacuumed.
* Events are kept ``COVEN_LOG_RETENTION_DAYS`` days (a whole number from 1 to
  ``PRUNE_MAX_EVENT_DAYS``; 0 or anything else is ignored), 30 by default. A request
  without ``eventDays`` uses the same figure.
* The tick first runs ``COVEN_PRUNE_FIRST_DELAY_SECONDS`` after start, then every
  ``COVEN_PRUNE_INTERVAL_SECONDS`` (both 60 by default; 0.05 to 86400). A tick does
  nothing — it does not even read the store — while free disk on the home filesystem
  is under ``MIN_FREE_DISK_BYTES`` (health says ``critical`` and ``maintenanceBlocked``).
  Otherwise it runs at most ``TICK_ROUNDS`` rounds of at most ``TICK_ROUND_EVENTS``
  events, each round one write op committed before the next is queued, sessions with
  the oldest events first: the writer interleaves them with output, so the drain never
  waits long behind a prune. A tick first reads the store's first event: while it is
  newer than the cutoff there is nothing to prune and the tick costs that one row
  (the search for old events scans every event: 132 ms at 1 GiB, `bench/scale.py`). Events are
  appended in time order, but a clock set back can break that, so at least every
  ``FULL_SCAN_SECONDS`` a tick searches anyway. Reads run off the event loop and
  off the writer.
* Every prune that is not a dry run records its time in the store (``lastPruneAt`` in
  health, kept across restarts).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime

import msgspec

from coven.errors import InvalidRequest
from coven.runtime.background import Background
from coven.runtime.ledger import Ledger
from coven.schema.search import (
    PRUNE_DEFAULT_EVENT_DAYS,
    PRUNE_MAX_EVENT_DAYS,
    PrunedSession,
    PruneResult,
)
from coven.store import PruneSession, RecordPrune
from coven.store.clock import format_rfc3339_ns, now_rfc3339
from coven.store.search import PRUNE_STEP_EVENTS, Clean, PruneCandidate

log = logging.getLogger(__name__)

RETENTION_ENV = "COVEN_LOG_RETENTION_DAYS"
INTERVAL_ENV = "COVEN_PRUNE_INTERVAL_SECONDS"
FIRST_DELAY_ENV = "COVEN_PRUNE_FIRST_DELAY_SECONDS"
DEFAULT_INTERVAL_SECONDS = 60.0
MIN_FREE_DISK_BYTES = 256 * 1024 * 1024
"""Below this much free disk the tick does nothing (health: ``critical``)."""
LOW_FREE_DISK_BYTES = 1024 * 1024 * 1024
"""Below this much free disk health says ``warning``."""
FULL_SCAN_SECONDS = 3600.0
TICK_ROUNDS = 10
TICK_ROUND_EVENTS = 500
_DAY_NS = 86_400 * 1_000_000_000

FreeDisk = Callable[[], int | None]


def _whole_days(raw: str | None) -> int | None:
    text = (raw or "").strip()
    if not text.isdigit():
        return None
    days = int(text)
    return days if 1 <= days <= PRUNE_MAX_EVENT_DAYS else None


def _seconds(raw: str | None, default: float) -> float:
    try:
        value = float(raw or "")
    except ValueError:
        return default
    return value if 0.05 <= value <= 86_400 else default


class RetentionSettings(msgspec.Struct, frozen=True):
    """How long events are kept and when the tick runs (see the module docstring)."""

    event_days: int = PRUNE_DEFAULT_EVENT_DAYS
    first_delay: float = DEFAULT_INTERVAL_SECONDS
    interval: float = DEFAULT_INTERVAL_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RetentionSettings:
        interval = _seconds(env.get(INTERVAL_ENV), DEFAULT_INTERVAL_SECONDS)
        return cls(
            event_days=_whole_days(env.get(RETENTION_ENV)) or PRUNE_DEFAULT_EVENT_DAYS,
            first_delay=_seconds(env.get(FIRST_DELAY_ENV), DEFAULT_INTERVAL_SECONDS),
            interval=interval,
        )


def cutoff_for(event_days: int) -> str:
    """The store timestamp ``event_days`` days ago: events created before it are pruned."""
    return format_rfc3339_ns(max(0, time.time_ns() - event_days * _DAY_NS))


def age_seconds(stamp: str | None) -> int | None:
    """Whole seconds since a store timestamp (never negative), or None."""
    if stamp is None:
        return None
    try:
        then = datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return None
    return max(0, int(time.time() - then))


class Retention:
    """Prunes on request and on its tick; all methods run on the event loop.

    ``free_disk`` reads the free bytes of the home filesystem (None: unknown, which
    never blocks); health and the tick share it, so they never disagree.
    """

    def __init__(
        self, ledger: Ledger, clean: Clean, settings: RetentionSettings, free_disk: FreeDisk
    ) -> None:
        self.ledger = ledger
        self.settings = settings
        self.free_disk = free_disk
        self._clean = clean
        self._lock = asyncio.Lock()  # one prune at a time (a request waits for a tick)
        self._loop_task = Background(ledger.loop, "coven-retention", self._run)
        self.blocked = False
        """Whether the last tick found too little free disk to run."""
        self.last_prune_at: str | None = None
        self._full_scan_at = -FULL_SCAN_SECONDS  # monotonic time of the last search
        try:
            self.last_prune_at = ledger.reader.last_prune_at()
        except Exception:  # an unreadable store is reported elsewhere; health says null
            log.debug("could not read the last prune time", exc_info=True)

    def start(self) -> None:
        self._loop_task.start()

    async def close(self) -> None:
        await self._loop_task.close()

    async def _run(self) -> None:
        await asyncio.sleep(self.settings.first_delay)
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # storage down, etc.: the next tick tries again
                log.warning("automatic prune failed", exc_info=True)
            await asyncio.sleep(self.settings.interval)

    async def tick(self) -> int | None:
        """One background prune; the events deleted, or None when it did not run."""
        free = self.free_disk()
        self.blocked = free is not None and free < MIN_FREE_DISK_BYTES
        if self.blocked or not self.ledger.healthy:
            return None
        cutoff = cutoff_for(self.settings.event_days)
        async with self._lock:
            pruned: list[PrunedSession] = []
            if await self._may_have_old_events(cutoff):
                pruned = await self._delete(cutoff, TICK_ROUND_EVENTS, TICK_ROUNDS)
            await self._record()
        return sum(s.events for s in pruned)

    async def _may_have_old_events(self, cutoff: str) -> bool:
        now = time.monotonic()
        if now - self._full_scan_at >= FULL_SCAN_SECONDS:
            self._full_scan_at = now
        else:
            first = await self.ledger.read(self.ledger.reader.first_event_at)
            if first is None or first >= cutoff:
                return False
        return True

    async def prune(self, event_days: int | None, dry_run: bool) -> PruneResult:
        """Delete (``dry_run``: count) events older than ``event_days`` (default: the
        retention) of sessions that are not live, all of them, in bounded steps."""
        days = self.settings.event_days if event_days is None else event_days
        if not 1 <= days <= PRUNE_MAX_EVENT_DAYS:
            raise InvalidRequest(
                f"`eventDays` must be a whole number of days from 1 to {PRUNE_MAX_EVENT_DAYS}.",
                {"eventDays": days},
            )
        cutoff = cutoff_for(days)
        if dry_run:
            candidates = await self._candidates(cutoff)
            sessions = [PrunedSession(sessionId=c.session_id, events=c.events) for c in candidates]
        else:
            self.ledger.require_storage()
            async with self._lock:
                sessions = await self._delete(cutoff, PRUNE_STEP_EVENTS, None)
                await self._record()
        return PruneResult(
            dryRun=dry_run,
            eventDays=days,
            eventCutoff=cutoff,
            events=sum(s.events for s in sessions),
            sessions=sessions,
        )

    async def _candidates(self, cutoff: str) -> list[PruneCandidate]:
        return await self.ledger.read(self.ledger.reader.prune_candidates, cutoff)

    async def _delete(self, cutoff: str, step: int, rounds: int | None) -> list[PrunedSession]:
        """Prune sessions oldest first, ``step`` events per write, at most ``rounds`` writes."""
        pruned: list[PrunedSession] = []
        left = rounds
        for candidate in await self._candidates(cutoff):
            count = 0
            while left is None or left > 0:
                op = PruneSession(
                    candidate.session_id, candidate.max_seq, cutoff, self._clean, step
                )
                deleted = await self.ledger.write(op)
                left = None if left is None else left - 1
                count += deleted
                if deleted < step:  # this session has nothing older left (or is live again)
                    break
            if count:
                pruned.append(PrunedSession(sessionId=candidate.session_id, events=count))
            if left == 0:
                break
        return pruned

    async def _record(self) -> None:
        at = now_rfc3339()
        await self.ledger.write(RecordPrune(at))
        self.last_prune_at = at
