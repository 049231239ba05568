"""Hostile HTTP over raw sockets: every abuse gets a bounded clear answer or a close.

Throughout, ``GET /health`` must answer within ~1 s and the daemon's RSS stays bounded.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.support import daemon_pid, health_latency, rss_kib
from tests.support.daemon import Daemon, parse_reply, running_daemon

HEAD_DEADLINE = 10.0  # coven.api.server.HEAD_TIMEOUT
BODY_DEADLINE = 10.0  # coven.api.app.BODY_TIMEOUT


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    with running_daemon(tmp_path_factory.mktemp("hostile")) as daemon:
        yield daemon


def exchange(
    path: Path, data: bytes, *, half_close: bool = True, timeout: float = 15.0
) -> tuple[bytes, float]:
    """Send ``data``, optionally half-close, read to EOF; returns (reply, seconds)."""
    start = time.monotonic()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        with contextlib.suppress(OSError):
            sock.sendall(data)
        if half_close:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks), time.monotonic() - start


def assert_refused(raw: bytes, statuses: range = range(400, 432)) -> int | None:
    """Empty (closed) or a 4xx; a JSON body must be a documented error shape."""
    if not raw:
        return None
    reply = parse_reply(raw)
    assert reply.status in statuses, raw[:300]
    if reply.headers.get("content-type", "").startswith("application/json"):
        body = reply.json()
        assert isinstance(body["error"]["code"], str) and body["error"]["message"]
    return reply.status


MALFORMED = [
    pytest.param(b"GARBAGE\r\n\r\n", id="no-target"),
    pytest.param(b"\x00\x01\x02\xff\r\n\r\n", id="binary"),
    pytest.param(b"GET\r\n\r\n", id="method-only"),
    pytest.param(b"GET /health HTTP/9.9\r\n\r\n", id="bad-version"),
    pytest.param(b"GET /health HTTP/1.1 extra\r\n\r\n", id="extra-token"),
    pytest.param(b"\r\n\r\n\r\n", id="blank-lines"),
    pytest.param(b"GET /he\x00alth HTTP/1.1\r\n\r\n", id="nul-in-target"),
    pytest.param(b"GET /health HTTP/1.1\r\nNoColonHeader\r\n\r\n", id="header-without-colon"),
    pytest.param(b"GET /health HTTP/1.1\r\n Folded: x\r\n\r\n", id="leading-space-header"),
]


@pytest.mark.parametrize("data", MALFORMED)
def test_malformed_request_lines_are_refused_quickly(hostile: Daemon, data: bytes) -> None:
    raw, elapsed = exchange(hostile.socket, data)
    assert_refused(raw, range(200, 432))  # a lenient parse that answers health is fine too
    # Blank lines then EOF wait for the head deadline instead of closing on EOF (bounded).
    assert elapsed < HEAD_DEADLINE + 2


LENGTHS = [
    pytest.param(b"abc", id="non-numeric"),
    pytest.param(b"-5", id="negative"),
    pytest.param(b"1e3", id="float"),
    pytest.param(b"5, 6", id="list"),
    pytest.param(b"99999999999999999999999999", id="overflow"),
]


@pytest.mark.parametrize("length", LENGTHS)
def test_bad_content_length_is_refused(hostile: Daemon, length: bytes) -> None:
    data = b"POST /api/v1/sessions HTTP/1.1\r\nHost: c\r\nContent-Length: " + length + b"\r\n\r\n{}"
    raw, elapsed = exchange(hostile.socket, data)
    status = assert_refused(raw)
    assert status in (None, 400, 413)
    assert elapsed < 2.0


def test_duplicate_content_lengths_are_refused(hostile: Daemon) -> None:
    data = b"POST /api/v1/sessions HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}"
    raw, _ = exchange(hostile.socket, data)
    assert assert_refused(raw) in (None, 400)


def _first_reply(path: Path, data: bytes, timeout: float) -> tuple[bytes, float, bool]:
    """Send without half-closing; return (head+body, seconds to the whole reply, closed soon)."""
    start = time.monotonic()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(data)
        raw = b""
        while b"\r\n\r\n" not in raw or len(raw.partition(b"\r\n\r\n")[2]) < int(
            parse_reply(raw).headers.get("content-length", "0")
        ):
            chunk = sock.recv(65536)
            if not chunk:
                break
            raw += chunk
        elapsed = time.monotonic() - start
        sock.settimeout(2.0)
        try:
            closed = sock.recv(1) == b""
        except TimeoutError:
            closed = False
    return raw, elapsed, closed


HUGE = b"POST /api/v1/sessions HTTP/1.1\r\nHost: c\r\nContent-Length: 1000000000000\r\n\r\n"


def test_huge_content_length_gets_413_before_any_body(hostile: Daemon) -> None:
    raw, elapsed, _closed = _first_reply(hostile.socket, HUGE, 15)
    reply = parse_reply(raw)
    assert reply.status == 413
    assert reply.json() == {
        "ok": False,
        "error": {
            "code": "payload_too_large",
            "message": "Request body exceeds 4194304-byte limit.",
        },
    }
    assert elapsed < 2.0


def test_connection_is_closed_right_after_413(hostile: Daemon) -> None:
    _raw, _elapsed, closed = _first_reply(hostile.socket, HUGE, 15)
    assert closed


def test_chunked_body_is_refused_with_the_envelope(hostile: Daemon) -> None:
    data = b"POST /api/v1/sessions HTTP/1.1\r\nHost: c\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    raw, _ = exchange(hostile.socket, data)
    reply = parse_reply(raw)
    assert reply.status == 400
    assert reply.json()["error"]["code"] == "invalid_request"


def test_oversized_request_line_is_refused(hostile: Daemon) -> None:
    data = b"GET /api/v1/sessions/" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n"
    raw, elapsed = exchange(hostile.socket, data)
    assert assert_refused(raw) in (None, 400, 414, 431)
    assert elapsed < 2.0


def test_oversized_header_is_refused(hostile: Daemon) -> None:
    data = b"GET /health HTTP/1.1\r\nX-Big: " + b"b" * 20000 + b"\r\n\r\n"
    raw, _ = exchange(hostile.socket, data)
    assert assert_refused(raw) in (None, 400, 431)


def test_too_many_headers_are_refused(hostile: Daemon) -> None:
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(500))
    raw, _ = exchange(hostile.socket, b"GET /health HTTP/1.1\r\n" + headers + b"\r\n")
    assert assert_refused(raw) in (None, 400, 431)


def test_body_shorter_than_content_length_without_half_close_times_out(hostile: Daemon) -> None:
    data = b'POST /api/v1/sessions HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"a":'
    raw, elapsed = exchange(hostile.socket, data, half_close=False, timeout=BODY_DEADLINE + 8)
    assert assert_refused(raw) in (None, 400)
    assert elapsed < BODY_DEADLINE + 5


def test_body_shorter_than_content_length_with_half_close_is_answered(hostile: Daemon) -> None:
    data = b'POST /api/v1/sessions HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"a":'
    raw, elapsed = exchange(hostile.socket, data, timeout=BODY_DEADLINE + 8)
    assert assert_refused(raw) in (None, 400)
    assert elapsed < BODY_DEADLINE + 5


def test_unknown_verbs_are_404_with_body(hostile: Daemon) -> None:
    raw, _ = exchange(hostile.socket, b"DELETE /api/v1/sessions HTTP/1.1\r\nHost: c\r\n\r\n")
    reply = parse_reply(raw)
    assert reply.status == 404
    assert reply.json()["error"]["code"] == "not_found"


def test_lowercase_method_is_a_400_envelope(hostile: Daemon) -> None:
    """The reference answered 404; methods are case-sensitive tokens, so ours is a clear 400."""
    raw, _ = exchange(hostile.socket, b"get /health HTTP/1.1\r\nHost: c\r\n\r\n")
    reply = parse_reply(raw)
    assert reply.status == 400
    assert reply.json()["error"]["code"] == "invalid_request"


def test_http11_request_without_host_is_a_400_envelope(hostile: Daemon) -> None:
    """HTTP/1.1 requires Host (RFC 9112); every known client sends one (`Host: coven`)."""
    raw, _ = exchange(hostile.socket, b"GET /health HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
    reply = parse_reply(raw)
    assert reply.status == 400
    assert "Host" in reply.json()["error"]["message"]


def test_http10_request_without_host_is_served(hostile: Daemon) -> None:
    raw, _ = exchange(hostile.socket, b"GET /health HTTP/1.0\r\n\r\n")
    reply = parse_reply(raw)
    assert reply.status == 200
    assert reply.json()["ok"] is True


def test_invalid_utf8_json_body_is_400(hostile: Daemon) -> None:
    body = b'{"projectRoot": "\xff\xfe"}'
    data = (
        b"POST /api/v1/sessions HTTP/1.1\r\nHost: c\r\nContent-Length: %d\r\n\r\n" % len(body)
        + body
    )
    raw, _ = exchange(hostile.socket, data)
    reply = parse_reply(raw)
    assert reply.status == 400
    assert reply.json()["error"]["code"] == "invalid_request"


def test_attach_without_upgrade_answers_with_the_error_envelope(hostile: Daemon) -> None:
    sid = hostile.launch("--fake-mode=sleep")["id"]
    try:
        reply = hostile.call("GET", f"/api/v1/sessions/{sid}/attach", timeout=3)
    finally:
        hostile.call("POST", f"/api/v1/sessions/{sid}/kill", {})
    assert reply.status == 400
    assert reply.headers["content-type"].startswith("application/json"), reply.body
    assert reply.json()["error"]["code"] == "invalid_request"


@pytest.mark.timeout(90)
def test_slowloris_and_fifty_stalled_connections_do_not_starve_health(hostile: Daemon) -> None:
    pid = daemon_pid(hostile)
    rss_before = rss_kib(pid)
    stalled: list[socket.socket] = []
    for _ in range(50):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(str(hostile.socket))
        s.sendall(b"POST /api/v1/sessions HTTP/1.1\r\n")  # an unfinished head
        stalled.append(s)
    drip_closed_at: list[float] = []

    def slowloris() -> None:
        start = time.monotonic()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(str(hostile.socket))
            try:
                s.sendall(b"GET /health HTTP/1.1\r\n")
                for i in range(60):
                    s.sendall(b"X-%d: y\r\n" % i)
                    time.sleep(0.5)
            except OSError:
                drip_closed_at.append(time.monotonic() - start)

    dripper = threading.Thread(target=slowloris)
    dripper.start()
    latencies = []
    deadline = time.monotonic() + HEAD_DEADLINE + 3
    while time.monotonic() < deadline:
        latencies.append(health_latency(hostile))
        time.sleep(0.2)
    dripper.join(timeout=40)
    closed = 0
    for s in stalled:
        s.settimeout(5)
        try:
            data = s.recv(1024)
        except OSError:
            data = b""
        closed += data == b"" or data.startswith(b"HTTP/1.1 4")
        s.close()
    assert max(latencies) < 1.0, latencies
    assert closed == 50, "stalled connections must be closed by the head deadline"
    assert drip_closed_at and drip_closed_at[0] < HEAD_DEADLINE + 5, drip_closed_at
    growth = rss_kib(pid) - rss_before
    print(f"health max {max(latencies) * 1000:.1f} ms; RSS growth {growth} KiB")
    assert growth < 32 * 1024


def test_many_oversized_bodies_do_not_grow_memory(hostile: Daemon) -> None:
    pid = daemon_pid(hostile)
    before = rss_kib(pid)
    body = b'{"x":"' + b"a" * (4 * 1024 * 1024 - 16) + b'"}'
    for _ in range(10):
        data = b"POST /api/v1/sessions HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body)
        raw, _ = exchange(hostile.socket, data + body)
        assert assert_refused(raw) in (None, 400)
    assert health_latency(hostile) < 1.0
    assert rss_kib(pid) - before < 64 * 1024
