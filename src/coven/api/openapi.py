"""The OpenAPI 3.0 document for the ``/api/v1`` surface, served at ``GET /api/v1/openapi.json``.

Callers may rely on: every route the router serves is listed with each status it
can answer (no undocumented status), every JSON error body matches one of the
three documented shapes (``ErrorEnvelope``, ``TransportError`` for 413/500 from
the HTTP layer, ``ActionResult`` for ``/actions``), and success bodies match
their schema. The bare aliases (``/health``, ``/sessions/…``) are not listed:
each answers exactly like its ``/api/v1`` twin. ``docs/openapi.json`` is this
document serialised with ``json.dumps(..., indent=2, sort_keys=True)``; a test
keeps the two identical. The document is built once and returned as a fresh copy.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from coven.schema import SESSION_STATUSES, SessionRecord

PREFIX = "/api/v1"

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> Schema:
    return _json(_ref("ErrorEnvelope"), description)


_TOO_LARGE = _json(
    {"anyOf": [_ref("TransportError"), _ref("ErrorEnvelope")]},
    "Body over 4 MiB (`payload_too_large`, refused unread) or a too-large input/event page",
)
_NOT_FOUND = _error("`session_not_found` (details.sessionId)")
_BAD = _error("`invalid_request`")
_UNAVAILABLE = _error("`storage_unavailable` or `daemon_shutting_down`")
_ACCEPTED = _json(_ref("Accepted"), "Accepted")

_NULLABLE_STRING: Schema = {"type": "string", "nullable": True}

_SCHEMAS: dict[str, Schema] = {
    "ErrorEnvelope": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "minLength": 1},
                    "message": {"type": "string"},
                    "details": {"type": "object", "additionalProperties": True},
                },
            }
        },
    },
    "TransportError": {
        "description": "413 payload_too_large and 500 internal_error from the HTTP layer.",
        "type": "object",
        "required": ["ok", "error"],
        "properties": {
            "ok": {"type": "boolean", "enum": [False]},
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": ["payload_too_large", "internal_error"]},
                    "message": {"type": "string"},
                },
            },
        },
    },
    "Accepted": {
        "type": "object",
        "required": ["accepted", "ok"],
        "properties": {
            "accepted": {"type": "boolean", "enum": [True]},
            "ok": {"type": "boolean", "enum": [True]},
        },
    },
    "SessionRecord": {
        "type": "object",
        # All 16 keys, always present: the wire record itself is the source of truth.
        "required": list(SessionRecord.__struct_fields__),
        "properties": {
            "id": {"type": "string"},
            "project_root": {"type": "string"},
            "harness": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "string", "enum": list(SESSION_STATUSES)},
            "exit_code": {"type": "integer", "nullable": True},
            "archived_at": _NULLABLE_STRING,
            "created_at": {"type": "string"},
            "updated_at": {"type": "string"},
            "conversation_id": _NULLABLE_STRING,
            "familiar_id": _NULLABLE_STRING,
            "execution_binding": {"nullable": True},
            "labels": {"type": "array", "items": {"type": "string"}},
            "visibility": {"type": "string"},
            "external": {"type": "boolean"},
            "transcript_path": _NULLABLE_STRING,
        },
    },
    "SessionsPage": {
        "type": "object",
        "required": ["sessions", "next_cursor"],
        "properties": {
            "sessions": {"type": "array", "items": _ref("SessionRecord")},
            "next_cursor": _NULLABLE_STRING,
        },
    },
    "EventRecord": {
        "type": "object",
        "required": ["seq", "id", "session_id", "kind", "payload_json", "created_at"],
        "properties": {
            "seq": {"type": "integer", "minimum": 1},
            "id": {"type": "string"},
            "session_id": {"type": "string"},
            "kind": {"type": "string"},
            "payload_json": {"type": "string", "description": "JSON text, keys sorted"},
            "created_at": {"type": "string"},
        },
    },
    "EventsPage": {
        "type": "object",
        "required": ["events", "nextCursor", "hasMore"],
        "properties": {
            "events": {"type": "array", "items": _ref("EventRecord")},
            "nextCursor": {
                "type": "object",
                "nullable": True,
                "required": ["afterSeq"],
                "properties": {"afterSeq": {"type": "integer"}},
            },
            "hasMore": {"type": "boolean"},
        },
    },
    "LogLine": {
        "type": "object",
        "required": ["ts", "level", "message"],
        "properties": {
            "ts": {"type": "string"},
            "level": {"type": "string"},
            "message": {"type": "string"},
        },
    },
    "Health": {
        "type": "object",
        "required": ["ok", "apiVersion", "covenVersion", "capabilities", "daemon"],
        "properties": {
            "ok": {"type": "boolean", "enum": [True]},
            "apiVersion": {"type": "string", "enum": ["coven.daemon.v1"]},
            "covenVersion": {"type": "string", "minLength": 1},
            "capabilities": {
                "type": "object",
                "required": ["sessions", "events", "eventCursor", "structuredErrors"],
                "properties": {
                    "sessions": {"type": "boolean"},
                    "events": {"type": "boolean"},
                    "eventCursor": {"type": "string", "enum": ["sequence"]},
                    "structuredErrors": {"type": "boolean"},
                },
            },
            "daemon": {
                "type": "object",
                "nullable": True,
                "required": ["pid", "startedAt", "socket"],
                "properties": {
                    "pid": {"type": "integer"},
                    "startedAt": {"type": "string"},
                    "socket": {"type": "string"},
                },
            },
            "eventWriter": {
                "type": "object",
                "required": ["state"],
                "properties": {
                    "state": {"type": "string"},
                    "lastError": {"type": "string"},
                },
            },
            "storage": {
                "type": "object",
                "required": ["status"],
                "properties": {
                    "status": {"type": "string", "enum": ["ok", "warning", "critical", "degraded"]}
                },
            },
        },
    },
    "Capability": {
        "type": "object",
        "required": ["id", "label", "adapter", "status", "policy", "actions"],
        "properties": {
            "id": {"type": "string"},
            "label": {"type": "string"},
            "adapter": {"type": "string"},
            "status": {"type": "string", "enum": ["available", "planned"]},
            "policy": {"type": "string", "enum": ["allow", "requiresApproval"]},
            "actions": {"type": "array", "items": {"type": "string"}},
        },
    },
    "HarnessManifest": {
        "type": "object",
        "required": [
            "harness_id",
            "scanned_at",
            "global_instructions",
            "skills",
            "plugins",
            "warnings",
        ],
        "properties": {
            "harness_id": {"type": "string"},
            "scanned_at": {"type": "string"},
            "global_instructions": {
                "type": "object",
                "required": ["present"],
                "properties": {"present": {"type": "boolean"}},
            },
            "skills": {"type": "array"},
            "plugins": {"type": "array"},
            "warnings": {"type": "array"},
        },
    },
    "ActionResult": {
        "description": "Success, or the non-envelope rejection `{ok:false, status:'rejected'}`.",
        "type": "object",
        "required": ["ok", "accepted", "action", "status"],
        "properties": {
            "ok": {"type": "boolean"},
            "accepted": {"type": "boolean"},
            "action": {"type": "string"},
            "status": {"type": "string", "enum": ["completed", "rejected"]},
            "reason": {"type": "string"},
            "code": {"type": "string"},
            "event": {
                "type": "object",
                "required": ["kind", "action"],
                "properties": {"kind": {"type": "string"}, "action": {"type": "string"}},
            },
        },
    },
    "DaemonIdentity": {
        "type": "object",
        "required": ["pid", "startedAt", "socket"],
        "properties": {
            "pid": {"type": "integer"},
            "startedAt": {"type": "string"},
            "socket": {"type": "string"},
        },
    },
    "LaunchRequest": {
        "type": "object",
        "required": ["projectRoot", "harness", "prompt"],
        "properties": {
            "projectRoot": {"type": "string", "description": "absolute existing directory"},
            "cwd": {"type": "string", "description": "inside projectRoot"},
            "harness": {"type": "string"},
            "prompt": {"type": "string", "minLength": 1},
            "title": {"type": "string"},
            "launchMode": {"type": "string", "enum": ["interactive", "nonInteractive"]},
            "model": {"type": "string"},
            "conversation": {
                "type": "object",
                "nullable": True,
                "required": ["mode", "id"],
                "properties": {
                    "mode": {"type": "string", "enum": ["init", "resume"]},
                    "id": {"type": "string", "pattern": "^[A-Za-z0-9._-]+$"},
                },
            },
            "conversationId": {"type": "string"},
            "permission": {"type": "string", "enum": ["full", "read-only"]},
            "addDirs": {"type": "array", "items": {"type": "string"}},
            "rows": {"type": "integer", "minimum": 1, "maximum": 1000},
            "cols": {"type": "integer", "minimum": 1, "maximum": 1000},
            "labels": {"type": "array", "items": {"type": "string"}, "maxItems": 16},
        },
    },
    "ExternalRequest": {
        "type": "object",
        "required": ["id", "projectRoot", "harness"],
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "projectRoot": {"type": "string"},
            "harness": {"type": "string", "minLength": 1},
            "title": {"type": "string"},
            "transcriptPath": _NULLABLE_STRING,
            "labels": {"type": "array", "items": {"type": "string"}, "maxItems": 16},
        },
    },
}


def _body(schema: Schema, required: bool = True) -> Schema:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


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

_EVENT_QUERY = [
    _query("afterSeq", "Signed 64-bit integer; events with a larger seq.", {"type": "integer"}),
    _query("afterEventId", "Used only when afterSeq is absent; unknown ids are ignored."),
    _query("limit", "Integer, clamped to 1..1000; enables hasMore.", {"type": "integer"}),
]


def _op(summary: str, responses: dict[str, Schema], **extra: Any) -> Schema:
    return {"summary": summary, "responses": responses, **extra}


def _session_post(summary: str, ok: Schema, body: Schema | None, **errors: Schema) -> Schema:
    responses = {**ok, "404": _NOT_FOUND, "413": _TOO_LARGE, **errors}
    extra: dict[str, Any] = {"parameters": [_SESSION_ID]}
    if body is not None:
        extra["requestBody"] = _body(body, required=False)
    return {"post": _op(summary, responses, **extra)}


def _paths() -> dict[str, Schema]:
    record = _json(_ref("SessionRecord"), "Session record")
    paths: dict[str, Schema] = {
        "/health": {"get": _op("Daemon health", {"200": _json(_ref("Health"), "Health")})},
        "/api-version": {
            "get": _op(
                "Route-family version",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["apiVersion", "supportedApiVersions"],
                            "properties": {
                                "apiVersion": {"type": "string"},
                                "supportedApiVersions": {
                                    "type": "array",
                                    "items": {"type": "string"},
                                },
                            },
                        },
                        "Version",
                    )
                },
            )
        },
        "/capabilities": {
            "get": _op(
                "Capability catalog",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["capabilities"],
                            "properties": {
                                "capabilities": {"type": "array", "items": _ref("Capability")}
                            },
                        },
                        "Catalog",
                    )
                },
            )
        },
        "/capabilities/harnesses": {
            "get": _op(
                "Harness capability scans",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["coven_skills", "harness_capabilities", "scanned_at"],
                            "properties": {
                                "coven_skills": {"type": "array"},
                                "harness_capabilities": {
                                    "type": "array",
                                    "items": _ref("HarnessManifest"),
                                },
                                "scanned_at": {"type": "string"},
                            },
                        },
                        "Scans",
                    )
                },
            )
        },
        "/capabilities/{harnessId}": {
            "get": _op(
                "One harness capability scan",
                {
                    "200": _json(_ref("HarnessManifest"), "Manifest"),
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
                    "200": _json(_ref("ActionResult"), "Completed"),
                    "400": _json(_ref("ActionResult"), "Rejected (non-envelope shape)"),
                    "404": _json(_ref("ActionResult"), "Rejected: session not found"),
                    "409": _json(_ref("ActionResult"), "Rejected: session conflict"),
                    "413": _TOO_LARGE,
                    "422": _json(_ref("ActionResult"), "Rejected: external session"),
                    "503": _json(_ref("ActionResult"), "Rejected: storage unavailable"),
                },
                requestBody=_body(
                    {
                        "type": "object",
                        "properties": {
                            "action": {"type": "string"},
                            "origin": {"type": "string"},
                            "intentId": {"type": "string"},
                            "args": {"type": "object"},
                        },
                    },
                    required=False,
                ),
            )
        },
        "/sessions": {
            "get": _op(
                "List sessions (array without paging params, envelope with them)",
                {
                    "200": _json(
                        {
                            "oneOf": [
                                {"type": "array", "items": _ref("SessionRecord")},
                                _ref("SessionsPage"),
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
                    "201": record,
                    "400": _BAD,
                    "413": _TOO_LARGE,
                    "500": _error("`launch_failed` (details.sessionId), row left `failed`"),
                    "503": _UNAVAILABLE,
                },
                requestBody=_body(_ref("LaunchRequest")),
            ),
        },
        "/sessions/external": {
            "post": _op(
                "Register an external session (idempotent)",
                {
                    "200": _json(_ref("SessionRecord"), "Already registered, unchanged"),
                    "201": _json(_ref("SessionRecord"), "Registered"),
                    "400": _BAD,
                    "409": _error("`session_id_conflict`"),
                    "413": _TOO_LARGE,
                    "503": _UNAVAILABLE,
                },
                requestBody=_body(_ref("ExternalRequest")),
            )
        },
        "/events": {
            "get": _op(
                "Events of one session",
                {
                    "200": _json(_ref("EventsPage"), "Page"),
                    "400": _BAD,
                    "404": _NOT_FOUND,
                    "413": _error("`event_response_too_large`"),
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
        "/familiars": {"get": _op("Familiar roster", {"200": _json({"type": "array"}, "Roster")})},
        "/store/vacuum": {
            "post": _op(
                "Store maintenance",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["ok", "integrityCheck", "eventIndexRebuilt"],
                            "properties": {
                                "ok": {"type": "boolean"},
                                "integrityCheck": {"type": "array", "items": {"type": "string"}},
                                "eventIndexRebuilt": {"type": "boolean"},
                                "vacuumed": {"type": "boolean"},
                            },
                        },
                        "Integrity checked (no VACUUM is run)",
                    ),
                    "413": _TOO_LARGE,
                },
            )
        },
        "/openapi.json": {
            "get": _op("This document", {"200": _json({"type": "object"}, "OpenAPI 3.0")})
        },
        "/internal/lifecycle/shutdown": {
            "post": _op(
                "Stop the daemon (prefixed path only); the connection stays open until it exits",
                {
                    "202": _json({"type": "object", "required": ["ok", "daemon"]}, "Stopping"),
                    "400": _BAD,
                    "409": _error("`daemon_identity_mismatch`"),
                    "413": _TOO_LARGE,
                },
                requestBody=_body(
                    {
                        "type": "object",
                        "required": ["apiVersion", "daemon"],
                        "additionalProperties": False,
                        "properties": {
                            "apiVersion": {"type": "string", "example": "coven.daemon.v1"},
                            "daemon": _ref("DaemonIdentity"),
                        },
                    }
                ),
            )
        },
        "/sessions/{sessionId}": {
            "get": _op(
                "Session detail (archived included)",
                {"200": record, "404": _NOT_FOUND},
                parameters=[_SESSION_ID],
            )
        },
        "/sessions/{sessionId}/events": {
            "get": _op(
                "Events of one session",
                {
                    "200": _json(_ref("EventsPage"), "Page"),
                    "400": _BAD,
                    "404": _NOT_FOUND,
                    "413": _error("`event_response_too_large`"),
                },
                parameters=[_SESSION_ID, *_EVENT_QUERY],
            )
        },
        "/sessions/{sessionId}/log": {
            "get": _op(
                "Redacted log preview",
                {
                    "200": _json({"type": "array", "items": _ref("LogLine")}, "Lines"),
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
                parameters=[_SESSION_ID, _EVENT_QUERY[0]],
            )
        },
        "/sessions/{sessionId}/attach": {
            "get": _op(
                "WebSocket attach (binary output out, input and resize in)",
                {
                    "101": {"description": "Switching protocols"},
                    "400": _BAD,
                    "404": _NOT_FOUND,
                },
                parameters=[_SESSION_ID, _EVENT_QUERY[0]],
            )
        },
        "/sessions/{sessionId}/input": _session_post(
            "Write input to a live session",
            {"202": _ACCEPTED},
            {"type": "object", "required": ["data"], "properties": {"data": {"type": "string"}}},
            **{
                "400": _BAD,
                "409": _error("`session_not_live`"),
                "500": _error("`send_input_failed`"),
                "503": _UNAVAILABLE,
            },
        ),
        "/sessions/{sessionId}/kill": _session_post(
            "Kill a live session's process group",
            {"202": _ACCEPTED},
            {"type": "object"},
            **{
                "409": _error("`session_not_live`"),
                "422": _error("`external_session_not_killable`"),
                "500": _error("`kill_failed`"),
                "503": _UNAVAILABLE,
            },
        ),
        "/sessions/{sessionId}/complete": _session_post(
            "Mark an external session finished",
            {"200": record},
            {"type": "object", "properties": {"exitCode": {"type": "integer", "nullable": True}}},
            **{"422": _error("`not_external_session`"), "503": _UNAVAILABLE},
        ),
        "/sessions/{sessionId}/resize": _session_post(
            "Resize a live session's terminal",
            {"202": _ACCEPTED},
            {
                "type": "object",
                "required": ["rows", "cols"],
                "properties": {
                    "rows": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "cols": {"type": "integer", "minimum": 1, "maximum": 1000},
                },
            },
            **{"400": _BAD, "409": _error("`session_not_live`")},
        ),
        "/sessions/{sessionId}/archive": _session_post(
            "Archive a finished session",
            {"200": record},
            None,
            **{"409": _error("`session_conflict` (still running)"), "503": _UNAVAILABLE},
        ),
        "/sessions/{sessionId}/summon": _session_post(
            "Un-archive a session",
            {"200": record},
            None,
            **{"409": _error("`session_conflict`"), "503": _UNAVAILABLE},
        ),
        "/sessions/{sessionId}/sacrifice": _session_post(
            "Delete a finished session and its events",
            {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["ok", "sessionId"],
                        "properties": {"ok": {"type": "boolean"}, "sessionId": {"type": "string"}},
                    },
                    "Deleted",
                )
            },
            {
                "type": "object",
                "required": ["confirm"],
                "properties": {"confirm": {"type": "string"}},
            },
            **{
                "400": _BAD,
                "409": _error("`session_conflict` (still running)"),
                "503": _UNAVAILABLE,
            },
        ),
    }
    return {PREFIX + path: item for path, item in paths.items()}


@functools.cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
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
        "components": {"schemas": _SCHEMAS},
    }


def openapi_document() -> dict[str, Any]:
    """The whole document; a fresh deep copy the caller may modify."""
    return copy.deepcopy(_document())
