"""Read-side queries: session lists with keyset cursors, event pages, log previews.

Queries arrive typed (``ListQuery``, ``EventsQuery``; the API layer parses the
query string into them) and are answered with wire records; every read runs
off the event loop.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json

import msgspec

from coven.errors import EventResponseTooLarge, InvalidRequest
from coven.redaction import redact_text
from coven.runtime.ledger import Ledger
from coven.runtime.output import utf8_len
from coven.runtime.records import AttentionLookup, to_event_record, to_record, with_attention
from coven.schema import (
    Cursor,
    EventKind,
    EventRecord,
    EventsPage,
    LogLine,
    SessionRecord,
    SessionsPage,
)
from coven.schema.vocabulary import MAX_PAGE
from coven.store import EventRow, SessionRow, StoreReader

RESPONSE_BUDGET = 4 * 1024 * 1024 - 64 * 1024  # headroom for the envelope
RESPONSE_LIMIT = 4 * 1024 * 1024  # an events page's encoded size, unless it is one event
_page_encoder = msgspec.json.Encoder()
READ_BATCH = MAX_PAGE
PREVIEW_CHARS = 240


class ListQuery(msgspec.Struct, frozen=True):
    """``GET /sessions``: ``paged`` when any paging parameter was given (then an envelope)."""

    paged: bool = False
    limit: int = 100
    include_archived: bool = False
    cursor: str | None = None


class EventsQuery(msgspec.Struct, frozen=True):
    """An events page: after ``after_seq`` (else after ``after_event_id``), at most ``limit``."""

    after_seq: int | None = None
    after_event_id: str | None = None
    limit: int | None = None


# -- session list cursors (opaque to clients; encoded and decoded only here) ---------------
def encode_cursor(created_at: str, session_id: str) -> str:
    raw = json.dumps({"created_at": created_at, "id": session_id}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(raw: str) -> tuple[str, str]:
    def bad(detail: str) -> InvalidRequest:
        return InvalidRequest(
            "Query parameter `cursor` is invalid.", {"cursor": raw, "detail": detail}
        )

    try:
        data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except (binascii.Error, ValueError) as exc:
        raise bad("session cursor is not valid URL-safe base64") from exc
    try:
        value = json.loads(data)
    except ValueError as exc:
        raise bad("session cursor is malformed") from exc
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("created_at"), str)
        or not isinstance(value.get("id"), str)
    ):
        raise bad("session cursor is malformed")
    return value["created_at"], value["id"]


# -- events -----------------------------------------------------------------------------------
def _event_size(row: EventRow) -> int:
    # The encoded record, estimated. The stored payload (in UTF-8 bytes: box drawing and
    # CJK text take three per character) is re-escaped as a JSON string, which terminal
    # output outgrows by a few per cent (its \r\n and ESC escapes): an eighth more
    # covers that. Text dense in quotes, backslashes or control characters outgrows it;
    # ``encode_events_page`` holds the page to ``RESPONSE_LIMIT`` then. (Twice the
    # payload's characters, as this was, held pages of 1 MiB outputs to one event, and
    # each page read a second one only to leave it out: a follower read the log twice.)
    size = utf8_len(row.payload_json)
    return size + (size >> 3) + len(row.id) + len(row.session_id) + 160


def encode_events_page(page: EventsPage) -> bytes:
    """The page's JSON, at most ``RESPONSE_LIMIT`` bytes unless it is one event.

    Events whose encoding outgrew their estimate move to the next page (``hasMore``).
    """
    body = _page_encoder.encode(page)
    if len(body) <= RESPONSE_LIMIT or len(page.events) < 2:
        return body
    envelope = len(_page_encoder.encode(EventsPage([], Cursor(0), True))) + 20  # cursor digits
    room = RESPONSE_LIMIT - envelope
    kept: list[EventRecord] = []
    for event in page.events:
        room -= len(_page_encoder.encode(event)) + 1
        if room < 0 and kept:
            break
        kept.append(event)
    return _page_encoder.encode(EventsPage(kept, Cursor(kept[-1].seq), True))


def read_events(
    reader: StoreReader, session_id: str, after_seq: int, limit: int | None
) -> tuple[list[EventRow], bool]:
    """Up to ``limit`` events (all if None) within the response budget; also "has more".

    A page that reaches the budget (about 4 MiB) ends there with "has more" set,
    whether or not a limit was given (the reference answered 413 without a limit;
    every big log then failed); only an event too big for any page is 413. A page
    costs what it returns, not the whole ``limit`` (see ``StoreReader.events_page``).
    """
    rows, more, too_big = reader.events_page(
        session_id, after_seq, limit, _event_size, RESPONSE_BUDGET
    )
    if too_big is not None:
        raise EventResponseTooLarge(
            "The next event does not fit in one response.",
            {"seq": too_big.seq, "eventId": too_big.id},
        )
    return rows, more


# -- log preview --------------------------------------------------------------------------------
def preview(row: EventRow) -> LogLine:
    try:
        payload = json.loads(row.payload_json)
    except ValueError:
        payload = row.payload_json
    text: str
    if isinstance(payload, dict):
        for key in ("text", "message", "data"):
            if isinstance(payload.get(key), str):
                text = payload[key]
                break
        else:
            text = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    else:
        text = str(payload)
    text = redact_text(text)
    if len(text) > PREVIEW_CHARS:
        text = text[:PREVIEW_CHARS] + "..."
    if row.kind == EventKind.INPUT:
        return LogLine(row.created_at, "info", "> " + text)
    if row.kind == EventKind.OUTPUT:
        return LogLine(row.created_at, "info", text)
    if row.kind == EventKind.ERROR:
        return LogLine(row.created_at, "error", text)
    if row.kind == EventKind.TOOL_CALL:
        return LogLine(row.created_at, "tool", text)
    return LogLine(row.created_at, "info", f"{row.kind}: {text}")


def all_events(reader: StoreReader, session_id: str) -> list[EventRow]:
    out: list[EventRow] = []
    cursor = 0
    while True:
        batch = reader.list_events(session_id, after_seq=cursor, limit=READ_BATCH)
        out.extend(batch)
        if len(batch) < READ_BATCH:
            return out
        cursor = batch[-1].seq


class Queries:
    """The read side of the API, over the ledger."""

    def __init__(self, ledger: Ledger, attention: AttentionLookup | None = None) -> None:
        self.ledger = ledger
        self._attention = attention

    def _record(self, row: SessionRow) -> SessionRecord:
        return with_attention(to_record(row), self._attention)

    async def session(self, session_id: str) -> SessionRecord:
        """The session's record (with its live attention), or ``SessionNotFound``."""
        return self._record(await self.ledger.session(session_id))

    async def require(self, session_id: str) -> None:
        """``SessionNotFound`` unless the session exists."""
        await self.ledger.session(session_id)

    async def list_sessions(self, query: ListQuery) -> list[SessionRecord] | SessionsPage:
        """Every session (a bare list) or, when ``query.paged``, one page and its cursor."""
        reader = self.ledger.reader
        read = functools.partial(reader.list_sessions, include_archived=query.include_archived)
        if not query.paged:
            # Every session: the rows become records on the reading thread (10,000 of
            # them would hold the event loop for tens of milliseconds); only the live
            # attention, which the loop owns, is added here.
            def records() -> list[SessionRecord]:
                return [to_record(row) for row in read(limit=None, before=None)]

            return [with_attention(r, self._attention) for r in await self.ledger.read(records)]
        before = decode_cursor(query.cursor) if query.cursor is not None else None
        rows = await self.ledger.read(read, limit=query.limit + 1, before=before)
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
        return SessionsPage([self._record(r) for r in rows], cursor)

    async def events_page(self, session_id: str, query: EventsQuery) -> EventsPage:
        """Events after the query's cursor, within the 4 MiB response budget."""
        await self.ledger.session(session_id)
        reader = self.ledger.reader
        after = 0
        if query.after_seq is not None:
            after = max(0, query.after_seq)
        elif query.after_event_id is not None:
            # As the reference: an id naming no event of this session reads from the start
            # (a poller whose last event vanished starts over rather than failing its turn).
            seq = await self.ledger.read(reader.event_seq, session_id, query.after_event_id)
            after = seq if seq is not None else 0
        rows, more = await self.ledger.read(read_events, reader, session_id, after, query.limit)
        events = [to_event_record(r) for r in rows]
        cursor = Cursor(events[-1].seq) if events else None
        return EventsPage(events, cursor, more and bool(events))

    async def log_lines(self, session_id: str) -> list[LogLine]:
        """The redacted one-line-per-event preview of ``GET /sessions/:id/log``."""
        await self.ledger.session(session_id)
        rows = await self.ledger.read(all_events, self.ledger.reader, session_id)
        return [preview(r) for r in rows]
