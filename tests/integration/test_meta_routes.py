"""Routing over the socket, health handshake, api-version, capabilities and actions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.helpers import error_of, shared_daemon
from tests.support.daemon import Daemon, parse_reply, raw_request


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: Any) -> Iterator[Daemon]:
    with shared_daemon(tmp_path_factory, "meta") as d:
        yield d


def test_bare_alias_and_v1_prefix_answer_the_same_health(daemon: Daemon) -> None:
    bare, prefixed = daemon.call("GET", "/health"), daemon.call("GET", "/api/v1/health")
    assert bare.status == prefixed.status == 200
    assert bare.json()["daemon"] == prefixed.json()["daemon"]


def test_plain_responses_are_framed_with_length_and_close(daemon: Daemon) -> None:
    reply = daemon.call("GET", "/api/v1/api-version")
    assert reply.headers["content-type"].startswith("application/json")
    assert int(reply.headers["content-length"]) == len(reply.body)
    assert reply.headers["connection"].lower() == "close"


def test_unsupported_version_prefix_is_404_invalid_request_with_details(daemon: Daemon) -> None:
    reply = daemon.call("GET", "/api/v2/health")
    assert reply.status == 404
    assert error_of(reply) == {
        "code": "invalid_request",
        "details": {"apiVersion": "v2", "supportedApiVersions": ["v1"]},
        "message": "Unsupported API version.",
    }


@pytest.mark.parametrize("target", ["/api/v1", "/api/v1/", "/api/v1/nope", "/api/v1/health/"])
def test_unknown_routes_are_404_not_found(daemon: Daemon, target: str) -> None:
    reply = daemon.call("GET", target)
    assert reply.status == 404
    assert error_of(reply) == {"code": "not_found", "message": "Route not found."}


def test_wrong_method_on_known_route_is_404_not_found(daemon: Daemon) -> None:
    reply = daemon.call("DELETE", "/api/v1/sessions")
    assert (reply.status, error_of(reply)["code"]) == (404, "not_found")


def test_percent_encoded_ids_are_not_decoded(daemon: Daemon) -> None:
    reply = daemon.call("GET", "/api/v1/sessions/engine%2F42")
    assert reply.status == 404
    assert error_of(reply)["details"] == {"sessionId": "engine%2F42"}


def test_ids_with_slashes_reach_the_detail_route(daemon: Daemon) -> None:
    reply = daemon.call("GET", "/api/v1/sessions/engine/42")
    assert reply.status == 404
    assert error_of(reply) == {
        "code": "session_not_found",
        "details": {"sessionId": "engine/42"},
        "message": "Session was not found.",
    }


def test_kill_without_an_id_is_session_not_found_for_the_empty_id(daemon: Daemon) -> None:
    for target in ("/api/v1/sessions/kill", "/sessions//kill"):
        reply = daemon.call("POST", target, {})
        assert reply.status == 404
        assert error_of(reply)["details"] == {"sessionId": ""}


def test_first_query_occurrence_wins_over_the_socket(daemon: Daemon) -> None:
    reply = daemon.call("GET", "/api/v1/events?sessionId=first&sessionId=second")
    assert reply.status == 404
    assert error_of(reply)["details"] == {"sessionId": "first"}


def test_http10_and_half_closed_requests_are_answered(daemon: Daemon) -> None:
    raw = raw_request(daemon.socket, b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")
    reply = parse_reply(raw)
    assert reply.status == 200 and reply.json()["ok"] is True


def test_health_handshake_satisfies_client_gates(daemon: Daemon) -> None:
    health = daemon.call("GET", "/api/v1/health").json()
    assert health["ok"] is True
    assert health["apiVersion"] == "coven.daemon.v1"
    assert isinstance(health["covenVersion"], str) and health["covenVersion"]
    caps = health["capabilities"]
    assert (caps["sessions"], caps["events"], caps["structuredErrors"]) == (True, True, True)
    assert caps["eventCursor"] == "sequence"
    assert "supportedApiVersions" not in health


def test_health_daemon_block_equals_daemon_json_and_pid(daemon: Daemon) -> None:
    health = daemon.call("GET", "/api/v1/health").json()
    status_file = json.loads((daemon.home / "daemon.json").read_text())
    assert health["daemon"] == status_file
    assert set(status_file) == {"pid", "startedAt", "socket"}
    assert daemon.proc is not None and status_file["pid"] == daemon.proc.pid
    assert status_file["socket"] == str(daemon.socket.resolve())


def test_daemon_json_is_pretty_with_trailing_newline(daemon: Daemon) -> None:
    text = (daemon.home / "daemon.json").read_text()
    assert text.endswith("}\n") and "\n  " in text


def test_api_version_route(daemon: Daemon) -> None:
    reply = daemon.call("GET", "/api-version")
    assert (reply.status, reply.json()) == (
        200,
        {"apiVersion": "v1", "supportedApiVersions": ["v1"]},
    )


def test_capabilities_catalog_entries_have_the_documented_shape(daemon: Daemon) -> None:
    catalog = daemon.call("GET", "/api/v1/capabilities").json()["capabilities"]
    ids = [c["id"] for c in catalog]
    assert "coven.sessions" in ids and "coven.control.actions" in ids
    for entry in catalog:
        assert list(entry) == ["id", "label", "adapter", "status", "policy", "actions"]
        assert entry["status"] in ("available", "planned")
        assert entry["policy"] in ("allow", "requiresApproval")
    control = catalog[ids.index("coven.control.actions")]
    assert "coven.capabilities.refresh" in control["actions"]


def test_unknown_harness_capability_is_harness_not_found(daemon: Daemon) -> None:
    reply = daemon.call("GET", "/api/v1/capabilities/warlock")
    assert reply.status == 404
    assert error_of(reply)["code"] == "harness_not_found"
    assert error_of(reply)["details"] == {"harnessId": "warlock"}


def test_refresh_action_echoes_origin_and_intent(daemon: Daemon) -> None:
    catalog = daemon.call("GET", "/api/v1/capabilities").json()["capabilities"]
    reply = daemon.call(
        "POST",
        "/api/v1/actions",
        {"action": " coven.capabilities.refresh ", "origin": " ext ", "intentId": "intent-1"},
    )
    assert reply.status == 200
    assert reply.json() == {
        "ok": True,
        "accepted": True,
        "action": "coven.capabilities.refresh",
        "status": "completed",
        "event": {
            "kind": "capabilities.refreshed",
            "action": "coven.capabilities.refresh",
            "origin": "ext",
            "intentId": "intent-1",
            "payload": {"capabilities": len(catalog)},
        },
    }


def test_refresh_action_omits_blank_origin(daemon: Daemon) -> None:
    reply = daemon.call("POST", "/actions", {"action": "coven.capabilities.refresh", "origin": " "})
    assert reply.status == 200
    assert "origin" not in reply.json()["event"] and "intentId" not in reply.json()["event"]


@pytest.mark.parametrize(
    ("body", "action", "reason"),
    [
        (
            {"action": "desktop.deleteEverything"},
            "desktop.deleteEverything",
            "unknown action `desktop.deleteEverything`",
        ),
        ({}, "", "request body requires string field `action`"),
        ({"action": "  "}, "", "request body requires string field `action`"),
        ({"action": 7}, "", "request body requires string field `action`"),
        (b"", "", "request body requires string field `action`"),
        ([1, 2], "(unknown)", "request body must be a JSON object"),
        ("str", "(unknown)", "request body must be a JSON object"),
        (b"{not json", "(unknown)", "failed to parse request body"),
    ],
)
def test_rejected_actions_use_the_non_envelope_shape(
    daemon: Daemon, body: Any, action: str, reason: str
) -> None:
    reply = daemon.call("POST", "/api/v1/actions", body)
    assert reply.status == 400
    assert reply.json() == {
        "ok": False,
        "accepted": False,
        "action": action,
        "status": "rejected",
        "reason": reason,
    }
