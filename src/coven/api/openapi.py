"""The OpenAPI document for the ``/api/v1`` surface, served at ``GET /api/v1/openapi.json``.

Derived from the wire types: every schema under ``components`` is generated
from the msgspec Structs in ``coven.schema`` (``msgspec.json.schema_components``),
so a changed field cannot leave the document behind. This module only says
which route takes and answers which type, with which statuses.

Callers may rely on: every route the router serves is listed with each status it
can answer, every JSON error body matches one of the three documented shapes
(``ErrorEnvelope``, ``TransportError`` for 413/500 from the HTTP layer,
``ActionResult`` for ``/actions``), and success bodies match their schema. The
bare aliases (``/health``, ``/sessions/…``) are not listed: each answers exactly
like its ``/api/v1`` twin. ``docs/openapi.json`` is this document serialised with
``json.dumps(..., indent=2, sort_keys=True)``; a test keeps the two identical.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import msgspec

from coven.api import openapi_search as search_doc
from coven.api.openapi_attention import TYPES as ATTENTION_TYPES
from coven.api.openapi_attention import attention_paths
from coven.api.openapi_cockpit import TYPES as COCKPIT_TYPES
from coven.api.openapi_cockpit import cockpit_paths
from coven.api.openapi_terminal import terminal_paths
from coven.api.openapi_work import TYPES as WORK_TYPES
from coven.api.openapi_work import work_paths
from coven.schema import EventsPage, LogLine, SessionRecord, SessionsPage, meta, requests
from coven.schema import attach as frames
from coven.schema.envelope import ErrorEnvelope, TransportError

PREFIX = "/api/v1"
Schema = dict[str, Any]

# Every type the document names, in the order their components are listed.
_TYPES: tuple[Any, ...] = (  # noqa: RUF005 (the search types are added in one line)
    ErrorEnvelope,
    TransportError,
    meta.Accepted,
    SessionRecord,
    SessionsPage,
    EventsPage,
    LogLine,
    meta.Health,
    meta.ApiVersionInfo,
    meta.CapabilityCatalog,
    meta.HarnessScans,
    meta.HarnessScan,
    meta.HarnessList,
    meta.ActionResult,
    meta.SacrificeResult,
    meta.VacuumResult,
    meta.ShutdownAccepted,
    requests.LaunchBody,
    requests.ExternalBody,
    requests.InputBody,
    requests.ResizeBody,
    requests.CompleteBody,
    requests.SacrificeBody,
    requests.ActionBody,
    requests.ShutdownBody,
    requests.KillBody,
    frames.AttachedFrame,
    frames.LiveFrame,
    frames.ExitFrame,
    frames.OverflowFrame,
    frames.ResizeFrame,
    frames.InputFrame,
    *COCKPIT_TYPES,
    frames.ScreenView,
    *WORK_TYPES,
    *ATTENTION_TYPES,
) + search_doc.TYPES


def _ref(t: Any) -> Schema:
    return {"$ref": f"#/components/schemas/{t.__name__}"}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> Schema:
    return _json(_ref(ErrorEnvelope), description)


_TOO_LARGE = _json(
    {"anyOf": [_ref(TransportError), _ref(ErrorEnvelope)]},
    "Body over 4 MiB (`payload_too_large`, refused unread) or a too-large input/event page",
)
_NOT_FOUND = _error("`session_not_found` (details.sessionId)")
_BAD = _error("`invalid_request`")
_UNAVAILABLE = _error("`storage_unavailable` or `daemon_shutting_down`")
_GIT_TIMEOUT = _error("`git_timeout`")
_GIT_FAILURES = {
    "500": _error("`git_failed` (details.stderr)"),
    "503": _error("`storage_unavailable`, `daemon_shutting_down` or `git_unavailable`"),
    "504": _GIT_TIMEOUT,
}
_ACCEPTED = _json(_ref(meta.Accepted), "Accepted")
_RECORD = _json(_ref(SessionRecord), "Session record")


def _body(t: Any, required: bool = True) -> Schema:
    return {"required": required, "content": {"application/json": {"schema": _ref(t)}}}


def _query(name: str, description: str, schema: Schema | None = None) -> Schema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


_SESSION_ID: Schema = {
    "name": "sessionId",
    "in": "path",
    "required": True,
    "description": "Raw session id (no percent-decoding; ids may contain `/`).",
    "schema": {"type": "string"},
}
_KEEP_SESSIONS = "`true`: sessions with a holder run on for the next daemon (else all are killed)"
_AFTER_SEQ = _query(
    "afterSeq", "Signed 64-bit integer; events with a larger seq.", {"type": "integer"}
)
_EVENT_QUERY = [
    _AFTER_SEQ,
    _query("afterEventId", "Used only when afterSeq is absent; unknown ids are ignored."),
    _query(
        "limit",
        "Integer, clamped to 1..1000. With or without it a page stops near 4 MiB and says hasMore.",
        {"type": "integer"},
    ),
]


def _op(summary: str, responses: dict[str, Schema], **extra: Any) -> Schema:
    return {"summary": summary, "responses": responses, **extra}


def _session_post(summary: str, ok: Schema, body: Any, **errors: Schema) -> Schema:
    responses = {**ok, "404": _NOT_FOUND, "413": _TOO_LARGE, **errors}
    extra: dict[str, Any] = {"parameters": [_SESSION_ID]}
    if body is not None:
        extra["requestBody"] = _body(body, required=False)
    return {"post": _op(summary, responses, **extra)}


def _paths() -> dict[str, Schema]:
    action = _ref(meta.ActionResult)
    paths: dict[str, Schema] = {
        "/health": {"get": _op("Daemon health", {"200": _json(_ref(meta.Health), "Health")})},
        "/api-version": {
            "get": _op("Route-family version", {"200": _json(_ref(meta.ApiVersionInfo), "Version")})
        },
        "/capabilities": {
            "get": _op(
                "Capability catalog", {"200": _json(_ref(meta.CapabilityCatalog), "Catalog")}
            )
        },
        "/capabilities/harnesses": {
            "get": _op("Harness capability scans", {"200": _json(_ref(meta.HarnessScans), "Scans")})
        },
        "/harnesses": {
            "get": _op(
                "Configured harnesses and whether a launch would find each (the daemon's PATH)",
                {"200": _json(_ref(meta.HarnessList), "Harnesses")},
            )
        },
        "/capabilities/{harnessId}": {
            "get": _op(
                "One harness capability scan",
                {
                    "200": _json(_ref(meta.HarnessScan), "Manifest"),
                    "404": _error("`harness_not_found` (details.harnessId)"),
                },
                parameters=[
                    {
                        "name": "harnessId",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
            )
        },
        "/actions": {
            "post": _op(
                "Run a control-plane action",
                {
                    "200": _json(action, "Completed"),
                    "400": _json(action, "Rejected (non-envelope shape)"),
                    "404": _json(action, "Rejected: session not found"),
                    "409": _json(action, "Rejected: session conflict"),
                    "413": _TOO_LARGE,
                    "422": _json(action, "Rejected: external session"),
                    "503": _json(action, "Rejected: storage unavailable"),
                },
                requestBody=_body(requests.ActionBody, required=False),
            )
        },
        "/sessions": {
            "get": _op(
                "List sessions (array without paging params, envelope with them)",
                {
                    "200": _json(
                        {
                            "oneOf": [
                                {"type": "array", "items": _ref(SessionRecord)},
                                _ref(SessionsPage),
                            ]
                        },
                        "Sessions",
                    ),
                    "400": _BAD,
                },
                parameters=[
                    _query("limit", "1..1000", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    _query("cursor", "Opaque next_cursor of the previous page"),
                    _query(
                        "includeArchived",
                        "`true` or `false`",
                        {"type": "string", "enum": ["true", "false"]},
                    ),
                ],
            ),
            "post": _op(
                "Launch a harness session",
                {
                    "201": _RECORD,
                    "400": _BAD,
                    "409": _error("`repository_empty`, `lane_exists` (isolation `worktree`)"),
                    "413": _TOO_LARGE,
                    "422": _error("`not_a_git_repository` (isolation `worktree`)"),
                    "500": _error(
                        "`launch_failed` (details.sessionId), row left `failed`; `git_failed`"
                    ),
                    "503": _error(
                        "`storage_unavailable`, `daemon_shutting_down` or `git_unavailable`"
                    ),
                    "504": _GIT_TIMEOUT,
                },
                requestBody=_body(requests.LaunchBody),
            ),
        },
        "/sessions/external": {
            "post": _op(
                "Register an external session (idempotent)",
                {
                    "200": _json(_ref(SessionRecord), "Already registered, unchanged"),
                    "201": _json(_ref(SessionRecord), "Registered"),
                    "400": _BAD,
                    "409": _error("`session_id_conflict`"),
                    "413": _TOO_LARGE,
                    "503": _UNAVAILABLE,
                },
                requestBody=_body(requests.ExternalBody),
            )
        },
        "/events": {
            "get": _op(
                "Events of one session",
                {
                    "200": _json(_ref(EventsPage), "Page"),
                    "400": _BAD,
                    "404": _NOT_FOUND,
                    "413": _error("`event_response_too_large`: the next event alone exceeds 4 MiB"),
                },
                parameters=[
                    {
                        "name": "sessionId",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    *_EVENT_QUERY,
                ],
            )
        },
        "/store/vacuum": {
            "post": _op(
                "Store maintenance",
                {
                    "200": _json(_ref(meta.VacuumResult), "Integrity checked (no VACUUM is run)"),
                    "413": _TOO_LARGE,
                },
            )
        },
        "/openapi.json": {
            "get": _op("This document", {"200": _json({"type": "object"}, "OpenAPI 3.1")})
        },
        "/internal/lifecycle/shutdown": {
            "post": _op(
                "Stop the daemon (prefixed path only); the connection stays open until it exits",
                {
                    "202": _json(_ref(meta.ShutdownAccepted), "Stopping"),
                    "400": _BAD,
                    "409": _error("`daemon_identity_mismatch`"),
                    "413": _TOO_LARGE,
                },
                requestBody=_body(requests.ShutdownBody),
                parameters=[_query("keepSessions", _KEEP_SESSIONS, {"enum": ["true", "false"]})],
            )
        },
        "/sessions/{sessionId}": {
            "get": _op(
                "Session detail (archived included)",
                {"200": _RECORD, "404": _NOT_FOUND},
                parameters=[_SESSION_ID],
            )
        },
        "/sessions/{sessionId}/events": {
            "get": _op(
                "Events of one session",
                {
                    "200": _json(_ref(EventsPage), "Page"),
                    "400": _BAD,
                    "404": _NOT_FOUND,
                    "413": _error("`event_response_too_large`: the next event alone exceeds 4 MiB"),
                },
                parameters=[_SESSION_ID, *_EVENT_QUERY],
            )
        },
        "/sessions/{sessionId}/log": {
            "get": _op(
                "Redacted log preview",
                {
                    "200": _json({"type": "array", "items": _ref(LogLine)}, "Lines"),
                    "404": _NOT_FOUND,
                },
                parameters=[_SESSION_ID],
            )
        },
        "/sessions/{sessionId}/follow": {
            "get": _op(
                "Chunked NDJSON of EventRecords after afterSeq, live until `exit`",
                {
                    "200": {
                        "description": "One EventRecord per line",
                        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                    },
                    "400": _BAD,
                    "404": _NOT_FOUND,
                },
                parameters=[_SESSION_ID, _AFTER_SEQ],
            )
        },
        "/sessions/{sessionId}/input": _session_post(
            "Write input to a live session",
            {"202": _ACCEPTED},
            requests.InputBody,
            **{"400": _BAD, "409": _error("`session_not_live`"), "503": _UNAVAILABLE},
        ),
        "/sessions/{sessionId}/kill": _session_post(
            "Kill a live session's process group",
            {"202": _ACCEPTED},
            requests.KillBody,
            **{
                "409": _error("`session_not_live`"),
                "422": _error("`external_session_not_killable`"),
                "503": _UNAVAILABLE,
            },
        ),
        "/sessions/{sessionId}/complete": _session_post(
            "Mark an external session finished",
            {"200": _RECORD},
            requests.CompleteBody,
            **{
                "409": _error("`session_conflict`: already finished (completed only once)"),
                "422": _error("`not_external_session`"),
                "503": _UNAVAILABLE,
            },
        ),
        "/sessions/{sessionId}/resize": _session_post(
            "Resize a live session's terminal",
            {"202": _ACCEPTED},
            requests.ResizeBody,
            **{"400": _BAD, "409": _error("`session_not_live`")},
        ),
        "/sessions/{sessionId}/archive": _session_post(
            "Archive a finished session",
            {"200": _RECORD},
            None,
            **{"409": _error("`session_conflict` (still running)"), "503": _UNAVAILABLE},
        ),
        "/sessions/{sessionId}/summon": _session_post(
            "Un-archive a session",
            {"200": _RECORD},
            None,
            **{"409": _error("`session_conflict` (a live session)"), "503": _UNAVAILABLE},
        ),
        "/sessions/{sessionId}/sacrifice": _session_post(
            "Delete a finished session and its events (and its lane, when that loses nothing)",
            {"200": _json(_ref(meta.SacrificeResult), "Deleted")},
            requests.SacrificeBody,
            **{
                "400": _BAD,
                "409": _error(
                    "`session_conflict` (still running); `lane_dirty`, `lane_unmerged` "
                    "(its lane holds work)"
                ),
                **_GIT_FAILURES,
            },
        ),
    }
    paths.update(attention_paths(_ref, _json, _error, _session_post))
    paths.update(terminal_paths(_ref, _json, _op, [_SESSION_ID], _AFTER_SEQ, _BAD, _NOT_FOUND))
    paths.update(cockpit_paths(_ref, _json, _error, _op, _body, _TOO_LARGE))
    paths.update(
        work_paths(_ref, _json, _error, _op, _session_post, _query, _SESSION_ID, _GIT_FAILURES)
        | search_doc.search_paths(_ref, _json, _op, _query, _body, _error, _TOO_LARGE)
    )
    return {PREFIX + path: item for path, item in paths.items()}


@functools.cache
def _document() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        _TYPES, ref_template="#/components/schemas/{name}"
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Coven daemon API",
            "version": "v1",
            "description": (
                "coven.daemon.v1 over a Unix socket (`<COVEN_HOME>/coven.sock`). One request per "
                "connection; JSON routes answer with Content-Length and Connection: close. "
                "Every route except /internal/lifecycle/shutdown is also served without the "
                "/api/v1 prefix. Paths are matched raw: no percent-decoding."
            ),
        },
        "servers": [{"url": "http://coven"}],
        "paths": _paths(),
        "components": {"schemas": components},
    }


def openapi_document() -> dict[str, Any]:
    """The whole document; a fresh deep copy the caller may modify."""
    return copy.deepcopy(_document())
