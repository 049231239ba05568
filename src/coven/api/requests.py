"""Parsing requests into typed commands and queries (query strings, small bodies).

The API layer decodes and checks what it can without daemon state; launch and
external-registration bodies are checked by ``coven.authority`` inside the
runtime, because those checks need the harness registry and the filesystem.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, unquote_plus

import msgspec

from coven.authority import parse_input, parse_resize
from coven.authority.body import parse_json_body
from coven.errors import InvalidRequest
from coven.runtime.actions import ActionCommand, ActionRejected
from coven.runtime.attach import DEFAULT_HISTORY_LINES, AttachView
from coven.runtime.live_control import SendInput
from coven.runtime.queries import EventsQuery, ListQuery
from coven.runtime.work import diff_cap
from coven.schema.attention import AttentionReport
from coven.schema.search import PruneBody
from coven.schema.vocabulary import MAX_PAGE
from coven.schema.work import DiscardBody, MergeBody, ReviewBody


def parse_i64(name: str, raw: str) -> int:
    """A signed 64-bit integer query parameter (an optional ``+``; no spaces, no fractions)."""
    text = raw[1:] if raw.startswith("+") else raw
    body = text[1:] if text.startswith("-") else text
    if not body.isdigit() or not body.isascii():
        raise InvalidRequest(f"{name} must be an integer.", {name: raw})
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise InvalidRequest(f"{name} must be an integer.", {name: raw})
    return value


def list_query(query: dict[str, str]) -> ListQuery:
    """``limit``/``cursor``/``includeArchived``; with none of them, the bare list."""
    if not any(k in query for k in ("limit", "cursor", "includeArchived")):
        return ListQuery()
    limit = 100
    if "limit" in query:
        raw = query["limit"]
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
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
    return ListQuery(True, limit, include, query.get("cursor"))


def events_query(query: dict[str, str]) -> EventsQuery:
    """``afterSeq`` (else ``afterEventId``) and ``limit`` clamped to 1..1000."""
    after_seq = parse_i64("afterSeq", query["afterSeq"]) if "afterSeq" in query else None
    limit = None
    if "limit" in query:
        limit = min(MAX_PAGE, max(1, parse_i64("limit", query["limit"])))
    return EventsQuery(after_seq, query.get("afterEventId"), limit)


def after_seq(query: dict[str, str]) -> int:
    """The ``afterSeq`` of a stream route (absent or negative → 0)."""
    raw = query.get("afterSeq")
    return 0 if raw is None else max(0, parse_i64("afterSeq", raw))


MAX_HISTORY_LINES = 10_000


def screen_query(query: dict[str, str]) -> tuple[bool, int]:
    """``ansi``: ``true`` or ``false`` (the default); ``history``: 0 (the default) to
    10000 scrollback lines above the screen."""
    raw = query.get("ansi", "false")
    if raw not in ("true", "false"):
        raise InvalidRequest("Query parameter `ansi` must be `true` or `false`.", {"ansi": raw})
    return raw == "true", _history(query, 0)


def _history(query: dict[str, str], default: int) -> int:
    if "history" not in query:
        return default
    history = parse_i64("history", query["history"])
    if not 0 <= history <= MAX_HISTORY_LINES:
        raise InvalidRequest(
            f"history must be between 0 and {MAX_HISTORY_LINES} lines.",
            {"history": query["history"]},
        )
    return history


def attach_view(query: dict[str, str]) -> tuple[AttachView, int]:
    """``replay`` (``screen``, the default, or ``raw``) and ``history`` (0..10000 lines)."""
    raw = query.get("replay", AttachView.SCREEN.value)
    try:
        view = AttachView(raw)
    except ValueError:
        raise InvalidRequest(
            "replay must be `screen` (the current screen) or `raw` (the whole output log).",
            {"replay": raw},
        ) from None
    return view, _history(query, DEFAULT_HISTORY_LINES)


def send_input(raw: bytes, session_id: str) -> SendInput:
    """An input body: ``data`` (a string, may be empty) and the whole body to record."""
    body = parse_json_body(raw, empty={}, details={"sessionId": session_id})
    try:
        data = parse_input(body)
    except InvalidRequest as exc:
        raise InvalidRequest(exc.message, {"sessionId": session_id}) from exc
    assert isinstance(body, dict)
    return SendInput(data, body)


def resize(raw: bytes) -> tuple[int, int]:
    return parse_resize(parse_json_body(raw, empty={}))


def exit_code(raw: bytes) -> int | None:
    """The ``exitCode`` of a complete body, read leniently as the reference does."""
    try:
        body = parse_json_body(raw, empty={})
    except InvalidRequest:
        return None
    code = body.get("exitCode") if isinstance(body, dict) else None
    if isinstance(code, bool) or not isinstance(code, int) or not -(2**63) <= code < 2**63:
        return None  # anything else is "absent"
    return code


def action(raw: bytes) -> ActionCommand:
    """An action body, or ``ActionRejected`` in the route's own rejection shape."""
    try:
        body = parse_json_body(raw, empty={})
    except InvalidRequest as exc:
        raise ActionRejected("(unknown)", "failed to parse request body") from exc
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise ActionRejected("(unknown)", "request body must be a JSON object")
    name = body.get("action")
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        raise ActionRejected("", "request body requires string field `action`")
    extra: dict[str, str] = {}
    for key in ("origin", "intentId"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            extra[key] = value.strip()
    args: Any = body.get("args")
    return ActionCommand(
        name,
        origin=extra.get("origin"),
        intent_id=extra.get("intentId"),
        args=args if isinstance(args, dict) else {},
    )


def diff_query(query: dict[str, str]) -> tuple[str | None, int]:
    """``path`` (percent-decoded: a new route, without the legacy raw-target quirk) and ``maxBytes``."""
    path = None
    if "path" in query:
        try:
            path = unquote(query["path"], errors="strict")
        except UnicodeDecodeError as exc:
            raise InvalidRequest(
                "Query parameter `path` must be percent-encoded UTF-8.", {"path": query["path"]}
            ) from exc
        if not path:
            raise InvalidRequest("Query parameter `path` must not be empty.", {"path": ""})
    cap = None
    if "maxBytes" in query:
        raw = query["maxBytes"]
        if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
            raise InvalidRequest(
                "Query parameter `maxBytes` must be an integer.", {"maxBytes": raw}
            )
        cap = int(raw)
    return path, diff_cap(cap)


def _typed_body(raw: bytes, kind: type[Any]) -> Any:
    body = parse_json_body(raw, empty={})
    try:
        return msgspec.convert(body, kind)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"invalid request body: {exc}") from exc


def merge(raw: bytes) -> str | None:
    """A merge body: an optional non-blank ``commitMessage``; no other member."""
    body: MergeBody = _typed_body(raw, MergeBody)
    if body.commitMessage is not None and not body.commitMessage.strip():
        raise InvalidRequest("`commitMessage` must not be blank", {"field": "commitMessage"})
    return body.commitMessage


def review(raw: bytes) -> ReviewBody:
    """A review body: ``state`` and optional ``comments`` (checked by ``coven.runtime.review``)."""
    body: ReviewBody = _typed_body(raw, ReviewBody)
    return body


def discard(raw: bytes) -> bool:
    """A discard body: an optional boolean ``force``; no other member."""
    body: DiscardBody = _typed_body(raw, DiscardBody)
    return body.force


def attention_report(raw: bytes) -> AttentionReport:
    """A hook's report: ``state`` (working, awaiting_input, idle), optional ``reason``,
    ``prompt`` and ``hook``; no other member. Lengths are checked by the runtime."""
    report: AttentionReport = _typed_body(raw, AttentionReport)
    return report


def search_query(query: dict[str, str]) -> tuple[str, int | None]:
    """``q`` (percent-decoded, ``+`` as space; required) and an optional integer ``limit``."""
    raw = query.get("q")
    if raw is None:
        raise InvalidRequest("Query parameter `q` is required.", {"field": "q"})
    try:
        text = unquote_plus(raw, errors="strict")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(
            "Query parameter `q` must be percent-encoded UTF-8.", {"field": "q"}
        ) from exc
    limit = None
    if "limit" in query:
        value = query["limit"]
        if not value.isascii() or not value.isdigit() or len(value) > 6:
            raise InvalidRequest(
                "Query parameter `limit` must be a positive integer.", {"limit": value}
            )
        limit = int(value)
    return text, limit


def prune(raw: bytes) -> PruneBody:
    """A prune body: optional ``dryRun`` (boolean) and ``eventDays`` (integer); nothing else."""
    body: PruneBody = _typed_body(raw, PruneBody)
    return body
