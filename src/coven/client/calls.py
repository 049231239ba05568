"""Sans-I/O halves of every client call: build the ``Request``, parse the answer.

The sync and async clients share these so their wire behaviour cannot drift:
each ``Call`` pairs a request with a ``parse(status, body)`` that returns the
typed result or raises the mapped ``CovenClientError``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote, quote_plus

import msgspec

from coven import errors as codes
from coven.client.errors import (
    ActionRejected,
    ApiError,
    ApiVersionMismatch,
    AuthorityDenied,
    Conflict,
    HarnessUnavailable,
    PayloadTooLarge,
    ProtocolError,
    RouteNotFound,
    SessionNotFound,
    SessionNotLive,
    StorageUnavailable,
)
from coven.client.transport import Request
from coven.schema.attach import ScreenView
from coven.schema.attention import AttentionNow
from coven.schema.search import PruneResult, SearchResult
from coven.schema.wire import API_VERSION, EventsPage, LogLine, SessionRecord, SessionsPage
from coven.schema.work import DiscardOutcome, MergeOutcome, SessionChanges, SessionDiff

PREFIX = "/api/v1"
T = TypeVar("T")

_BY_CODE: dict[str, type[ApiError]] = {
    codes.SessionNotFound.code: SessionNotFound,
    codes.SessionNotLive.code: SessionNotLive,
    codes.HarnessNotFound.code: HarnessUnavailable,
    codes.NotFound.code: RouteNotFound,
    codes.InvalidRequest.code: AuthorityDenied,
    codes.StorageUnavailable.code: StorageUnavailable,
    codes.PayloadTooLarge.code: PayloadTooLarge,
    codes.InputTooLarge.code: PayloadTooLarge,
    codes.EventResponseTooLarge.code: PayloadTooLarge,
    codes.NotExternalSession.code: Conflict,
    codes.ExternalNotKillable.code: Conflict,
}
# Codes not listed above fall back on the status: a new daemon code still lands in
# the right family instead of the bare base class.
_BY_STATUS: dict[int, type[ApiError]] = {
    400: AuthorityDenied,
    403: AuthorityDenied,
    409: Conflict,
    413: PayloadTooLarge,
    422: Conflict,
    503: StorageUnavailable,
}


@dataclass(frozen=True)
class Call(Generic[T]):
    """A request and the function that turns ``(status, body)`` into its result."""

    request: Request
    parse: Callable[[int, bytes], T]


def _json(status: int, body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"daemon sent a non-JSON body (HTTP {status}): {body[:200]!r}") from exc


def error_from_response(status: int, body: bytes) -> Exception:
    """Map a non-2xx answer to the most specific client error."""
    doc = _json(status, body)
    if isinstance(doc, dict) and doc.get("status") == "rejected" and "reason" in doc:
        return ActionRejected(status, str(doc.get("action", "")), str(doc["reason"]))
    envelope = doc.get("error") if isinstance(doc, dict) else None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("code"), str):
        return ApiError(status, f"http_{status}", f"daemon answered HTTP {status}: {doc!r}")
    code: str = envelope["code"]
    message = str(envelope.get("message", code))
    details = envelope.get("details")
    if not isinstance(details, dict):
        details = None
    if code == codes.UnsupportedApiVersion.code and status == codes.UnsupportedApiVersion.status:
        return ApiVersionMismatch(f"the daemon does not serve {PREFIX}: {message}")
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status, ApiError)
    return cls(status, code, message, details)


def _decoder(kind: type[T] | Any, *, ok: tuple[int, ...]) -> Callable[[int, bytes], T]:
    decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(kind)

    def parse(status: int, body: bytes) -> T:
        if status not in ok:
            if 200 <= status < 300:
                raise ProtocolError(f"unexpected HTTP {status} (expected {ok})")
            raise error_from_response(status, body)
        try:
            result: T = decoder.decode(body)
        except msgspec.DecodeError as exc:
            raise ProtocolError(f"daemon response does not match the contract: {exc}") from exc
        return result

    return parse


def _accepted(status: int, body: bytes) -> None:
    if not 200 <= status < 300:
        raise error_from_response(status, body)


def check_session_id(session_id: str) -> str:
    """Refuse ids the daemon's raw router would misread; return the id unchanged.

    The daemon does no percent-decoding, so ids travel raw: whitespace, control
    characters, ``?`` and ``&`` would change the route or the query.
    """
    if not session_id or any(ch.isspace() or ord(ch) < 0x20 or ch in "?&\x7f" for ch in session_id):
        raise ValueError(f"invalid session id {session_id!r}")
    return session_id


def _body(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def _post(path: str, payload: Mapping[str, Any] | None = None) -> Request:
    return Request(
        "POST",
        PREFIX + path,
        {"Content-Type": "application/json"},
        _body(payload if payload is not None else {}),
    )


def _get(path: str) -> Request:
    return Request("GET", PREFIX + path)


def _query(**params: object) -> str:
    parts = []
    for name, value in params.items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        parts.append(f"{name}={text}")
    return "?" + "&".join(parts) if parts else ""


def _session(session_id: str, suffix: str = "") -> str:
    return f"/sessions/{check_session_id(session_id)}{suffix}"


# ---------------------------------------------------------------- health gate


@dataclass(frozen=True)
class Health:
    """The parts of ``GET /health`` the client relies on, plus the raw document."""

    api_version: str
    coven_version: str
    capabilities: dict[str, Any]
    daemon: dict[str, Any] | None
    raw: dict[str, Any]


def _parse_health(status: int, body: bytes) -> Health:
    if status != 200:
        raise error_from_response(status, body)
    doc = _json(status, body)
    if not isinstance(doc, dict):
        raise ProtocolError("health response is not a JSON object")
    caps = doc.get("capabilities")
    daemon = doc.get("daemon")
    return Health(
        api_version=str(doc.get("apiVersion", "")),
        coven_version=str(doc.get("covenVersion", "")),
        capabilities=caps if isinstance(caps, dict) else {},
        daemon=daemon if isinstance(daemon, dict) else None,
        raw=doc,
    )


def check_health(health: Health) -> Health:
    """The handshake gate; raise ``ApiVersionMismatch`` naming the first failed condition."""
    doc, caps = health.raw, health.capabilities
    required: list[tuple[str, object, object]] = [
        ("ok", doc.get("ok"), True),
        ("apiVersion", doc.get("apiVersion"), API_VERSION),
        ("capabilities.structuredErrors", caps.get("structuredErrors"), True),
        ("capabilities.sessions", caps.get("sessions"), True),
        ("capabilities.events", caps.get("events"), True),
        ("capabilities.eventCursor", caps.get("eventCursor"), "sequence"),
    ]
    for name, got, want in required:
        # `is` for booleans: 1 must not pass for true.
        if (got is not want) if isinstance(want, bool) else (got != want):
            raise ApiVersionMismatch(
                f"daemon is not compatible: {name} is {got!r}, expected {want!r}"
            )
    return health


def health() -> Call[Health]:
    return Call(_get("/health"), _parse_health)


def api_version() -> Call[dict[str, Any]]:
    return Call(_get("/api-version"), _decoder(dict[str, Any], ok=(200,)))


def capabilities() -> Call[dict[str, Any]]:
    return Call(_get("/capabilities"), _decoder(dict[str, Any], ok=(200,)))


def harness_capabilities() -> Call[dict[str, Any]]:
    """``GET /capabilities/harnesses``: one manifest per configured harness, in listing order."""
    return Call(_get("/capabilities/harnesses"), _decoder(dict[str, Any], ok=(200,)))


def action(name: str, args: Any = None) -> Call[dict[str, Any]]:
    payload: dict[str, Any] = {"action": name}
    if args is not None:
        payload["args"] = args
    return Call(_post("/actions", payload), _decoder(dict[str, Any], ok=(200,)))


# ---------------------------------------------------------------- sessions


def launch(payload: Mapping[str, Any]) -> Call[SessionRecord]:
    return Call(_post("/sessions", payload), _decoder(SessionRecord, ok=(200, 201)))


def list_sessions() -> Call[list[SessionRecord]]:
    return Call(_get("/sessions"), _decoder(list[SessionRecord], ok=(200,)))


def sessions_page(
    limit: int | None = None, cursor: str | None = None, include_archived: bool = False
) -> Call[SessionsPage]:
    if limit is not None and not 1 <= limit <= 1000:
        raise ValueError(f"limit must be between 1 and 1000, got {limit}")
    if cursor is not None and (not cursor or any(c.isspace() or c in "&#" for c in cursor)):
        raise ValueError(f"invalid sessions cursor {cursor!r}")
    query = _query(limit=limit, cursor=cursor, includeArchived=include_archived)
    return Call(_get("/sessions" + query), _decoder(SessionsPage, ok=(200,)))


def get_session(session_id: str) -> Call[SessionRecord]:
    return Call(_get(_session(session_id)), _decoder(SessionRecord, ok=(200,)))


def register_external(payload: Mapping[str, Any]) -> Call[SessionRecord]:
    return Call(_post("/sessions/external", payload), _decoder(SessionRecord, ok=(200, 201)))


def complete(session_id: str, exit_code: int | None) -> Call[SessionRecord]:
    req = _post(_session(session_id, "/complete"), {"exitCode": exit_code})
    return Call(req, _decoder(SessionRecord, ok=(200,)))


def send_input(session_id: str, data: str) -> Call[None]:
    return Call(_post(_session(session_id, "/input"), {"data": data}), _accepted)


def report_attention(session_id: str, report: Mapping[str, Any]) -> Call[AttentionNow]:
    req = _post(_session(session_id, "/attention"), report)
    return Call(req, _decoder(AttentionNow, ok=(200,)))


def kill(session_id: str) -> Call[None]:
    return Call(_post(_session(session_id, "/kill")), _accepted)


def resize(session_id: str, rows: int, cols: int) -> Call[None]:
    if rows < 1 or cols < 1:
        raise ValueError(f"terminal size must be positive, got {rows}x{cols}")
    return Call(_post(_session(session_id, "/resize"), {"rows": rows, "cols": cols}), _accepted)


def archive(session_id: str) -> Call[SessionRecord]:
    return Call(_post(_session(session_id, "/archive")), _decoder(SessionRecord, ok=(200,)))


def summon(session_id: str) -> Call[SessionRecord]:
    return Call(_post(_session(session_id, "/summon")), _decoder(SessionRecord, ok=(200,)))


def sacrifice(session_id: str, confirm: str) -> Call[dict[str, Any]]:
    req = _post(_session(session_id, "/sacrifice"), {"confirm": confirm})
    return Call(req, _decoder(dict[str, Any], ok=(200,)))


def screen(session_id: str, ansi: bool = False, history: int = 0) -> Call[ScreenView]:
    path = _session(session_id, "/screen") + _query(ansi=ansi, history=history or None)
    return Call(_get(path), _decoder(ScreenView, ok=(200,)))


def log(session_id: str) -> Call[list[LogLine]]:
    return Call(_get(_session(session_id, "/log")), _decoder(list[LogLine], ok=(200,)))


# ---------------------------------------------------------------- work: changes, lanes


def changes(session_id: str) -> Call[SessionChanges]:
    return Call(_get(_session(session_id, "/changes")), _decoder(SessionChanges, ok=(200,)))


def diff(
    session_id: str, path: str | None = None, max_bytes: int | None = None
) -> Call[SessionDiff]:
    query = _query(
        path=None if path is None else quote(path, safe="/"),
        maxBytes=max_bytes,
    )
    return Call(_get(_session(session_id, "/diff") + query), _decoder(SessionDiff, ok=(200,)))


def merge(session_id: str, commit_message: str | None = None) -> Call[MergeOutcome]:
    payload = {} if commit_message is None else {"commitMessage": commit_message}
    req = _post(_session(session_id, "/merge"), payload)
    return Call(req, _decoder(MergeOutcome, ok=(200,)))


def discard(session_id: str, force: bool = False) -> Call[DiscardOutcome]:
    req = _post(_session(session_id, "/discard"), {"force": force})
    return Call(req, _decoder(DiscardOutcome, ok=(200,)))


# ---------------------------------------------------------------- search, prune


def search(text: str, limit: int | None = None) -> Call[SearchResult]:
    path = "/search" + _query(q=quote_plus(text, safe=""), limit=limit)
    return Call(_get(path), _decoder(SearchResult, ok=(200,)))


def prune(event_days: int | None = None, dry_run: bool = False) -> Call[PruneResult]:
    payload: dict[str, Any] = {"dryRun": dry_run}
    if event_days is not None:
        payload["eventDays"] = event_days
    return Call(_post("/store/prune", payload), _decoder(PruneResult, ok=(200,)))


# ---------------------------------------------------------------- events


def events(session_id: str, after_seq: int = 0, limit: int | None = None) -> Call[EventsPage]:
    if limit is not None and not 1 <= limit <= 1000:
        raise ValueError(f"limit must be between 1 and 1000, got {limit}")
    query = _query(sessionId=check_session_id(session_id), afterSeq=after_seq, limit=limit)
    return Call(_get("/events" + query), _decoder(EventsPage, ok=(200,)))


def follow_request(session_id: str, after_seq: int = 0) -> Request:
    """The NDJSON follow stream; no read timeout because a quiet session is not an error."""
    path = PREFIX + _session(session_id, "/follow") + _query(afterSeq=after_seq)
    return Request("GET", path, {"Accept": "application/x-ndjson"}, stream=True, timeout=None)


def attach_path(
    session_id: str, after_seq: int = 0, replay: str | None = None, history: int | None = None
) -> str:
    """``replay``: ``screen`` (the daemon's default) or ``raw``; ``history``: scrollback lines."""
    query = _query(afterSeq=after_seq, replay=replay, history=history)
    return PREFIX + _session(session_id, "/attach") + query


def check_events_page(page: EventsPage, after_seq: int) -> None:
    """Enforce what pagers rely on: ascending seqs past the cursor, an honest ``nextCursor``."""
    last = after_seq
    for event in page.events:
        if event.seq <= last:
            raise ProtocolError(f"event seq {event.seq} is not after {last}")
        last = event.seq
    if page.events:
        if page.nextCursor is None or page.nextCursor.afterSeq != last:
            raise ProtocolError(f"nextCursor {page.nextCursor!r} does not name the last seq {last}")
    elif page.hasMore:
        raise ProtocolError("an empty events page claims hasMore")
