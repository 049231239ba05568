"""The OpenAPI document: served, checked in, complete, and true under fuzzing (schemathesis)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from coven.api import router
from coven.api.openapi import PREFIX, openapi_document
from tests.reliability.support import health_latency, tcp_forwarder
from tests.support.daemon import REPO, Daemon

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import checks as st_checks  # noqa: E402

DOC_PATH = REPO / "docs" / "openapi.json"
# The shutdown route would end the run; attach needs a WebSocket upgrade; follow streams until exit.
NOT_FUZZED = {"/internal/lifecycle/shutdown", "/sessions/{sessionId}/attach"}
EXAMPLES = int(os.environ.get("COVEN_FUZZ_EXAMPLES", "25"))


def test_checked_in_copy_is_identical_to_the_served_document() -> None:
    expected = json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n"
    assert DOC_PATH.read_text() == expected, "regenerate docs/openapi.json from coven.api.openapi"


def test_daemon_serves_the_document_on_both_paths(daemon: Daemon) -> None:
    for path in ("/api/v1/openapi.json", "/openapi.json"):
        reply = daemon.call("GET", path)
        assert reply.status == 200
        assert reply.json() == openapi_document()


def test_every_static_route_and_session_suffix_is_documented() -> None:
    paths = openapi_document()["paths"]
    for (method, route), _name in router._STATIC.items():
        assert method.lower() in paths[PREFIX + route], (method, route)
    for suffix, _name in router._POST_SUFFIXES:
        assert "post" in paths[f"{PREFIX}/sessions/{{sessionId}}{suffix}"]
    for suffix, _name in router._GET_SUFFIXES:
        assert "get" in paths[f"{PREFIX}/sessions/{{sessionId}}{suffix}"]
    assert "post" in paths[PREFIX + "/internal/lifecycle/shutdown"]


def test_document_copies_are_independent() -> None:
    doc = openapi_document()
    doc["paths"].clear()
    assert openapi_document()["paths"]


def _prepare_session(daemon: Daemon) -> dict[str, Any]:
    """A live session, a finished one and an external one, so fuzzing reaches real rows."""
    live = daemon.launch("fuzz target")
    done = daemon.launch("--fake-mode=exit")
    daemon.wait_status(done["id"], {"completed"})
    ext = daemon.call(
        "POST",
        "/api/v1/sessions/external",
        {"id": "ext-fuzz", "projectRoot": daemon.env["COVEN_TEST_PROJECT"], "harness": "codex"},
    )
    assert ext.status == 201
    return {"live": live["id"], "done": done["id"]}


def _error_shape_check(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx JSON body is one of the three documented error shapes."""
    if response.status_code < 400:
        return None
    body = json.loads(response.content)
    if "/actions" in case.path:
        assert body["ok"] is False and body["status"] == "rejected", body
        return True
    assert isinstance(body.get("error"), dict), body
    assert isinstance(body["error"].get("code"), str) and body["error"]["code"], body
    assert isinstance(body["error"].get("message"), str), body
    if body.get("ok") is False:
        assert body["error"]["code"] in ("payload_too_large", "internal_error"), body
    return True


ALLOWED_5XX = {"launch_failed", "storage_unavailable", "daemon_shutting_down"}


@pytest.mark.timeout(170)
def test_schemathesis_against_the_running_daemon(daemon: Daemon) -> None:
    known = _prepare_session(daemon)
    ids = st.sampled_from([None, known["live"], known["done"], "ext-fuzz"])
    schema = schemathesis.openapi.from_dict(openapi_document())
    checks = [
        st_checks.status_code_conformance,
        st_checks.content_type_conformance,
        st_checks.response_schema_conformance,
    ]
    ran = 0
    with tcp_forwarder(daemon.socket) as base_url:
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.path.removeprefix(PREFIX) in NOT_FUZZED:
                continue

            @given(case=operation.as_strategy(), pick=ids)
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any, pick: str | None) -> None:
                nonlocal ran
                ran += 1
                # Reach real rows too; never follow a running one (it streams until exit).
                has_id = pick is not None and "sessionId" in (case.path_parameters or {})
                if has_id and (not case.path.endswith("/follow") or pick == known["done"]):
                    case.path_parameters["sessionId"] = pick
                if pick is not None and case.path.endswith("/events") and case.query:
                    case.query["sessionId"] = pick
                kwargs: dict[str, Any] = {"timeout": 10}
                if case.path.endswith("/follow"):
                    kwargs["timeout"] = 15
                response = case.call(base_url=base_url, **kwargs)
                if response.status_code >= 500:
                    code = response.json().get("error", {}).get("code")
                    assert code in ALLOWED_5XX, (case.path, response.status_code, response.text)
                case.validate_response(response, checks=checks)
                _error_shape_check(None, response, case)

            run()
    assert ran >= EXAMPLES
    print(f"schemathesis: {ran} examples")
    assert health_latency(daemon) < 1.0
    assert daemon.proc is not None and daemon.proc.poll() is None
