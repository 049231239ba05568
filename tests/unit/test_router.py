"""Routing quirks of coven.daemon.v1, at the router level."""

from __future__ import annotations

import pytest

from coven.api.router import Match, parse_query, resolve
from coven.errors import NotFound, UnsupportedApiVersion


@pytest.mark.parametrize(
    ("target", "name"),
    [
        ("/health", "health"),
        ("/api/v1/health", "health"),
        ("/api-version", "api_version"),
        ("/capabilities", "capabilities"),
        ("/events", "events"),
        ("/sessions", "list_sessions"),
    ],
)
def test_bare_alias_and_prefixed_route_resolve_alike(target: str, name: str) -> None:
    assert resolve("GET", target).name == name


def test_bare_alias_reaches_post_routes() -> None:
    assert resolve("POST", "/sessions").name == "launch"
    assert resolve("POST", "/actions").name == "actions"
    assert resolve("POST", "/sessions/abc/kill") == Match("kill", session_id="abc")


@pytest.mark.parametrize("version", ["v2", "v0", "V1", "v1.0"])
def test_unsupported_api_version_is_invalid_request_with_details(version: str) -> None:
    with pytest.raises(UnsupportedApiVersion) as caught:
        resolve("GET", f"/api/{version}/health")
    err = caught.value
    assert (err.code, err.status) == ("invalid_request", 404)
    assert err.details == {"apiVersion": version, "supportedApiVersions": ["v1"]}


@pytest.mark.parametrize("target", ["/api/v1", "/api/v1/", "/api/health"])
def test_prefix_without_route_is_not_found(target: str) -> None:
    with pytest.raises(NotFound) as caught:
        resolve("GET", target)
    assert (caught.value.code, caught.value.status) == ("not_found", 404)


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/api/v1/health/"),
        ("GET", "/api/v1//health"),
        ("GET", "/API/v1/health"),
        ("get", "/api/v1/health"),
        ("HEAD", "/api/v1/health"),
        ("DELETE", "/api/v1/sessions/x"),
        ("POST", "/api/v1/sessions/"),
        ("POST", "/api/v1/sessions/abc"),
        ("GET", "/api/v1/store/vacuum"),
        ("GET", "/api/v1/api-version#x"),
        ("POST", "/health/internal/lifecycle/shutdown"),
    ],
)
def test_unknown_route_or_wrong_method_is_not_found(method: str, target: str) -> None:
    with pytest.raises(NotFound):
        resolve(method, target)


def test_shutdown_route_exists_only_with_prefix() -> None:
    assert resolve("POST", "/api/v1/internal/lifecycle/shutdown").name == "shutdown"
    with pytest.raises(NotFound):
        resolve("POST", "/internal/lifecycle/shutdown")


def test_session_ids_are_not_percent_decoded() -> None:
    assert resolve("GET", "/api/v1/sessions/engine%2F42").session_id == "engine%2F42"
    assert resolve("GET", "/api/v1/events?sessionId=a%20b").query == {"sessionId": "a%20b"}


def test_session_ids_may_contain_slashes() -> None:
    assert resolve("GET", "/api/v1/sessions/engine/42") == Match(
        "get_session", session_id="engine/42"
    )
    assert resolve("POST", "/api/v1/sessions/a/b/input").session_id == "a/b"


def test_suffix_routes_win_over_detail_of_a_slashed_id() -> None:
    assert resolve("GET", "/api/v1/sessions/x/events") == Match("session_events", session_id="x")
    assert resolve("GET", "/api/v1/sessions/x/log") == Match("log", session_id="x")
    # kill is POST-only, so a GET is the detail of the id "x/kill".
    assert resolve("GET", "/api/v1/sessions/x/kill") == Match("get_session", session_id="x/kill")


def test_kill_without_an_id_resolves_to_the_empty_id() -> None:
    assert resolve("POST", "/api/v1/sessions/kill") == Match("kill", session_id="")
    assert resolve("POST", "/api/v1/sessions//kill") == Match("kill", session_id="")
    assert resolve("GET", "/api/v1/sessions/") == Match("get_session", session_id="")


def test_external_registration_is_exact_and_post_only() -> None:
    assert resolve("POST", "/api/v1/sessions/external").name == "register_external"
    assert resolve("GET", "/api/v1/sessions/external") == Match(
        "get_session", session_id="external"
    )


def test_first_query_occurrence_wins_and_bare_names_are_ignored() -> None:
    assert parse_query("sessionId=a&sessionId=b") == {"sessionId": "a"}
    assert parse_query("flag&limit=3&=x") == {"limit": "3", "": "x"}
    assert resolve("GET", "/events?sessionId=a&sessionId=b").query["sessionId"] == "a"


def test_query_names_are_case_sensitive() -> None:
    assert parse_query("SessionId=a") == {"SessionId": "a"}
    assert "sessionId" not in resolve("GET", "/events?SessionId=a").query


def test_capability_id_is_everything_after_the_prefix() -> None:
    assert resolve("GET", "/api/v1/capabilities/claude/x").harness_id == "claude/x"
    assert resolve("GET", "/api/v1/capabilities/harnesses").name == "harness_capabilities"
