"""The harness on its PTY, exit statuses, and kill semantics, against a real daemon."""

from __future__ import annotations

import json
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import (
    alive,
    error_of,
    ids_line,
    payloads,
    shared_daemon,
    wait_until,
)
from tests.support.daemon import Daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: Any) -> Iterator[Daemon]:
    env = {"FAKE_EXIT": "3", "FAKE_PRINT_ENV": "COVEN_PROBE,COVEN_UNSET_PROBE", "COVEN_PROBE": "k1"}
    with shared_daemon(tmp_path_factory, "live", **env) as d:
        yield d


def _kill(daemon: Daemon, sid: str) -> None:
    daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})


# -- the PTY --------------------------------------------------------------------------------
def test_pty_is_the_controlling_terminal_and_ctrl_c_interrupts(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=ctty")["id"]
    text = daemon.wait_output(sid, "ready")
    assert "hello via /dev/tty" in text
    found = re.search(r"tcgetpgrp=(\d+) pgid=(\d+)", text)
    assert found and found.group(1) == found.group(2)
    reply = daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": "\u0003"})
    assert reply.status == 202
    daemon.wait_output(sid, "SIGINT received")
    _kill(daemon, sid)


def test_harness_leads_its_own_session_and_group(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=sleep")["id"]
    text = daemon.wait_output(sid, "ready")
    pid, pgid, session = ids_line(text)
    assert pid == pgid == session
    assert "isatty=1" in text and "tty=/dev/pts/" in text
    _kill(daemon, sid)


def test_harness_runs_in_the_validated_cwd(daemon: Daemon) -> None:
    project = Path(daemon.env["COVEN_TEST_PROJECT"])
    (project / "sub").mkdir(exist_ok=True)
    sid = daemon.launch("--fake-mode=exit", cwd="sub/../sub")["id"]
    text = daemon.wait_output(sid, "ready")
    assert f"cwd={(project / 'sub').resolve()}\r\n" in text


def test_harness_inherits_the_daemon_environment(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=exit")["id"]
    text = daemon.wait_output(sid, "ready")
    assert "env COVEN_PROBE=k1" in text
    assert "env COVEN_UNSET_PROBE=<unset>" in text


def test_default_terminal_size_is_24_by_80(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=exit")["id"]
    assert "size=24 80\r\n" in daemon.wait_output(sid, "ready")


def test_requested_terminal_size_is_applied(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=exit", rows=40, cols=132)["id"]
    assert "size=40 132\r\n" in daemon.wait_output(sid, "ready")


def test_resize_route_delivers_sigwinch_with_the_new_size(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=winch")["id"]
    daemon.wait_output(sid, "ready")
    reply = daemon.call("POST", f"/api/v1/sessions/{sid}/resize", {"rows": 33, "cols": 101})
    assert (reply.status, reply.json()) == (202, {"accepted": True, "ok": True})
    daemon.wait_output(sid, "winch: 33 101")
    bad = daemon.call("POST", f"/api/v1/sessions/{sid}/resize", {"rows": 0, "cols": 10})
    assert (bad.status, error_of(bad)["code"]) == (400, "invalid_request")
    _kill(daemon, sid)


# -- exits ----------------------------------------------------------------------------------
def test_exit_zero_is_completed_and_exit_is_last(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=echo")["id"]
    daemon.wait_output(sid, "ready")
    daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": "exit\r"})
    record = daemon.wait_status(sid, {"completed", "failed", "idle"})
    assert (record["status"], record["exit_code"]) == ("completed", 0)
    events = daemon.events(sid)
    assert events[-1]["kind"] == "exit"
    assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})
    exit_payload = json.loads(events[-1]["payload_json"])
    assert exit_payload["exitCode"] == 0 and exit_payload["status"] == "completed"
    assert {"exitCode", "status"} <= set(exit_payload)


def test_nonzero_exit_is_failed_with_its_code(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=exit")["id"]
    record = daemon.wait_status(sid, {"completed", "failed", "idle"})
    assert (record["status"], record["exit_code"]) == ("failed", 3)
    assert payloads(daemon, sid, "exit")[-1]["exitCode"] == 3
    assert daemon.events(sid)[-1]["kind"] == "exit"


def test_clean_exit_with_conversation_id_is_idle(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=echo", conversationId="conv-2")["id"]
    daemon.wait_output(sid, "ready")
    daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": "exit\r"})
    record = daemon.wait_status(sid, {"completed", "failed", "idle"})
    assert (record["status"], record["exit_code"], record["conversation_id"]) == (
        "idle",
        0,
        "conv-2",
    )


def test_exit_payload_json_has_sorted_keys(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=exit")["id"]
    daemon.wait_status(sid, {"failed"})
    raw = daemon.events(sid)[-1]["payload_json"]
    keys = list(json.loads(raw))
    assert keys == sorted(keys)


# -- kill -----------------------------------------------------------------------------------
def test_kill_is_202_then_killed_with_kill_and_exit_last(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=sleep")["id"]
    daemon.wait_output(sid, "ready")
    reply = daemon.call("POST", f"/sessions/{sid}/kill", {})
    assert (reply.status, reply.json()) == (202, {"accepted": True, "ok": True})
    record = daemon.wait_status(sid, {"killed"})
    assert record["status"] == "killed"
    assert [e["kind"] for e in daemon.events(sid)][-2:] == ["kill", "exit"]
    assert payloads(daemon, sid, "kill")[0]["status"] == "killed"
    second = daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})
    assert (second.status, error_of(second)["code"]) == (409, "session_not_live")


def test_kill_reaps_a_harness_and_child_that_ignore_hup_and_term(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=ignore-signals")["id"]
    text = daemon.wait_output(sid, "ready")
    found = re.search(r"pids (\d+) (\d+)", text)
    assert found
    pids = [int(g) for g in found.groups()]
    assert all(alive(p) for p in pids)
    reply = daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})
    assert reply.status == 202
    wait_until(lambda: not any(alive(p) for p in pids), 3.5, f"pids {pids} to die")
    assert daemon.wait_status(sid, {"killed"})["status"] == "killed"


def _child_pid(text: str) -> int:
    found = re.search(r"child (\d+) holds the terminal", text)
    assert found, text
    return int(found.group(1))


def test_a_child_that_keeps_the_terminal_is_ended_and_every_byte_recorded(
    daemon: Daemon,
) -> None:
    # The harness exits; its child in the same session still holds the PTY, so no EOF
    # comes. After the linger period the daemon kills the session and records the exit.
    sid = daemon.launch("--fake-mode=linger")["id"]
    daemon.wait_status(sid, {"completed"}, timeout=10.0)
    assert payloads(daemon, sid, "exit")[0]["exitCode"] == 0
    text = daemon.output(sid)
    child = _child_pid(text)
    assert "parent done" in text
    wait_until(lambda: not alive(child), 3.0, f"child {child} to die")
    assert [e["kind"] for e in daemon.events(sid)][-1] == "exit"


def test_an_escaped_child_holding_the_terminal_does_not_keep_the_session_open(
    daemon: Daemon,
) -> None:
    # A child that called setsid() is out of the session's reach (no cgroups): the
    # daemon stops waiting for an EOF it withholds, after draining what was written.
    sid = daemon.launch("--fake-mode=linger-escaped")["id"]
    child = 0
    try:
        text = daemon.wait_output(sid, "parent done")
        child = _child_pid(text)
        daemon.wait_status(sid, {"completed"}, timeout=10.0)
        assert payloads(daemon, sid, "exit")[0]["exitCode"] == 0
        kinds = [e["kind"] for e in daemon.events(sid)]
        assert kinds[-1] == "exit"
        assert "child" in daemon.output(sid) and "parent done" in daemon.output(sid)
        assert alive(child)  # the documented limit: it is not ours to kill
    finally:
        if child:
            os.kill(child, signal.SIGKILL)


def test_input_and_kill_on_a_finished_session_are_session_not_live(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=exit")["id"]
    daemon.wait_status(sid, {"failed"})
    for path, body in (("input", {"data": "x"}), ("input", b"{bad json"), ("kill", {})):
        reply = daemon.call("POST", f"/api/v1/sessions/{sid}/{path}", body)
        assert reply.status == 409, (path, reply.body)
        assert error_of(reply) == {
            "code": "session_not_live",
            "details": {"sessionId": sid},
            "message": error_of(reply)["message"],
        }


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/sessions/nope"),
        ("POST", "/api/v1/sessions/nope/input"),
        ("POST", "/api/v1/sessions/nope/kill"),
        ("POST", "/api/v1/sessions/nope/resize"),
        ("POST", "/api/v1/sessions/nope/complete"),
        ("POST", "/api/v1/sessions/nope/archive"),
        ("POST", "/api/v1/sessions/nope/summon"),
        ("POST", "/api/v1/sessions/nope/sacrifice"),
        ("GET", "/api/v1/sessions/nope/events"),
        ("GET", "/api/v1/sessions/nope/log"),
        ("GET", "/api/v1/events?sessionId=nope"),
        ("GET", "/api/v1/sessions/nope/follow"),
    ],
)
def test_unknown_session_ids_are_session_not_found_everywhere(
    daemon: Daemon, method: str, path: str
) -> None:
    body = {"data": "x", "rows": 10, "cols": 10, "confirm": "nope"} if method == "POST" else None
    reply = daemon.call(method, path, body)
    assert reply.status == 404, reply.body
    assert error_of(reply) == {
        "code": "session_not_found",
        "details": {"sessionId": "nope"},
        "message": "Session was not found.",
    }


def test_input_validation_errors_carry_the_session_id(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=sleep")["id"]
    daemon.wait_output(sid, "ready")
    for body in (b"{bad", {"text": "x"}, {"data": 5}):
        reply = daemon.call("POST", f"/api/v1/sessions/{sid}/input", body)
        assert reply.status == 400, reply.body
        assert error_of(reply)["code"] == "invalid_request"
        assert error_of(reply)["details"]["sessionId"] == sid
    _kill(daemon, sid)
