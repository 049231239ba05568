"""The cockpit's request guard and route allow-list, as pure decisions."""

from __future__ import annotations

import pytest

from coven.cockpit import allowlist
from coven.cockpit.guard import Guard, Incoming, Verdict

TOKEN = "t0ken-abc"
GUARD = Guard(TOKEN, 8123)


def incoming(
    method: str = "GET",
    path: str = "/",
    query: str = "",
    host: str | None = "127.0.0.1:8123",
    origin: str | None = None,
    authorization: str | None = None,
    cookies: dict[str, str] | None = None,
    websocket: bool = False,
) -> Incoming:
    return Incoming(method, path, query, host, origin, authorization, cookies or {}, websocket)


def test_a_request_without_any_token_is_unauthorized() -> None:
    decision = GUARD.decide(incoming())
    assert decision.verdict is Verdict.UNAUTHORIZED
    assert "coven cockpit" in decision.reason


@pytest.mark.parametrize("token", ["", "t0ken-abd", "t0ken-ab", TOKEN + "x", TOKEN.upper()])
def test_a_wrong_token_is_unauthorized_wherever_it_is_presented(token: str) -> None:
    for request in (
        incoming(query=f"token={token}"),
        incoming(authorization=f"Bearer {token}"),
        incoming(cookies={GUARD.cookie_name: token}),
    ):
        assert GUARD.decide(request).verdict is Verdict.UNAUTHORIZED


def test_the_token_in_the_address_moves_into_a_cookie_by_redirect_keeping_other_params() -> None:
    decision = GUARD.decide(incoming(path="/", query=f"x=1&token={TOKEN}&y=2"))
    assert decision.verdict is Verdict.MOVE_TOKEN_TO_COOKIE
    assert decision.redirect_to == "/?x=1&y=2"
    assert TOKEN not in decision.redirect_to


def test_bearer_and_cookie_are_accepted() -> None:
    assert GUARD.decide(incoming(authorization=f"Bearer {TOKEN}")).verdict is Verdict.ALLOW
    cookie = incoming(cookies={GUARD.cookie_name: TOKEN})
    assert GUARD.decide(cookie).verdict is Verdict.ALLOW


def test_a_cookie_for_another_cockpit_port_does_not_count() -> None:
    other = Guard("other", 9000)
    request = incoming(cookies={other.cookie_name: TOKEN})
    assert GUARD.decide(request).verdict is Verdict.UNAUTHORIZED


@pytest.mark.parametrize(
    "host",
    [None, "", "evil.example:8123", "127.0.0.1:8124", "127.0.0.1", "localhost", "0.0.0.0:8123"],
)
def test_a_foreign_host_header_is_forbidden_even_with_the_token(host: str | None) -> None:
    request = incoming(host=host, authorization=f"Bearer {TOKEN}")
    assert GUARD.decide(request).verdict is Verdict.FORBIDDEN


def test_localhost_and_loopback_hosts_are_this_listener() -> None:
    for host in ("127.0.0.1:8123", "localhost:8123", "LOCALHOST:8123"):
        request = incoming(host=host, authorization=f"Bearer {TOKEN}")
        assert GUARD.decide(request).verdict is Verdict.ALLOW


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "http://127.0.0.1:8124", "https://127.0.0.1:8123", "null"]
)
def test_a_foreign_origin_is_forbidden_for_reads_writes_and_websockets(origin: str) -> None:
    auth = {"cookies": {GUARD.cookie_name: TOKEN}}
    for request in (
        incoming(origin=origin, **auth),  # type: ignore[arg-type]
        incoming(method="POST", origin=origin, **auth),  # type: ignore[arg-type]
        incoming(websocket=True, origin=origin, **auth),  # type: ignore[arg-type]
    ):
        assert GUARD.decide(request).verdict is Verdict.FORBIDDEN


def test_writes_and_websockets_must_carry_an_origin() -> None:
    cookie = {GUARD.cookie_name: TOKEN}
    assert GUARD.decide(incoming(method="POST", cookies=cookie)).verdict is Verdict.FORBIDDEN
    assert GUARD.decide(incoming(websocket=True, cookies=cookie)).verdict is Verdict.FORBIDDEN
    same = "http://127.0.0.1:8123"
    assert (
        GUARD.decide(incoming(method="POST", cookies=cookie, origin=same)).verdict is Verdict.ALLOW
    )
    assert (
        GUARD.decide(incoming(websocket=True, cookies=cookie, origin=same)).verdict is Verdict.ALLOW
    )


def test_a_websocket_with_the_token_in_its_query_is_not_redirected() -> None:
    request = incoming(websocket=True, origin="http://127.0.0.1:8123", query=f"token={TOKEN}")
    assert GUARD.decide(request).verdict is Verdict.ALLOW


@pytest.mark.parametrize(
    ("method", "path", "operation", "session_id"),
    [
        ("GET", "/api/v1/health", "health", None),
        ("GET", "/api/v1/sessions", "list_sessions", None),
        ("POST", "/api/v1/sessions", "launch", None),
        ("GET", "/api/v1/sessions/abc-1", "get_session", "abc-1"),
        ("GET", "/api/v1/sessions/abc-1/attach", "attach", "abc-1"),
        ("POST", "/api/v1/sessions/abc-1/kill", "kill", "abc-1"),
        ("POST", "/api/v1/sessions/abc-1/sacrifice", "sacrifice", "abc-1"),
        ("GET", "/api/v1/sessions/abc-1/changes", "changes", "abc-1"),
        ("POST", "/api/v1/sessions/abc-1/merge", "merge", "abc-1"),
    ],
)
def test_listed_routes_are_forwarded(
    method: str, path: str, operation: str, session_id: str | None
) -> None:
    allowed = allowlist.resolve(method, path)
    assert allowed is not None
    assert (allowed.operation, allowed.session_id) == (operation, session_id)
    assert allowed.mutating is (method == "POST")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/internal/lifecycle/shutdown"),
        ("POST", "/api/v1/store/vacuum"),
        ("POST", "/api/v1/sessions/external"),
        ("POST", "/api/v1/sessions/abc/complete"),
        ("POST", "/api/v1/actions"),
        ("GET", "/api/v1/sessions/abc/follow"),
        ("DELETE", "/api/v1/sessions/abc"),
        ("GET", "/api/v1/sessions/a%2Fb"),  # the daemon's raw router would read this id as-is
        ("POST", "/api/v1/sessions/a/b/kill"),  # ids never contain "/"
        ("POST", "/api/v1/sessions//kill"),
        ("GET", "/api/v2/health"),
        ("GET", "/health"),  # the bare aliases are not forwarded
        ("POST", "/api/v1/health"),
        ("GET", "/api/v1/sessions/" + "a" * 257),
    ],
)
def test_everything_else_is_refused(method: str, path: str) -> None:
    assert allowlist.resolve(method, path) is None


def test_only_listed_query_parameters_go_along_raw_and_first_wins() -> None:
    keys = frozenset({"afterSeq", "limit"})
    query = "afterSeq=5&token=secret&limit=%31&afterSeq=9&sessionId=x"
    assert allowlist.forwarded_query(query, keys) == "afterSeq=5&limit=%31"
    assert allowlist.forwarded_query("", keys) == ""
    assert allowlist.forwarded_query("afterSeq", keys) == ""
