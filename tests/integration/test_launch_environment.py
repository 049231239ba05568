"""A launch may carry the client's environment: it reaches that harness only, and nothing stores it.

Before: every session ran in the daemon's start-up environment, so a harness
missed the PATH, virtualenv and API keys of the shell that launched it, and
``coven doctor`` (which looks at the shell's PATH) and ``coven run`` disagreed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import error_of, session_count
from tests.support.daemon import FAKE_BIN, Daemon, running_daemon
from tests.support.hermetic import controlled_path


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _home_bytes(home: Path) -> bytes:
    """Every file under the daemon's home (database, WAL, log, anything else), concatenated."""
    chunks = []
    for path in sorted(home.rglob("*")):
        if path.is_file() and not path.is_socket():
            chunks.append(path.read_bytes())
    return b"".join(chunks)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("launch-env")
    empty = tmp / "empty-bin"
    empty.mkdir()
    # The daemon's own PATH finds no harness at all; it has a variable no client sent.
    extra = {"PATH": str(empty), "ONLY_IN_DAEMON": "daemon-side"}
    with running_daemon(tmp, extra_env=extra) as handle:
        yield handle


def _client_env(daemon: Daemon, **extra: str) -> dict[str, str]:
    env = {
        "PATH": controlled_path(FAKE_BIN),  # the fakes and a few tools, never a system dir
        "HOME": str(daemon.home.parent),
        "COVEN_HOME": str(daemon.home),
        "FAKE_MODE": "exit",
    }
    env.update(extra)
    return env


def _launch(daemon: Daemon, environment: Any, **fields: Any) -> Any:
    body = {
        "projectRoot": daemon.env["COVEN_TEST_PROJECT"],
        "harness": "codex",
        "prompt": "hello",
        "launchMode": "nonInteractive",
        "environment": environment,
        **fields,
    }
    return daemon.call("POST", "/api/v1/sessions", body)


def test_the_harness_runs_in_the_clients_environment_and_nothing_stores_it(
    daemon: Daemon,
) -> None:
    value = "mark-" + secrets.token_hex(16)  # not secret-shaped: redaction cannot hide a leak
    env = _client_env(
        daemon,
        COVEN_TEST_MARK=value,
        FAKE_DIGEST_ENV="COVEN_TEST_MARK,ONLY_IN_DAEMON",
        FAKE_PRINT_ENV="COVEN_SESSION_ID,TERM",
        COVEN_SESSION_ID="forged-by-the-client",
        TERM="xterm-kitty",
    )
    reply = _launch(daemon, env)
    assert reply.status == 201, reply.body
    assert value.encode() not in reply.body and b"environment" not in reply.body
    session_id = reply.json()["id"]
    daemon.wait_status(session_id, {"completed", "failed"})
    output = daemon.output(session_id)
    assert f"envdigest COVEN_TEST_MARK={_digest(value)}" in output
    # The client's environment replaces the daemon's: nothing of the daemon's leaks in.
    assert "envdigest ONLY_IN_DAEMON=<unset>" in output
    assert f"env COVEN_SESSION_ID={session_id}" in output  # the daemon's word, not the client's
    assert "env TERM=xterm-kitty" in output
    for path in (f"/api/v1/sessions/{session_id}", f"/api/v1/events?sessionId={session_id}"):
        assert value.encode() not in daemon.call("GET", path).body
    assert value.encode() not in daemon.call("GET", f"/api/v1/sessions/{session_id}/log").body
    assert value.encode() not in _home_bytes(daemon.home)


def test_health_advertises_the_field(daemon: Daemon) -> None:
    health = daemon.call("GET", "/api/v1/health").json()
    assert health["capabilities"]["launchEnvironment"] is True


def test_availability_is_judged_with_the_clients_path(daemon: Daemon) -> None:
    refused = _launch(daemon, None)
    assert refused.status == 400, refused.body
    assert error_of(refused)["details"]["reason"] == "executable_missing"
    reply = _launch(daemon, _client_env(daemon))
    assert reply.status == 201, reply.body
    assert daemon.wait_status(reply.json()["id"], {"completed", "failed"})["status"] == "completed"


def test_harnesses_declared_in_the_clients_manifest_variables_can_be_launched(
    daemon: Daemon, tmp_path: Path
) -> None:
    manifest = tmp_path / "mine.json"
    manifest.write_text(
        json.dumps(
            {
                "adapters": [
                    {
                        "id": "mine",
                        "label": "Mine",
                        "executable": "fake-harness",
                        "interactive_prompt_prefix_args": [],
                        "non_interactive_prompt_prefix_args": ["run"],
                        "install_hint": "tests only",
                    }
                ]
            }
        )
    )
    env = _client_env(daemon, COVEN_HARNESS_ADAPTER_MANIFEST=str(manifest))
    reply = _launch(daemon, env, harness="mine")
    assert reply.status == 201, reply.body
    assert (
        "unsupported harness `mine`"
        in error_of(_launch(daemon, _client_env(daemon), harness="mine"))["message"]
    )


@pytest.mark.parametrize(
    "environment",
    [
        {"PATH": "/bin", "BAD NAME": "sekrit-value"},
        {"PATH": "/bin", "NUL": "sekrit-value\u0000"},
        {"PATH": 5},
        ["PATH=/bin"],
    ],
)
def test_a_bad_environment_is_a_400_that_does_not_echo_values(
    daemon: Daemon, environment: Any
) -> None:
    before = session_count(daemon)
    reply = _launch(daemon, environment)
    assert reply.status == 400, reply.body
    assert error_of(reply)["details"]["field"] == "environment"
    assert b"sekrit-value" not in reply.body
    assert session_count(daemon) == before
