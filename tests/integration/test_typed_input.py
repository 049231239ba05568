"""Typed input reaches the harness at once, and is stored only once it can be judged.

Before: a secret typed one key at a time was stored partly in clear
(``sk-proj-ABCDEFGHIJKLMN``, then one ``[REDACTED]`` per key), while the same
secret pasted at once was hidden.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.helpers import wait_until
from tests.support.daemon import Daemon, running_daemon

SECRET = "sk-proj-ABCDEFGHIJKLMN0123456789xyz"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running_daemon(tmp_path_factory.mktemp("typed-input")) as handle:
        yield handle


def _inputs(daemon: Daemon, sid: str) -> list[dict[str, Any]]:
    return [json.loads(e["payload_json"]) for e in daemon.events(sid) if e["kind"] == "input"]


def _type(daemon: Daemon, sid: str, keys: str) -> None:
    for key in keys:
        reply = daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": key})
        assert reply.status == 202, reply.body


def test_a_secret_typed_key_by_key_is_stored_as_if_pasted(daemon: Daemon) -> None:
    typed = daemon.launch("--fake-mode=echo")["id"]
    pasted = daemon.launch("--fake-mode=echo")["id"]
    for sid in (typed, pasted):
        daemon.wait_output(sid, "ready")
    _type(daemon, typed, SECRET + "\r")
    daemon.call("POST", f"/api/v1/sessions/{pasted}/input", {"data": SECRET + "\r"})
    daemon.wait_output(typed, "echo: ")
    daemon.wait_output(pasted, "echo: ")
    stored = _inputs(daemon, typed)
    assert stored == _inputs(daemon, pasted) == [{"data": "[REDACTED]\r"}]
    for event in daemon.events(typed):
        for n in range(len(SECRET) - 5):
            assert SECRET[n : n + 6] not in event["payload_json"], event


def test_every_key_reaches_the_harness_while_its_event_waits(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=raw")["id"]
    daemon.wait_output(sid, "ready")
    for n, key in enumerate("sk-p"):
        _type(daemon, sid, key)
        daemon.wait_output(sid, f"raw: {key.encode().hex()}")
        assert _inputs(daemon, sid) == [], n  # held: nothing judged yet
    _type(daemon, sid, "q")
    daemon.wait_status(sid, {"completed"})
    # The session ended: what was held is stored, before the exit event.
    events = daemon.events(sid)
    kinds = [e["kind"] for e in events]
    assert kinds[-2:] == ["input", "exit"]
    assert json.loads(events[-2]["payload_json"]) == {"data": "sk-pq"}


def test_a_pause_stores_whole_words_and_a_kill_stores_the_rest_first(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=raw")["id"]
    daemon.wait_output(sid, "ready")
    _type(daemon, sid, "ls -la")
    wait_until(lambda: _inputs(daemon, sid), 5.0, "the idle release")
    assert _inputs(daemon, sid) == [{"data": "ls "}]  # "-la" could still grow
    assert daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {}).status == 202
    daemon.wait_status(sid, {"killed"})
    events = daemon.events(sid)
    tail = [(e["kind"], json.loads(e["payload_json"]).get("data")) for e in events]
    assert tail[-3:] == [("input", "-la"), ("kill", None), ("exit", None)]


def test_other_members_of_an_input_body_are_stored_with_its_request(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=raw")["id"]
    daemon.wait_output(sid, "ready")
    reply = daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": "x", "cols": 80})
    assert reply.status == 202
    assert _inputs(daemon, sid) == [{"cols": 80, "data": ""}]
    daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})
    daemon.wait_status(sid, {"killed"})
    assert _inputs(daemon, sid)[-1] == {"data": "x"}
