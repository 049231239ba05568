"""Read-side queries: session lists with keyset cursors, event pages, log previews."""

from __future__ import annotations

import base64
import binascii
import functools
import json
from dataclasses import dataclass

from coven.errors import EventResponseTooLarge, InvalidRequest
from coven.redaction import redact_text
from coven.runtime.sessions import SessionManager, to_record
from coven.schema import EventRecord, LogLine, SessionRecord
from coven.schema.wire import Cursor, EventsPage, SessionsPage
from coven.store import EventRow

RESPONSE_BUDGET = 4 * 1024 * 1024 - 64 * 1024  # headroom for the envelope
READ_BATCH = 1000
PREVIEW_CHARS = 240


# -- session lists ----------------------------------------------------------------------------
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


@dataclass(frozen=True)
class ListQuery:
    envelope: bool
    limit: int
    include_archived: bool
    before: tuple[str, str] | None


def parse_list_query(query: dict[str, str]) -> ListQuery:
    if not any(k in query for k in ("limit", "cursor", "includeArchived")):
        return ListQuery(False, 0, False, None)
    limit = 100
    if "limit" in query:
        raw = query["limit"]
        if not raw.isdigit() or not 1 <= int(raw) <= 1000:
            raise InvalidRequest(
                "Query parameter `limit` must be an integer between 1 and 1000.", {"limit": raw}
            )
        limit = int(raw)
    include = False
    if "includeArchived" in query:
        raw = query["includeArchived"]
        if raw not in ("true", "false"):
            raise InvalidRequest(
                "Query parameter `includeArchived` must be `true` or `false`.",
                {"includeArchived": raw},
            )
        include = raw == "true"
    before = decode_cursor(query["cursor"]) if "cursor" in query else None
    return ListQuery(True, limit, include, before)


async def list_sessions(
    manager: SessionManager, query: dict[str, str]
) -> list[SessionRecord] | SessionsPage:
    q = parse_list_query(query)
    read = functools.partial(manager.reader.list_sessions, include_archived=q.include_archived)
    if not q.envelope:
        return [to_record(r) for r in await manager.read(read, limit=None, before=None)]
    rows = await manager.read(read, limit=q.limit + 1, before=q.before)
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return SessionsPage([to_record(r) for r in rows], cursor)


# -- events -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class EventsQuery:
    after_seq: int | None
    after_event_id: str | None
    limit: int | None


def parse_i64(name: str, raw: str) -> int:
    text = raw[1:] if raw.startswith("+") else raw
    body = text[1:] if text.startswith("-") else text
    if not body.isdigit() or not body.isascii():
        raise InvalidRequest(f"{name} must be an integer.", {name: raw})
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise InvalidRequest(f"{name} must be an integer.", {name: raw})
    return value


def parse_events_query(query: dict[str, str]) -> EventsQuery:
    after_seq = parse_i64("afterSeq", query["afterSeq"]) if "afterSeq" in query else None
    limit = None
    if "limit" in query:
        limit = min(1000, max(1, parse_i64("limit", query["limit"])))
    return EventsQuery(after_seq, query.get("afterEventId"), limit)


def to_event_record(row: EventRow) -> EventRecord:
    return EventRecord(
        seq=row.seq,
        id=row.id,
        session_id=row.session_id,
        kind=row.kind,
        payload_json=row.payload_json,
        created_at=row.created_at,
    )


def _event_size(row: EventRow) -> int:
    # A generous estimate of the encoded record (payload_json is re-escaped as a string).
    return len(row.payload_json) * 2 + len(row.id) + len(row.session_id) + 160


def _read_events(
    manager: SessionManager, session_id: str, after_seq: int, limit: int | None
) -> tuple[list[EventRow], bool]:
    """Up to ``limit`` events (all if None) within the response budget; also "has more".

    Rows are fetched in growing batches and reading stops as soon as the page is
    full, so a page of a log made of large events costs what it returns, not the
    whole ``limit`` (64 MiB of output in 64 KiB events would otherwise be read for
    every 4 MiB page).
    """
    reader = manager.reader
    out: list[EventRow] = []
    budget = RESPONSE_BUDGET
    cursor = after_seq
    batch_size = 16
    while True:
        # With a limit, fetch at most one row past it: that row only answers "more?".
        n = batch_size if limit is None else min(batch_size, limit - len(out) + 1)
        batch = reader.list_events(session_id, after_seq=cursor, limit=n)
        for row in batch:
            if limit is not None and len(out) == limit:
                return out, True
            budget -= _event_size(row)
            if budget < 0:
                if limit is None:
                    raise EventResponseTooLarge(
                        "The events after this cursor exceed the 4 MiB response limit; "
                        "pass `limit`.",
                        {"seq": row.seq, "eventId": row.id},
                    )
                if not out:
                    raise EventResponseTooLarge(
                        "The next event does not fit in one response.",
                        {"seq": row.seq, "eventId": row.id},
                    )
                return out, True
            out.append(row)
        if len(batch) < n:
            return out, False
        cursor = batch[-1].seq
        batch_size = min(batch_size * 4, READ_BATCH)


async def events_page(
    manager: SessionManager, session_id: str, query: dict[str, str]
) -> EventsPage:
    q = parse_events_query(query)
    await manager.get_row(session_id)
    after = 0
    if q.after_seq is not None:
        after = max(0, q.after_seq)
    elif q.after_event_id is not None:
        seq = await manager.read(manager.reader.event_seq, session_id, q.after_event_id)
        if seq is None:
            raise InvalidRequest(
                "afterEventId does not name an event of this session.",
                {"afterEventId": q.after_event_id, "sessionId": session_id},
            )
        after = seq
    rows, more = await manager.read(_read_events, manager, session_id, after, q.limit)
    events = [to_event_record(r) for r in rows]
    cursor = Cursor(events[-1].seq) if events else None
    return EventsPage(events, cursor, more and bool(events))


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
    if row.kind == "input":
        return LogLine(row.created_at, "info", "> " + text)
    if row.kind == "output":
        return LogLine(row.created_at, "info", text)
    if row.kind == "error":
        return LogLine(row.created_at, "error", text)
    if row.kind == "tool_call":
        return LogLine(row.created_at, "tool", text)
    return LogLine(row.created_at, "info", f"{row.kind}: {text}")


def _all_events(manager: SessionManager, session_id: str) -> list[EventRow]:
    out: list[EventRow] = []
    cursor = 0
    while True:
        batch = manager.reader.list_events(session_id, after_seq=cursor, limit=READ_BATCH)
        out.extend(batch)
        if len(batch) < READ_BATCH:
            return out
        cursor = batch[-1].seq


async def log_lines(manager: SessionManager, session_id: str) -> list[LogLine]:
    await manager.get_row(session_id)
    rows = await manager.read(_all_events, manager, session_id)
    return [preview(r) for r in rows]
