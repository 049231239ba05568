"""The review state of a session's work, against a real daemon and a real git repository.

Clients set ``unreviewed``/``approved``/``changes_requested`` with comments; the daemon
sets ``merged``/``discarded`` when a lane is merged or discarded and then keeps the
review closed. Every change is one ``review`` event; comments are stored redacted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import error_of
from tests.support.daemon import Daemon
from tests.support.gitrepo import GitSandbox, sandbox_daemon


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: Any) -> GitSandbox:
    return GitSandbox(tmp_path_factory.mktemp("review"))


@pytest.fixture(scope="module")
def daemon(sandbox: GitSandbox) -> Iterator[Daemon]:
    with sandbox_daemon(sandbox) as d:
        yield d


@pytest.fixture
def repo(sandbox: GitSandbox, request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:60]
    return sandbox.repo(name, {"README.md": "hello\n"})


def lane(daemon: Daemon, root: Path) -> str:
    body = {
        "projectRoot": str(root),
        "harness": "codex",
        "prompt": "--fake-mode=edit",
        "isolation": "worktree",
    }
    reply = daemon.call("POST", "/api/v1/sessions", body)
    assert reply.status == 201, reply.body
    sid: str = reply.json()["id"]
    daemon.wait_output(sid, "ready")
    return sid


def agent(daemon: Daemon, sid: str, *commands: str) -> None:
    for command in commands:
        daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": command + "\n"})
    daemon.wait_output(sid, f"done {len(commands)}\r\n", timeout=20)


def finish(daemon: Daemon, sid: str) -> None:
    daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": "exit\n"})
    daemon.wait_status(sid, {"completed"})


def review(daemon: Daemon, sid: str, body: Any) -> Any:
    return daemon.call("POST", f"/api/v1/sessions/{sid}/review", body)


def state_of(daemon: Daemon, sid: str) -> str:
    state: str = daemon.call("GET", f"/api/v1/sessions/{sid}").json()["review_state"]
    return state


def review_events(daemon: Daemon, sid: str) -> list[dict[str, Any]]:
    return [json.loads(e["payload_json"]) for e in daemon.events(sid) if e["kind"] == "review"]


def test_clients_set_the_state_with_comments_and_each_change_is_one_event(
    daemon: Daemon, repo: Path
) -> None:
    health = daemon.call("GET", "/api/v1/health").json()
    assert health["capabilities"]["review"] is True
    sid = lane(daemon, repo)
    assert state_of(daemon, sid) == "unreviewed"
    comments = [
        {"body": "rename this", "path": "src/app.py", "line": 3},
        {"body": "token sk-ant-api03-" + "x" * 40 + " must not be logged"},
    ]
    reply = review(daemon, sid, {"state": "changes_requested", "comments": comments})
    assert reply.status == 200, reply.body
    assert reply.json() == {
        "sessionId": sid,
        "reviewState": "changes_requested",
        "previous": "unreviewed",
        "recorded": True,
    }
    assert state_of(daemon, sid) == "changes_requested"
    # The same state again: nothing new to record, unless comments come with it.
    assert review(daemon, sid, {"state": "changes_requested"}).json()["recorded"] is False
    again = review(daemon, sid, {"state": "changes_requested", "comments": [{"body": "also"}]})
    assert again.json()["recorded"] is True
    assert review(daemon, sid, {"state": "approved"}).json()["previous"] == "changes_requested"
    events = review_events(daemon, sid)
    assert [(e["state"], e["previous"], e["source"]) for e in events] == [
        ("changes_requested", "unreviewed", "review"),
        ("changes_requested", "changes_requested", "review"),
        ("approved", "changes_requested", "review"),
    ]
    first = events[0]["comments"]
    assert first[0] == {"body": "rename this", "path": "src/app.py", "line": 3}
    assert "sk-ant-api03" not in json.dumps(first) and "must not be logged" in first[1]["body"]
    finish(daemon, sid)


def test_merge_and_discard_settle_the_review_and_close_it(
    daemon: Daemon, sandbox: GitSandbox, repo: Path
) -> None:
    merged = lane(daemon, repo)
    agent(daemon, merged, "write feature.txt new", "git add feature.txt", "git commit -qm feat")
    finish(daemon, merged)
    assert review(daemon, merged, {"state": "approved"}).status == 200
    reply = daemon.call("POST", f"/api/v1/sessions/{merged}/merge", {})
    assert reply.status == 200, reply.body
    assert state_of(daemon, merged) == "merged"
    closed = review(daemon, merged, {"state": "changes_requested"})
    assert closed.status == 409 and error_of(closed)["code"] == "review_closed"
    assert error_of(closed)["details"]["reviewState"] == "merged"
    # Cleaning up a merged lane keeps "merged": its work landed, it was not thrown away.
    assert daemon.call("POST", f"/api/v1/sessions/{merged}/discard", {}).status == 200
    assert state_of(daemon, merged) == "merged"
    assert [e["source"] for e in review_events(daemon, merged)] == ["review", "merge"]

    dirty = lane(daemon, repo)
    agent(daemon, dirty, "write wip.txt unsaved")
    finish(daemon, dirty)
    refused = daemon.call("POST", f"/api/v1/sessions/{dirty}/discard", {})
    assert refused.status == 409 and error_of(refused)["code"] == "lane_dirty"
    assert state_of(daemon, dirty) == "unreviewed" and review_events(daemon, dirty) == []
    forced = daemon.call("POST", f"/api/v1/sessions/{dirty}/discard", {"force": True})
    assert forced.status == 200
    assert state_of(daemon, dirty) == "discarded"
    (event,) = review_events(daemon, dirty)
    assert (event["state"], event["previous"], event["source"]) == (
        "discarded",
        "unreviewed",
        "discard",
    )


BAD_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"state": "merged"}, "review_state_invalid"),
    ({"state": "discarded"}, "review_state_invalid"),
    ({"state": "lgtm"}, "review_state_invalid"),
    ({}, "invalid_request"),
    ({"state": "approved", "extra": 1}, "invalid_request"),
    ({"state": "approved", "comments": [{"body": "  "}]}, "invalid_request"),
    ({"state": "approved", "comments": [{"body": "x", "line": 2}]}, "invalid_request"),
    ({"state": "approved", "comments": [{"body": "x", "path": "a", "line": 0}]}, "invalid_request"),
    ({"state": "approved", "comments": "fix it"}, "invalid_request"),
]


def test_bad_review_requests_are_refused_with_stable_codes(daemon: Daemon, repo: Path) -> None:
    sid = daemon.launch("--fake-mode=exit", projectRoot=str(repo))["id"]
    for body, code in BAD_BODIES:
        reply = review(daemon, sid, body)
        assert reply.status == 400 and error_of(reply)["code"] == code, (body, reply.body)
    reply = review(daemon, sid, {"state": "merged"})
    assert error_of(reply)["details"] == {
        "state": "merged",
        "allowed": ["approved", "changes_requested", "unreviewed"],
    }
    assert state_of(daemon, sid) == "unreviewed" and review_events(daemon, sid) == []
    missing = review(daemon, "no-such-session", {"state": "approved"})
    assert missing.status == 404 and error_of(missing)["code"] == "session_not_found"
