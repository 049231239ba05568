"""coven.client against a MockTransport: wire shapes, error mapping, gating, paging, refs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import coven.client
from coven.authority import parse_environment
from coven.client import (
    ActionRejected,
    AmbiguousSessionRef,
    ApiError,
    ApiVersionMismatch,
    AuthorityDenied,
    Conflict,
    CovenClient,
    HarnessUnavailable,
    MockTransport,
    PayloadTooLarge,
    ProtocolError,
    Request,
    Response,
    RouteNotFound,
    SessionNotFound,
    SessionNotLive,
    StorageUnavailable,
    launch_environment,
)
from coven.client.ndjson import NdjsonEvents
from coven.client.refs import match_session_ref
from coven.schema.wire import SessionRecord

HEALTH: dict[str, Any] = {
    "ok": True,
    "apiVersion": "coven.daemon.v1",
    "covenVersion": "0.1.0",
    "capabilities": {
        "sessions": True,
        "events": True,
        "eventCursor": "sequence",
        "structuredErrors": True,
    },
    "daemon": {"pid": 1, "startedAt": "t", "socket": "/x/coven.sock"},
}


def record(session_id: str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": session_id,
        "project_root": "/p",
        "harness": "codex",
        "title": "t",
        "status": "running",
        "exit_code": None,
        "archived_at": None,
        "created_at": "2026-01-01T00:00:00.000000000Z",
        "updated_at": "2026-01-01T00:00:00.000000000Z",
        "conversation_id": None,
        "familiar_id": None,
        "execution_binding": None,
        "labels": [],
        "visibility": "private",
        "external": False,
        "transcript_path": None,
    }
    base.update(over)
    return base


def event(seq: int, session_id: str = "s1", kind: str = "output") -> dict[str, Any]:
    return {
        "seq": seq,
        "id": f"e{seq}",
        "session_id": session_id,
        "kind": kind,
        "payload_json": json.dumps({"data": f"line {seq}"}),
        "created_at": "2026-01-01T00:00:00.000000000Z",
    }


def reply(status: int, doc: Any) -> Response:
    return Response(status, {"content-type": "application/json"}, json.dumps(doc).encode())


class FakeDaemon:
    """Routes ``(method, path-with-query)`` to canned replies; records every request."""

    def __init__(self, health: dict[str, Any] | None = None) -> None:
        self.requests: list[Request] = []
        self.routes: dict[tuple[str, str], Callable[[Request], Response]] = {}
        self.on("GET", "/api/v1/health", 200, health if health is not None else HEALTH)

    def on(self, method: str, path: str, status: int, doc: Any) -> None:
        self.routes[(method, path)] = lambda _req: reply(status, doc)

    def handle(self, request: Request) -> Response:
        self.requests.append(request)
        route = self.routes.get((request.method, request.path))
        if route is None:
            return reply(404, {"error": {"code": "not_found", "message": "Route not found."}})
        return route(request)

    def client(self) -> CovenClient:
        return CovenClient(MockTransport(self.handle))

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


@pytest.fixture
def daemon() -> FakeDaemon:
    return FakeDaemon()


# ------------------------------------------------------------------ public surface


def test_public_surface_is_exactly_the_curated_all() -> None:
    assert sorted(coven.client.__all__) == sorted(
        [
            "ActionRejected",
            "AmbiguousSessionRef",
            "ApiError",
            "ApiVersionMismatch",
            "AsyncCovenClient",
            "AttachMessage",
            "AttachState",
            "AttachStateError",
            "AttachStream",
            "AuthorityDenied",
            "Conflict",
            "CovenClient",
            "CovenClientError",
            "DaemonNotRunning",
            "DaemonUnsafe",
            "Exit",
            "HarnessUnavailable",
            "Health",
            "LaunchOptions",
            "Live",
            "MockTransport",
            "Output",
            "Overflow",
            "PayloadTooLarge",
            "ProtocolError",
            "Request",
            "Response",
            "RouteNotFound",
            "SessionNotFound",
            "SessionNotLive",
            "StorageUnavailable",
            "Transport",
            "TransportError",
            "UnixTransport",
            "default_home",
            "launch_environment",
        ]
    )
    for name in coven.client.__all__:
        assert getattr(coven.client, name) is not None


def test_importing_the_client_does_not_import_aiohttp() -> None:
    code = (
        "import sys, coven.client\n"
        "assert 'aiohttp' not in sys.modules, 'aiohttp imported'\n"
        "coven.client.AsyncCovenClient\n"
        "assert 'aiohttp' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = coven.client.NoSuchThing  # type: ignore[attr-defined]


# ------------------------------------------------------------------ handshake


def test_handshake_runs_once_before_dependent_calls(daemon: FakeDaemon) -> None:
    daemon.on("GET", "/api/v1/sessions/s1", 200, record("s1"))
    client = daemon.client()
    assert client.get_session("s1").id == "s1"
    assert client.get_session("s1").status == "running"
    assert daemon.paths() == ["/api/v1/health", "/api/v1/sessions/s1", "/api/v1/sessions/s1"]


def test_health_is_not_gated_and_returns_the_document(daemon: FakeDaemon) -> None:
    h = daemon.client().health()
    assert h.api_version == "coven.daemon.v1"
    assert h.capabilities["eventCursor"] == "sequence"
    assert h.daemon == HEALTH["daemon"]


@pytest.mark.parametrize(
    ("path", "value", "needle"),
    [
        (("ok",), False, "ok"),
        (("apiVersion",), "coven.daemon.v2", "apiVersion"),
        (("capabilities", "structuredErrors"), False, "structuredErrors"),
        (("capabilities", "sessions"), 1, "capabilities.sessions"),
        (("capabilities", "events"), None, "capabilities.events"),
        (("capabilities", "eventCursor"), "eventId", "eventCursor"),
    ],
)
def test_handshake_refuses_incompatible_daemons(
    path: tuple[str, ...], value: Any, needle: str
) -> None:
    doc = json.loads(json.dumps(HEALTH))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    fake = FakeDaemon(doc)
    fake.on("GET", "/api/v1/sessions/s1", 200, record("s1"))
    client = fake.client()
    with pytest.raises(ApiVersionMismatch, match=needle):
        client.get_session("s1")
    assert fake.paths() == ["/api/v1/health"]  # nothing dependent was sent


def test_handshake_refuses_missing_capabilities_block() -> None:
    doc = {k: v for k, v in HEALTH.items() if k != "capabilities"}
    with pytest.raises(ApiVersionMismatch):
        FakeDaemon(doc).client().handshake()


def test_health_that_is_not_json_is_a_protocol_error() -> None:
    client = CovenClient(MockTransport(lambda _r: Response(200, {}, b"<html>")))
    with pytest.raises(ProtocolError):
        client.health()


def test_health_that_is_a_json_array_is_a_protocol_error() -> None:
    client = CovenClient(MockTransport(lambda _r: reply(200, [1])))
    with pytest.raises(ProtocolError):
        client.health()


def test_unsupported_api_prefix_is_a_version_mismatch(daemon: FakeDaemon) -> None:
    daemon.on(
        "GET",
        "/api/v1/sessions/s1",
        404,
        {
            "error": {
                "code": "invalid_request",
                "details": {"apiVersion": "v1", "supportedApiVersions": ["v0"]},
                "message": "Unsupported API version.",
            }
        },
    )
    with pytest.raises(ApiVersionMismatch):
        daemon.client().get_session("s1")


# ------------------------------------------------------------------ error mapping


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (404, "session_not_found", SessionNotFound),
        (409, "session_not_live", SessionNotLive),
        (400, "invalid_request", AuthorityDenied),
        (400, "unknown_familiar", AuthorityDenied),
        (400, "request_adoption_invalid", AuthorityDenied),
        (403, "forbidden", AuthorityDenied),
        (404, "harness_not_found", HarnessUnavailable),
        (404, "not_found", RouteNotFound),
        (409, "session_id_conflict", Conflict),
        (409, "session_conflict", Conflict),
        (409, "session_handoff_active", Conflict),
        (422, "not_external_session", Conflict),
        (422, "external_session_not_killable", Conflict),
        (413, "payload_too_large", PayloadTooLarge),
        (413, "input_too_large", PayloadTooLarge),
        (413, "event_response_too_large", PayloadTooLarge),
        (503, "storage_unavailable", StorageUnavailable),
        (503, "daemon_shutting_down", StorageUnavailable),
        (500, "launch_failed", ApiError),
        (500, "internal_error", ApiError),
        (423, "maintenance_locked", ApiError),
    ],
)
def test_error_codes_map_to_classes(daemon: FakeDaemon, status: int, code: str, cls: type) -> None:
    details = {"sessionId": "s1"}
    daemon.on(
        "POST",
        "/api/v1/sessions/s1/kill",
        status,
        {"error": {"code": code, "details": details, "message": "m"}},
    )
    with pytest.raises(ApiError) as info:
        daemon.client().kill("s1")
    assert type(info.value) is cls
    assert (info.value.status, info.value.code, info.value.message) == (status, code, "m")
    assert info.value.details == details


def test_http_layer_envelope_with_ok_false_is_mapped(daemon: FakeDaemon) -> None:
    daemon.on(
        "POST",
        "/api/v1/sessions",
        413,
        {
            "ok": False,
            "error": {
                "code": "payload_too_large",
                "message": "Request body exceeds 4194304-byte limit.",
            },
        },
    )
    with pytest.raises(PayloadTooLarge) as info:
        daemon.client().launch("/p", "codex", "x" * 10)
    assert info.value.details is None


def test_envelope_less_json_error_keeps_the_status(daemon: FakeDaemon) -> None:
    daemon.on("POST", "/api/v1/sessions/s1/kill", 500, {"oops": 1})
    with pytest.raises(ApiError) as info:
        daemon.client().kill("s1")
    assert type(info.value) is ApiError
    assert (info.value.status, info.value.code) == (500, "http_500")


def test_non_json_error_is_a_protocol_error(daemon: FakeDaemon) -> None:
    daemon.routes[("POST", "/api/v1/sessions/s1/kill")] = lambda _r: Response(
        502, {}, b"Bad Gateway"
    )
    with pytest.raises(ProtocolError):
        daemon.client().kill("s1")


def test_success_body_that_breaks_the_contract_is_a_protocol_error(daemon: FakeDaemon) -> None:
    daemon.on("GET", "/api/v1/sessions/s1", 200, {"id": "s1"})  # 15 required keys missing
    with pytest.raises(ProtocolError):
        daemon.client().get_session("s1")


def test_unexpected_success_status_is_a_protocol_error(daemon: FakeDaemon) -> None:
    daemon.on("GET", "/api/v1/sessions/s1", 204, record("s1"))
    with pytest.raises(ProtocolError):
        daemon.client().get_session("s1")


def test_action_rejection_shape_raises_action_rejected(daemon: FakeDaemon) -> None:
    daemon.on(
        "POST",
        "/api/v1/actions",
        400,
        {
            "ok": False,
            "accepted": False,
            "action": "x.y",
            "status": "rejected",
            "reason": "unknown action `x.y`",
        },
    )
    with pytest.raises(ActionRejected) as info:
        daemon.client().action("x.y")
    assert (info.value.status, info.value.action, info.value.reason) == (
        400,
        "x.y",
        "unknown action `x.y`",
    )


def test_action_success_returns_the_document_and_sends_args(daemon: FakeDaemon) -> None:
    ok = {
        "ok": True,
        "accepted": True,
        "action": "coven.capabilities.refresh",
        "status": "completed",
    }
    daemon.on("POST", "/api/v1/actions", 200, ok)
    assert daemon.client().action("coven.capabilities.refresh", {"a": 1}) == ok
    assert json.loads(daemon.requests[-1].body) == {
        "action": "coven.capabilities.refresh",
        "args": {"a": 1},
    }


# ------------------------------------------------------------------ request shapes


def test_launch_sends_camel_case_body_without_nones(daemon: FakeDaemon) -> None:
    daemon.on("POST", "/api/v1/sessions", 201, record("new"))
    rec = daemon.client().launch(
        "/p",
        "codex",
        "fix it",
        cwd="/p/sub",
        launch_mode="interactive",
        add_dirs=["/a"],
        rows=30,
        cols=100,
        conversation_id="c1",
        title=None,
    )
    assert isinstance(rec, SessionRecord) and rec.id == "new"
    req = daemon.requests[-1]
    assert req.headers["Content-Type"] == "application/json"
    assert json.loads(req.body) == {
        "projectRoot": "/p",
        "harness": "codex",
        "prompt": "fix it",
        "cwd": "/p/sub",
        "launchMode": "interactive",
        "addDirs": ["/a"],
        "rows": 30,
        "cols": 100,
        "conversationId": "c1",
    }


def test_launch_sends_the_environment_it_is_given(daemon: FakeDaemon) -> None:
    daemon.on("POST", "/api/v1/sessions", 201, record("new"))
    env = {"PATH": "/venv/bin:/usr/bin", "OPENAI_API_KEY": "k", "TERM": "xterm-kitty"}
    daemon.client().launch("/p", "codex", "x", environment=env)
    assert json.loads(daemon.requests[-1].body)["environment"] == env


def test_launch_environment_leaves_out_only_names_the_daemon_refuses() -> None:
    environ = {
        "PATH": "/bin",
        "BASH_FUNC_greet%%": "() {  echo hi\n}",
        "lower_case.dots-ok": "1",
        "HAS SPACE": "x",
        "NON_ÄSCII": "x",
        "": "empty name",
    }
    assert launch_environment(environ) == {
        "PATH": "/bin",
        "BASH_FUNC_greet%%": "() {  echo hi\n}",
        "lower_case.dots-ok": "1",
    }
    # Every name it keeps passes the daemon's own check.
    assert parse_environment(launch_environment(environ)) == launch_environment(environ)


def test_launch_rejects_unknown_options(daemon: FakeDaemon) -> None:
    with pytest.raises(TypeError):
        daemon.client().launch("/p", "codex", "x", colour="red")  # type: ignore[call-arg]


def test_live_control_calls_hit_their_routes(daemon: FakeDaemon) -> None:
    accepted = {"accepted": True, "ok": True}
    for suffix in ("input", "kill", "resize"):
        daemon.on("POST", f"/api/v1/sessions/s1/{suffix}", 202, accepted)
    for suffix in ("archive", "summon", "complete"):
        daemon.on("POST", f"/api/v1/sessions/s1/{suffix}", 200, record("s1", status="completed"))
    daemon.on("POST", "/api/v1/sessions/s1/sacrifice", 200, {"ok": True, "sessionId": "s1"})
    client = daemon.client()
    client.send_input("s1", "hi\n")
    client.kill("s1")
    client.resize("s1", 40, 120)
    assert client.archive("s1").status == "completed"
    assert client.summon("s1").id == "s1"
    assert client.complete("s1", 3).id == "s1"
    client.sacrifice("s1", "s1")
    bodies = {
        r.path.rsplit("/", 1)[-1]: json.loads(r.body) for r in daemon.requests if r.method == "POST"
    }
    assert bodies == {
        "input": {"data": "hi\n"},
        "kill": {},
        "resize": {"rows": 40, "cols": 120},
        "archive": {},
        "summon": {},
        "complete": {"exitCode": 3},
        "sacrifice": {"confirm": "s1"},
    }


def test_sacrifice_without_ok_is_a_protocol_error(daemon: FakeDaemon) -> None:
    daemon.on("POST", "/api/v1/sessions/s1/sacrifice", 200, {"ok": False})
    with pytest.raises(ProtocolError):
        daemon.client().sacrifice("s1", "s1")


def test_register_external_body(daemon: FakeDaemon) -> None:
    daemon.on("POST", "/api/v1/sessions/external", 201, record("ext-1", external=True))
    rec = daemon.client().register_external(
        "ext-1", "/p", "coven-code", title="Ext", labels=["a:b"]
    )
    assert rec.external is True
    assert json.loads(daemon.requests[-1].body) == {
        "id": "ext-1",
        "projectRoot": "/p",
        "harness": "coven-code",
        "transcriptPath": None,
        "title": "Ext",
        "labels": ["a:b"],
    }


@pytest.mark.parametrize("bad", ["", "a b", "a?b", "a&b", "a\nb", "a\x00b", "\t"])
def test_session_ids_the_router_would_misread_are_refused_locally(
    daemon: FakeDaemon, bad: str
) -> None:
    client = daemon.client()
    with pytest.raises(ValueError):
        client.kill(bad)
    with pytest.raises(ValueError):
        client.events(bad)
    assert daemon.paths() in ([], ["/api/v1/health"])


def test_session_ids_with_slashes_travel_raw(daemon: FakeDaemon) -> None:
    daemon.on("GET", "/api/v1/sessions/engine/42", 200, record("engine/42"))
    assert daemon.client().get_session("engine/42").id == "engine/42"


@pytest.mark.parametrize(("rows", "cols"), [(0, 80), (24, 0), (-1, -1)])
def test_resize_refuses_non_positive_sizes(daemon: FakeDaemon, rows: int, cols: int) -> None:
    with pytest.raises(ValueError):
        daemon.client().resize("s1", rows, cols)


@pytest.mark.parametrize("limit", [0, 1001, -5])
def test_page_limits_outside_the_daemon_range_are_refused(daemon: FakeDaemon, limit: int) -> None:
    with pytest.raises(ValueError):
        daemon.client().events("s1", limit=limit)
    with pytest.raises(ValueError):
        daemon.client().sessions_page(limit=limit)


# ------------------------------------------------------------------ paging


def test_list_sessions_uses_the_bare_array_by_default(daemon: FakeDaemon) -> None:
    daemon.on("GET", "/api/v1/sessions", 200, [record("a"), record("b")])
    assert [r.id for r in daemon.client().list_sessions()] == ["a", "b"]


def test_list_sessions_with_archived_pages_through_cursors(daemon: FakeDaemon) -> None:
    base = "/api/v1/sessions?limit=1000&includeArchived=true"
    daemon.on("GET", base, 200, {"sessions": [record("a")], "next_cursor": "c1"})
    daemon.on(
        "GET",
        "/api/v1/sessions?limit=1000&cursor=c1&includeArchived=true",
        200,
        {"sessions": [record("b", archived_at="t")], "next_cursor": "c2"},
    )
    daemon.on(
        "GET",
        "/api/v1/sessions?limit=1000&cursor=c2&includeArchived=true",
        200,
        {"sessions": [record("c")], "next_cursor": None},
    )
    assert [r.id for r in daemon.client().list_sessions(include_archived=True)] == ["a", "b", "c"]


def test_list_sessions_refuses_a_repeated_cursor(daemon: FakeDaemon) -> None:
    daemon.on(
        "GET",
        "/api/v1/sessions?limit=1000&includeArchived=true",
        200,
        {"sessions": [record("a")], "next_cursor": "c1"},
    )
    daemon.on(
        "GET",
        "/api/v1/sessions?limit=1000&cursor=c1&includeArchived=true",
        200,
        {"sessions": [record("b")], "next_cursor": "c1"},
    )
    with pytest.raises(ProtocolError):
        daemon.client().list_sessions(include_archived=True)


def test_list_sessions_refuses_an_empty_page_with_a_cursor(daemon: FakeDaemon) -> None:
    daemon.on(
        "GET",
        "/api/v1/sessions?limit=1000&includeArchived=true",
        200,
        {"sessions": [], "next_cursor": "c1"},
    )
    with pytest.raises(ProtocolError):
        daemon.client().list_sessions(include_archived=True)


def events_page(seqs: list[int], more: bool) -> dict[str, Any]:
    return {
        "events": [event(s) for s in seqs],
        "nextCursor": {"afterSeq": seqs[-1]} if seqs else None,
        "hasMore": more,
    }


def test_iter_events_pages_until_has_more_is_false(daemon: FakeDaemon) -> None:
    daemon.on(
        "GET", "/api/v1/events?sessionId=s1&afterSeq=5&limit=1000", 200, events_page([7, 9], True)
    )
    daemon.on(
        "GET", "/api/v1/events?sessionId=s1&afterSeq=9&limit=1000", 200, events_page([12], True)
    )
    daemon.on(
        "GET", "/api/v1/events?sessionId=s1&afterSeq=12&limit=1000", 200, events_page([], False)
    )
    assert [e.seq for e in daemon.client().iter_events("s1", after_seq=5)] == [7, 9, 12]


def test_events_page_query_and_decoding(daemon: FakeDaemon) -> None:
    daemon.on("GET", "/api/v1/events?sessionId=s1&afterSeq=0", 200, events_page([1, 2], False))
    page = daemon.client().events("s1")
    assert [e.seq for e in page.events] == [1, 2]
    assert page.nextCursor is not None and page.nextCursor.afterSeq == 2
    assert json.loads(page.events[0].payload_json) == {"data": "line 1"}


@pytest.mark.parametrize(
    "doc",
    [
        {"events": [event(3), event(2)], "nextCursor": {"afterSeq": 2}, "hasMore": False},
        {"events": [event(3)], "nextCursor": {"afterSeq": 4}, "hasMore": False},
        {"events": [event(3)], "nextCursor": None, "hasMore": False},
        {"events": [], "nextCursor": None, "hasMore": True},
        {
            "events": [event(1)],
            "nextCursor": {"afterSeq": 1},
            "hasMore": False,
        },  # not after cursor 1
    ],
)
def test_events_pages_that_break_the_cursor_contract_are_refused(
    daemon: FakeDaemon, doc: Any
) -> None:
    after = 1 if doc["events"] and doc["events"][0]["seq"] == 1 else 0
    daemon.on("GET", f"/api/v1/events?sessionId=s1&afterSeq={after}", 200, doc)
    with pytest.raises(ProtocolError):
        daemon.client().events("s1", after_seq=after)


def test_log_decodes_lines(daemon: FakeDaemon) -> None:
    daemon.on(
        "GET", "/api/v1/sessions/s1/log", 200, [{"ts": "t", "level": "info", "message": "> hi"}]
    )
    (line,) = daemon.client().log("s1")
    assert (line.level, line.message) == ("info", "> hi")


# ------------------------------------------------------------------ session references

RECORDS = [SessionRecord(**{**record(i)}) for i in ("9abc", "9abd", "9", "7fff", "archived-1")]


def test_exact_id_wins_over_prefix_matches() -> None:
    assert match_session_ref("9", RECORDS).id == "9"


def test_unique_prefix_resolves() -> None:
    assert match_session_ref("7f", RECORDS).id == "7fff"
    assert match_session_ref("arch", RECORDS).id == "archived-1"


def test_ambiguous_prefix_lists_matches() -> None:
    with pytest.raises(AmbiguousSessionRef) as info:
        match_session_ref("9a", RECORDS)
    assert info.value.matches == ["9abc", "9abd"]
    assert str(info.value) == "session id prefix `9a` is ambiguous; it matches: 9abc, 9abd"


def test_ambiguous_message_shows_at_most_five_ids() -> None:
    many = [SessionRecord(**record(f"x{i}")) for i in range(7)]
    with pytest.raises(AmbiguousSessionRef) as info:
        match_session_ref("x", many)
    assert len(info.value.matches) == 7
    assert str(info.value).endswith("x0, x1, x2, x3, x4")


@pytest.mark.parametrize("ref", ["zzz", ""])
def test_unknown_or_empty_ref_is_session_not_found(ref: str) -> None:
    with pytest.raises(SessionNotFound) as info:
        match_session_ref(ref, RECORDS)
    assert (
        str(info.value)
        == f"session `{ref}` not found; run `coven sessions --all` to list session ids"
    )
    assert info.value.code == "session_not_found"


def test_resolve_uses_exact_lookup_first(daemon: FakeDaemon) -> None:
    daemon.on("GET", "/api/v1/sessions/9", 200, record("9"))
    assert daemon.client().resolve_session_ref("9").id == "9"
    assert daemon.paths() == ["/api/v1/health", "/api/v1/sessions/9"]


def test_resolve_falls_back_to_prefix_over_all_sessions(daemon: FakeDaemon) -> None:
    not_found = {"error": {"code": "session_not_found", "message": "Session was not found."}}
    daemon.on("GET", "/api/v1/sessions/ab", 404, not_found)
    daemon.on(
        "GET",
        "/api/v1/sessions?limit=1000&includeArchived=true",
        200,
        {"sessions": [record("abc1", archived_at="t"), record("zz")], "next_cursor": None},
    )
    assert daemon.client().resolve_session_ref("ab").id == "abc1"


def test_resolve_empty_ref_sends_nothing(daemon: FakeDaemon) -> None:
    with pytest.raises(SessionNotFound):
        daemon.client().resolve_session_ref("")
    assert daemon.requests == []


def test_resolve_ref_with_unsendable_characters_still_matches_prefixes(daemon: FakeDaemon) -> None:
    daemon.on(
        "GET",
        "/api/v1/sessions?limit=1000&includeArchived=true",
        200,
        {"sessions": [record("zz")], "next_cursor": None},
    )
    with pytest.raises(SessionNotFound):
        daemon.client().resolve_session_ref("a b")


# ------------------------------------------------------------------ follow (NDJSON)


def ndjson(*seqs: int) -> bytes:
    return b"".join(json.dumps(event(s)).encode() + b"\n" for s in seqs)


def splits(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.mark.parametrize("size", [1, 2, 7, 64, 10_000])
def test_ndjson_decoder_reassembles_records_across_chunk_boundaries(size: int) -> None:
    decoder = NdjsonEvents()
    out = []
    for chunk in splits(ndjson(1, 2, 3) + b"\n", size):
        out.extend(decoder.feed(chunk))
    decoder.finish()
    assert [e.seq for e in out] == [1, 2, 3]


def test_ndjson_decoder_refuses_a_truncated_stream() -> None:
    decoder = NdjsonEvents()
    assert [e.seq for e in decoder.feed(ndjson(1) + ndjson(2)[:10])] == [1]
    with pytest.raises(ProtocolError):
        decoder.finish()


@pytest.mark.parametrize("line", [b"not json\n", b'{"seq": 1}\n', b"[1,2]\n"])
def test_ndjson_decoder_refuses_bad_records(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        NdjsonEvents().feed(line)


def test_follow_streams_chunks_and_closes_the_response(daemon: FakeDaemon) -> None:
    closed: list[bool] = []
    data = ndjson(4, 5, 6)

    def stream(req: Request) -> Response:
        assert req.stream and req.timeout is None
        return Response(200, {}, stream=splits(data, 5), on_close=lambda: closed.append(True))

    daemon.routes[("GET", "/api/v1/sessions/s1/follow?afterSeq=3")] = stream
    assert [e.seq for e in daemon.client().follow("s1", after_seq=3)] == [4, 5, 6]
    assert closed == [True]


def test_follow_closed_early_closes_the_response(daemon: FakeDaemon) -> None:
    closed: list[bool] = []
    daemon.routes[("GET", "/api/v1/sessions/s1/follow?afterSeq=0")] = lambda _r: Response(
        200, {}, stream=iter([ndjson(1), ndjson(2)]), on_close=lambda: closed.append(True)
    )
    it = daemon.client().follow("s1")
    assert next(it).seq == 1
    it.close()  # type: ignore[attr-defined]
    assert closed == [True]


def test_follow_error_status_raises_mapped_error(daemon: FakeDaemon) -> None:
    daemon.on(
        "GET",
        "/api/v1/sessions/gone/follow?afterSeq=0",
        404,
        {"error": {"code": "session_not_found", "message": "Session was not found."}},
    )
    with pytest.raises(SessionNotFound):
        list(daemon.client().follow("gone"))
