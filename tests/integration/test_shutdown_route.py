"""``POST /api/v1/internal/lifecycle/shutdown`` and the daemon's locks, as other Coven CLIs use them.

Those CLIs read EOF on the shutdown connection as "the daemon has exited" and
then clean the home, and they take ``daemon.lock`` briefly for every lifecycle
command: our daemon must hold the connection until it exits and must never
keep ``daemon.lock`` for itself.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import harness_pids
from tests.support.daemon import Daemon, parse_reply, running_daemon

SHUTDOWN = "/api/v1/internal/lifecycle/shutdown"


def _identity(daemon: Daemon) -> dict[str, Any]:
    info: dict[str, Any] = json.loads((daemon.home / "daemon.json").read_text())
    return info


def _send(daemon: Daemon, body: bytes) -> socket.socket:
    head = (
        f"POST {SHUTDOWN} HTTP/1.1\r\nHost: coven\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    sock.connect(str(daemon.socket))
    sock.sendall(head + body)
    sock.shutdown(socket.SHUT_WR)
    return sock


@pytest.mark.timeout(60)
def test_the_shutdown_connection_closes_only_once_the_daemon_has_exited(tmp_path: Path) -> None:
    with running_daemon(tmp_path) as daemon:
        # A harness that ignores SIGHUP/SIGTERM makes the stop take its kill grace period.
        sid = daemon.launch("--fake-mode=ignore-signals")["id"]
        daemon.wait_output(sid, "ready")
        body = json.dumps({"apiVersion": "coven.daemon.v1", "daemon": _identity(daemon)})
        with _send(daemon, body.encode()) as sock:
            received = b""
            while b"\r\n\r\n" not in received:
                received += sock.recv(65536)
            answered = time.monotonic()
            while chunk := sock.recv(65536):
                received += chunk
            closed = time.monotonic()
            # At EOF the daemon has unlinked its socket and status file and is exiting.
            assert not daemon.socket.exists()
            assert not (daemon.home / "daemon.json").exists()
            assert daemon.proc is not None
            assert daemon.proc.wait(timeout=1.0) == 0
        reply = parse_reply(received)
        assert reply.status == 202
        assert reply.json()["ok"] is True and reply.json()["daemon"]["pid"] == daemon.proc.pid
        assert closed - answered > 0.2, "the stop took time; the connection was held for all of it"
        assert not harness_pids(daemon.home)


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (b"", 400, "invalid_request", "daemon shutdown request body is required"),
        (b"{", 400, "invalid_request", "invalid daemon shutdown request: "),
        (b"[]", 400, "invalid_request", "invalid daemon shutdown request: expected an object"),
        (
            {"daemon": "IDENTITY"},
            400,
            "invalid_request",
            "invalid daemon shutdown request: missing field `apiVersion`",
        ),
        (
            {"apiVersion": "coven.daemon.v1"},
            400,
            "invalid_request",
            "invalid daemon shutdown request: missing field `daemon`",
        ),
        (
            {"apiVersion": "coven.daemon.v1", "daemon": "IDENTITY", "force": True},
            400,
            "invalid_request",
            "invalid daemon shutdown request: unknown field `force`",
        ),
        (
            {"apiVersion": 1, "daemon": "IDENTITY"},
            400,
            "invalid_request",
            "invalid daemon shutdown request: invalid type for `apiVersion`",
        ),
        (
            {"apiVersion": "coven.daemon.v2", "daemon": "IDENTITY"},
            409,
            "daemon_identity_mismatch",
            "Shutdown request does not name this daemon.",
        ),
        (
            {"apiVersion": "coven.daemon.v1", "daemon": {"pid": 1}},
            409,
            "daemon_identity_mismatch",
            "Shutdown request does not name this daemon.",
        ),
        (b" " * (16 * 1024 + 1), 413, "payload_too_large", "16384-byte limit"),
    ],
    ids=[
        "empty",
        "bad-json",
        "not-an-object",
        "no-apiVersion",
        "no-daemon",
        "unknown-member",
        "apiVersion-type",
        "other-apiVersion",
        "other-daemon",
        "too-large",
    ],
)
def test_refused_shutdown_requests_leave_the_daemon_serving(
    daemon: Daemon, body: Any, status: int, code: str, message: str
) -> None:
    if isinstance(body, dict):
        filled = {k: _identity(daemon) if v == "IDENTITY" else v for k, v in body.items()}
        body = json.dumps(filled).encode()
    reply = daemon.call("POST", SHUTDOWN, body)
    assert reply.status == status, reply.body
    error = reply.json()["error"]
    assert error["code"] == code
    assert message in error["message"]
    time.sleep(0.05)
    assert daemon.call("GET", "/health").status == 200


def test_the_daemon_holds_daemon_serve_lock_and_leaves_daemon_lock_free(daemon: Daemon) -> None:
    for name, free in (("daemon.lock", True), ("daemon-serve.lock", False)):
        fd = os.open(daemon.home / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                taken = True
            except BlockingIOError:
                taken = False
            assert taken is free, name
        finally:
            os.close(fd)
    assert daemon.call("GET", "/health").status == 200
