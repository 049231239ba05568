"""Full-text search over sessions and pruning of old events: ``GET /search``, ``POST /store/prune``.

Additive routes (the reference's CLI does both on its database file; our CLI never
opens the store, so the daemon answers them). A hit's members are snake_case like
session records and the reference's ``sessions search --json`` rows (``event_id``,
``session_id``, ``kind``, ``snippet``, ``created_at``), with more facts beside them;
the envelopes are camelCase like the other additive bodies.
"""

from __future__ import annotations

from typing import Literal

import msgspec

SEARCH_DEFAULT_LIMIT = 20
SEARCH_MAX_LIMIT = 200
PRUNE_DEFAULT_EVENT_DAYS = 30
PRUNE_MAX_EVENT_DAYS = 36500

HitKind = Literal["output", "title"]
HIT_OUTPUT: HitKind = "output"
HIT_TITLE: HitKind = "title"


class SearchHitRecord(msgspec.Struct, kw_only=True):
    """One match, best first.

    ``snippet`` is plain text (terminal controls removed, redacted as stored) around
    the match; ``highlights`` are ``[start, end)`` character ranges of the matched
    terms in it. An ``output`` hit is a stretch of the session's output starting at
    event ``seq`` (``event_id`` is null once that event was pruned); a ``title`` hit
    has neither. ``rank`` is SQLite's bm25 (lower is better).
    """

    session_id: str
    kind: HitKind
    snippet: str
    highlights: list[tuple[int, int]]
    created_at: str
    event_id: str | None
    seq: int | None
    rank: float
    title: str
    status: str
    harness: str


class SearchResult(msgspec.Struct, kw_only=True):
    """``GET /search?q=&limit=``.

    ``complete`` is false when output waited to be indexed longer than the request
    could (a very large backlog, e.g. a store migrated with much output): the hits
    then cover output up to ``indexedThroughSeq`` and titles fully.
    """

    query: str
    hits: list[SearchHitRecord]
    complete: bool
    indexedThroughSeq: int


class PruneBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``POST /store/prune``: delete events older than ``eventDays`` days of finished sessions.

    Without ``eventDays`` the daemon's retention applies (``COVEN_LOG_RETENTION_DAYS``,
    else ``PRUNE_DEFAULT_EVENT_DAYS``)."""

    dryRun: bool = False
    eventDays: int | None = None


class PrunedSession(msgspec.Struct, kw_only=True):
    sessionId: str
    events: int


class PruneResult(msgspec.Struct, kw_only=True):
    """What was (``dryRun``: would be) deleted: events created before ``eventCutoff``.

    Only sessions that are not live (neither ``created`` nor ``running``) lose
    events; session rows stay, so their records, titles and exits remain listed.
    """

    dryRun: bool
    eventDays: int
    eventCutoff: str
    events: int
    sessions: list[PrunedSession]
