"""Search over sessions (output and titles); pruning lives in ``coven.runtime.retention``.

Indexing policy (why the drain does not slow down): output events are written
as they are, and the index follows them in bounded steps (``IndexOutput``, at
most 512 KiB of text each) on the writer thread. A background timer (every
second) takes a step only when no event was committed since its last tick and
nothing waits for the writer — while output streams in, indexing waits — but
never waits more than ``MAX_DEFER_SECONDS``, so even a session that never stops
printing is indexed (one bounded step per interval). While catching up it rests
as long as each step took, so it takes at most about half of one core from the
clients reading the same backlog. A search first brings the index up to date for
at most ``SEARCH_CATCH_UP_SECONDS`` and says whether it got there (``complete``).
The same steps backfill a store migrated with events in it.

Text is indexed after ``screen.plain_text`` and the daemon's redactor: the
stored payload is already redacted, and stripping terminal controls could join
the two halves of a secret, so it is redacted once more.
"""

from __future__ import annotations

import asyncio
import logging
import time

from coven.errors import InvalidRequest
from coven.redaction import Redactor
from coven.runtime.background import Background
from coven.runtime.ledger import Ledger
from coven.schema.search import (
    HIT_OUTPUT,
    HIT_TITLE,
    SEARCH_DEFAULT_LIMIT,
    SEARCH_MAX_LIMIT,
    SearchHitRecord,
    SearchResult,
)
from coven.screen.plain import plain_text
from coven.store import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    IndexOutput,
    SearchHit,
    fts_query,
)

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
CATCH_UP_TICK_SECONDS = 0.05
MAX_DEFER_SECONDS = 5.0
SEARCH_CATCH_UP_SECONDS = 3.0
MAX_QUERY_CHARS = 1000


def split_highlights(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """A snippet with highlight markers → the plain snippet and its highlighted ranges."""
    text: list[str] = []
    ranges: list[tuple[int, int]] = []
    length = 0
    start: int | None = None
    for ch in marked:
        if ch == HIGHLIGHT_START:
            start = length
        elif ch == HIGHLIGHT_END:
            if start is not None and length > start:
                ranges.append((start, length))
            start = None
        else:
            text.append(ch)
            length += 1
    return "".join(text), ranges


class SearchService:
    """The index's background upkeep and searches; methods run on the event loop."""

    def __init__(self, ledger: Ledger, redactor: Redactor) -> None:
        self.ledger = ledger
        self._redactor = redactor
        self._lock = asyncio.Lock()  # one indexing step at a time
        self._indexed = 0
        self._deferred_since: float | None = None
        self._started = False  # the watermark was read once
        self._last_committed = -1
        self._loop_task = Background(ledger.loop, "coven-search-index", self._run)

    def clean(self, text: str) -> str:
        """Stored output text as it is indexed: plain text, redacted again."""
        return self._redactor.text(plain_text(text))

    def start(self) -> None:
        """Start the background indexer (it also backfills a migrated store)."""
        self._loop_task.start()

    async def close(self) -> None:
        await self._loop_task.close()

    async def _run(self) -> None:
        delay = TICK_SECONDS
        while True:
            await asyncio.sleep(delay)
            try:
                if not self._started:
                    self._indexed = await self.ledger.read(self.ledger.reader.indexed_seq)
                    self._started = True
                started = time.monotonic()
                more = await self._background_step()
            except asyncio.CancelledError:
                raise
            except Exception:  # storage down, etc.: the next tick tries again
                log.debug("search indexing step failed", exc_info=True)
                more = False
            # Catching up takes at most about half of one core: after a step, rest as
            # long as it took (clients reading a large backlog share the CPU with it).
            took = time.monotonic() - started
            delay = max(CATCH_UP_TICK_SECONDS, took) if more else TICK_SECONDS

    async def _background_step(self) -> bool:
        # Busy: events were committed since the last tick, or writes are waiting. Index
        # steps commit no events, so they never make the store look busy themselves.
        committed = self.ledger.writer.stats().committed_events
        busy = committed != self._last_committed or self.ledger.writer.queued_bytes > 0
        self._last_committed = committed
        if not await self.ledger.read(self.ledger.reader.unindexed_output, self._indexed):
            self._deferred_since = None
            return False
        now = time.monotonic()
        if busy or not self.ledger.healthy:
            # Output is being written: it goes first; the index waits (a while).
            if self._deferred_since is None:
                self._deferred_since = now
            if now - self._deferred_since < MAX_DEFER_SECONDS:
                return False
        self._deferred_since = None
        return await self._step()

    async def _step(self, timeout: float | None = None) -> bool:
        """One indexing step; whether more text waits.

        ``TimeoutError`` after ``timeout`` seconds leaves the step queued (it still
        runs; the watermark it moves is read back by the next step).
        """
        async with self._lock:
            progress = await self.ledger.write(IndexOutput(self.clean), timeout)
        self._indexed = progress.indexed_seq
        return progress.more

    async def catch_up(self, budget: float) -> bool:
        """Index what waits, for at most ``budget`` seconds; whether the index is current.

        With the store unable to write, nothing is indexed and the answer is False
        at once: searching still works on what is indexed.
        """
        deadline = time.monotonic() + budget
        while await self.ledger.read(self.ledger.reader.unindexed_output, self._indexed):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.ledger.healthy:
                return False
            try:
                await self._step(remaining)
            except TimeoutError:
                return False
        return True

    # -- search --------------------------------------------------------------------------

    async def search(self, text: str, limit: int | None) -> SearchResult:
        """The best hits for ``text`` (every word must match), after catching the index up."""
        query = fts_query(text)
        if not query:
            raise InvalidRequest("Search query `q` must not be empty.", {"field": "q"})
        if len(text) > MAX_QUERY_CHARS:
            raise InvalidRequest(
                f"Search query `q` must be at most {MAX_QUERY_CHARS} characters.", {"field": "q"}
            )
        if limit is None:
            limit = SEARCH_DEFAULT_LIMIT
        if not 1 <= limit <= SEARCH_MAX_LIMIT:
            raise InvalidRequest(
                f"Query parameter `limit` must be between 1 and {SEARCH_MAX_LIMIT}.",
                {"limit": limit},
            )
        complete = await self.catch_up(SEARCH_CATCH_UP_SECONDS)
        hits = await self.ledger.read(self.ledger.reader.search, query, limit)
        records = [await self._record(hit) for hit in hits]
        return SearchResult(
            query=text,
            hits=[r for r in records if r is not None],
            complete=complete,
            indexedThroughSeq=self._indexed,
        )

    async def _record(self, hit: SearchHit) -> SearchHitRecord | None:
        row = await self.ledger.find_session(hit.session_id)
        if row is None:  # sacrificed between the two reads
            return None
        snippet, ranges = split_highlights(hit.snippet)
        return SearchHitRecord(
            session_id=hit.session_id,
            kind=HIT_TITLE if hit.kind == HIT_TITLE else HIT_OUTPUT,
            snippet=snippet,
            highlights=ranges,
            created_at=hit.created_at,
            event_id=hit.event_id,
            seq=hit.seq,
            rank=hit.rank,
            title=row.title,
            status=row.status,
            harness=row.harness,
        )
