"""coven.client over a real Unix socket, against a small aiohttp stand-in daemon.

Covers the trust checks (home, socket, peer), socket errors, HTTP framing,
the chunked NDJSON follow stream and the WebSocket attach stream.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import struct
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from coven.client import (
    ApiVersionMismatch,
    AsyncCovenClient,
    AttachState,
    AttachStateError,
    CovenClient,
    DaemonNotRunning,
    DaemonUnsafe,
    Exit,
    Live,
    Output,
    Overflow,
    ProtocolError,
    RouteNotFound,
    SessionNotFound,
    SessionNotLive,
    TransportError,
)
from coven.client.safety import check_peer
from tests.unit.test_client import HEALTH, event, record


def build_app(seen: list[dict[str, Any]]) -> web.Application:
    async def health(request: web.Request) -> web.Response:
        seen.append({"path": request.path_qs, "headers": dict(request.headers)})
        return web.json_response(HEALTH)

    async def get_session(request: web.Request) -> web.Response:
        sid = request.match_info["id"]
        if sid == "slowpoke":
            await asyncio.sleep(1)
        if sid == "missing":
            return web.json_response(
                {
                    "error": {
                        "code": "session_not_found",
                        "details": {"sessionId": sid},
                        "message": "Session was not found.",
                    }
                },
                status=404,
            )
        return web.json_response(record(sid))

    async def post_input(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append({"path": request.path_qs, "headers": dict(request.headers), "body": body})
        if request.match_info["id"] == "dead":
            return web.json_response(
                {"error": {"code": "session_not_live", "message": "no"}}, status=409
            )
        return web.json_response({"accepted": True, "ok": True}, status=202)

    async def follow(request: web.Request) -> web.StreamResponse:
        after = int(request.query.get("afterSeq", "0"))
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        data = b"".join(json.dumps(event(s)).encode() + b"\n" for s in range(after + 1, after + 4))
        # Odd-sized chunks with pauses so records really straddle chunk boundaries.
        for i in range(0, len(data), 37):
            await resp.write(data[i : i + 37])
            await asyncio.sleep(0.002)
        if request.match_info["id"] == "torn":
            await resp.write(b'{"seq": 99, "id"')
        await resp.write_eof()
        return resp

    async def attach(request: web.Request) -> web.WebSocketResponse:
        sid = request.match_info["id"]
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if sid == "badstart":
            await ws.send_bytes(b"output before attached")
            await ws.close()
            return ws
        await ws.send_str(json.dumps({"type": "attached", "session": record(sid)}))
        if sid == "slow":
            await ws.send_str(json.dumps({"type": "overflow", "resumeAfterSeq": 7}))
            await ws.close()
            return ws
        await ws.send_bytes(b"replayed")
        await ws.send_str(json.dumps({"type": "future-frame", "x": 1}))  # additive: ignored
        await ws.send_str(json.dumps({"type": "live", "seq": 3}))
        async for msg in ws:
            if msg.type is WSMsgType.BINARY:
                if msg.data == b"quit":
                    await ws.send_str(
                        json.dumps({"type": "exit", "status": "completed", "exitCode": 0})
                    )
                    await ws.close()
                    break
                await ws.send_bytes(b"echo:" + msg.data)
            elif msg.type is WSMsgType.TEXT:
                doc = json.loads(msg.data)
                await ws.send_bytes(f"{doc['type']} {doc['rows']}x{doc['cols']}".encode())
        return ws

    app = web.Application()
    app.router.add_get("/api/v1/health", health)
    app.router.add_get("/api/v1/sessions/{id}", get_session)
    app.router.add_post("/api/v1/sessions/{id}/input", post_input)
    app.router.add_get("/api/v1/sessions/{id}/follow", follow)
    app.router.add_get("/api/v1/sessions/{id}/attach", attach)
    return app


class ServerThread:
    """Runs the stand-in daemon on its own loop so sync clients can block against it."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self.seen: list[dict[str, Any]] = []
        self.loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(build_app(self.seen), handle_signals=False)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(timeout=10)
        os.chmod(self.socket_path, 0o600)

    async def _start(self) -> None:
        await self._runner.setup()
        await web.UnixSite(self._runner, str(self.socket_path)).start()

    async def _stop(self) -> None:
        await self._runner.cleanup()
        # Closed transports release their sockets in call_soon callbacks: let them run
        # before the loop stops, or the sockets leak (ResourceWarning -> error).
        for _ in range(3):
            await asyncio.sleep(0.01)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@pytest.fixture
def server(home: Path) -> Iterator[ServerThread]:
    srv = ServerThread(home / "coven.sock")
    srv.start()
    yield srv
    srv.stop()


# ------------------------------------------------------------------ trust checks


def test_sync_round_trip_and_request_framing(server: ServerThread, home: Path) -> None:
    client = CovenClient.from_home(home, timeout=5)
    assert client.get_session("abc").id == "abc"
    client.send_input("abc", "hi\n")
    health_req, input_req = server.seen
    assert health_req["headers"]["Host"] == "coven"
    assert health_req["headers"]["Connection"] == "close"
    assert health_req["headers"]["Content-Length"] == "0"
    assert input_req["headers"]["Content-Length"] == str(len(input_req["body"]))
    assert json.loads(input_req["body"]) == {"data": "hi\n"}


def test_from_home_defaults_to_coven_home_env(
    server: ServerThread, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COVEN_HOME", str(home))
    assert CovenClient.from_home().health().api_version == "coven.daemon.v1"


def test_sync_daemon_errors_are_mapped(server: ServerThread, home: Path) -> None:
    client = CovenClient.from_home(home, timeout=5)
    with pytest.raises(SessionNotFound) as info:
        client.get_session("missing")
    assert info.value.details == {"sessionId": "missing"}
    with pytest.raises(SessionNotLive):
        client.send_input("dead", "x")


def test_missing_socket_is_daemon_not_running(home: Path) -> None:
    with pytest.raises(DaemonNotRunning, match="coven daemon start"):
        CovenClient.from_home(home).health()


def test_missing_home_is_daemon_not_running(home: Path) -> None:
    with pytest.raises(DaemonNotRunning):
        CovenClient.from_home(home / "nope").health()


def test_stale_socket_is_daemon_not_running(home: Path) -> None:
    path = home / "coven.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()  # file stays, nobody listens: ECONNREFUSED
    os.chmod(path, 0o600)
    with pytest.raises(DaemonNotRunning, match="coven daemon start") as info:
        CovenClient.from_home(home).health()
    assert isinstance(info.value.__cause__, ConnectionRefusedError)


def test_home_with_group_bits_is_unsafe(server: ServerThread, home: Path) -> None:
    os.chmod(home, 0o750)
    with pytest.raises(DaemonUnsafe, match="group/other"):
        CovenClient.from_home(home).health()
    assert server.seen == []


def test_symlinked_home_is_unsafe(server: ServerThread, home: Path) -> None:
    link = home.parent / (home.name + "-link")
    link.symlink_to(home)
    try:
        with pytest.raises(DaemonUnsafe, match="symlink"):
            CovenClient.from_home(link).health()
    finally:
        link.unlink()


def test_home_that_is_a_file_is_unsafe(home: Path) -> None:
    f = home / "file"
    f.write_text("x")
    with pytest.raises(DaemonUnsafe, match="not a directory"):
        CovenClient.from_home(f).health()


def test_socket_with_group_bits_is_unsafe(server: ServerThread, home: Path) -> None:
    os.chmod(home / "coven.sock", 0o660)
    with pytest.raises(DaemonUnsafe, match="group/other"):
        CovenClient.from_home(home).health()
    assert server.seen == []


def test_socket_that_is_a_regular_file_is_unsafe(home: Path) -> None:
    (home / "coven.sock").write_text("")
    os.chmod(home / "coven.sock", 0o600)
    with pytest.raises(DaemonUnsafe, match="not a socket"):
        CovenClient.from_home(home).health()


def test_symlinked_socket_is_unsafe(server: ServerThread, home: Path) -> None:
    other = Path(tempfile.mkdtemp(prefix="cvn-"))
    try:
        os.chmod(other, 0o700)
        (other / "coven.sock").symlink_to(home / "coven.sock")
        with pytest.raises(DaemonUnsafe, match="symlink"):
            CovenClient.from_home(other).health()
    finally:
        shutil.rmtree(other)


def test_foreign_owned_home_is_unsafe(
    server: ServerThread, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: real + 1)
    with pytest.raises(DaemonUnsafe, match="owned by uid"):
        CovenClient.from_home(home).health()
    assert server.seen == []


def test_check_peer_accepts_our_own_process() -> None:
    a, b = socket.socketpair()
    with a, b:
        assert check_peer(a) == os.getpid()


def test_check_peer_refuses_a_foreign_uid() -> None:
    class ForeignPeer:
        def getsockopt(self, level: int, optname: int, buflen: int) -> bytes:
            return struct.pack("3i", 4242, os.geteuid() + 1, 0)

    with pytest.raises(DaemonUnsafe, match="pid 4242"):
        check_peer(ForeignPeer())


def test_slow_daemon_is_a_transport_error(server: ServerThread, home: Path) -> None:
    client = CovenClient.from_home(home, timeout=0.3)
    with pytest.raises(TransportError, match="in time"):
        client.get_session("slowpoke")


# ------------------------------------------------------------------ follow over HTTP chunked


def test_sync_follow_reads_chunked_ndjson(server: ServerThread, home: Path) -> None:
    client = CovenClient.from_home(home, timeout=5)
    assert [e.seq for e in client.follow("s1", after_seq=10)] == [11, 12, 13]


def test_sync_follow_torn_record_is_a_protocol_error(server: ServerThread, home: Path) -> None:
    client = CovenClient.from_home(home, timeout=5)
    seqs = []
    with pytest.raises(ProtocolError):
        for e in client.follow("torn"):
            seqs.append(e.seq)
    assert seqs == [1, 2, 3]


# ------------------------------------------------------------------ async client + attach


async def test_async_round_trip_and_errors(server: ServerThread, home: Path) -> None:
    async with AsyncCovenClient.from_home(home, timeout=5) as client:
        assert (await client.get_session("abc")).id == "abc"
        await client.send_input("abc", "typed\n")
        with pytest.raises(SessionNotFound):
            await client.get_session("missing")
        with pytest.raises(SessionNotLive):
            await client.send_input("dead", "x")
    assert json.loads(server.seen[-2]["body"]) == {"data": "typed\n"}


async def test_async_missing_socket_is_daemon_not_running(home: Path) -> None:
    async with AsyncCovenClient.from_home(home) as client:
        with pytest.raises(DaemonNotRunning):
            await client.health()


async def test_async_stale_socket_is_daemon_not_running(home: Path) -> None:
    path = home / "coven.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()
    os.chmod(path, 0o600)
    async with AsyncCovenClient.from_home(home) as client:
        with pytest.raises(DaemonNotRunning, match="coven daemon start"):
            await client.health()


async def test_async_unsafe_home_is_refused(server: ServerThread, home: Path) -> None:
    os.chmod(home, 0o755)
    async with AsyncCovenClient.from_home(home) as client:
        with pytest.raises(DaemonUnsafe):
            await client.health()


async def test_attach_replays_goes_live_echoes_and_exits(server: ServerThread, home: Path) -> None:
    async with AsyncCovenClient.from_home(home, timeout=5) as client:
        stream = client.attach("s1", after_seq=2)
        assert stream.state is AttachState.CONNECTING
        async with stream:
            assert stream.state is AttachState.REPLAYING
            assert stream.session is not None and stream.session.id == "s1"
            assert await anext(stream) == Output(b"replayed")
            assert await anext(stream) == Live(3)
            assert stream.state is AttachState.LIVE
            await stream.send_input(b"hello")
            assert await anext(stream) == Output(b"echo:hello")
            await stream.resize(40, 120)
            assert await anext(stream) == Output(b"resize 40x120")
            await stream.send_input(b"quit")
            rest = [m async for m in stream]
            assert rest == [Exit("completed", 0)]
            assert stream.state is AttachState.CLOSED
            with pytest.raises(AttachStateError):
                await stream.send_input(b"late")
            with pytest.raises(AttachStateError):
                await stream.resize(1, 1)


async def test_attach_frames_of_every_length_encoding_cross_an_aiohttp_server(
    server: ServerThread, home: Path
) -> None:
    async with AsyncCovenClient.from_home(home, timeout=5) as client, client.attach("s1") as stream:
        assert [await anext(stream), await anext(stream)] == [Output(b"replayed"), Live(3)]
        for size in (1, 125, 126, 65535, 65536, 300_000):
            data = os.urandom(size)
            await stream.send_input(data)
            assert await anext(stream) == Output(b"echo:" + data)


async def test_attach_overflow_closes_the_stream(server: ServerThread, home: Path) -> None:
    async with (
        AsyncCovenClient.from_home(home, timeout=5) as client,
        client.attach("slow") as stream,
    ):
        assert [m async for m in stream] == [Overflow(7)]
        assert stream.state is AttachState.CLOSED


async def test_attach_must_start_with_attached(server: ServerThread, home: Path) -> None:
    async with AsyncCovenClient.from_home(home, timeout=5) as client:
        stream = client.attach("badstart")
        with pytest.raises(ProtocolError):
            await stream.__aenter__()
        assert stream.state is AttachState.CLOSED


async def test_attach_illegal_use_before_entering(server: ServerThread, home: Path) -> None:
    async with AsyncCovenClient.from_home(home, timeout=5) as client:
        stream = client.attach("s1")
        with pytest.raises(AttachStateError):
            await stream.send_input(b"x")
        with pytest.raises(AttachStateError):
            await anext(stream)


async def test_attach_cannot_be_entered_twice(server: ServerThread, home: Path) -> None:
    async with AsyncCovenClient.from_home(home, timeout=5) as client:
        stream = client.attach("s1")
        async with stream:
            pass
        with pytest.raises(AttachStateError):
            await stream.__aenter__()


async def test_attach_to_unknown_route_is_refused(server: ServerThread, home: Path) -> None:
    async with AsyncCovenClient.from_home(home, timeout=5) as client:
        stream = client.attach("a/b")  # no such route on the stand-in
        with pytest.raises(RouteNotFound):
            await stream.__aenter__()


async def test_async_handshake_refuses_before_attach(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(HEALTH, "apiVersion", "coven.daemon.v0")
    srv = ServerThread(home / "coven.sock")
    srv.start()
    try:
        async with AsyncCovenClient.from_home(home, timeout=5) as client:
            with pytest.raises(ApiVersionMismatch):
                async with client.attach("s1"):
                    pass
    finally:
        srv.stop()


def _foreign_peer(_sock: object) -> int:
    raise DaemonUnsafe("daemon peer (pid 1) runs as uid 4242, not as us")


@pytest.fixture
def listener(home: Path) -> Iterator[socket.socket]:
    """A socket that listens but never accepts: connects complete, nothing is served.

    Used where the client must refuse right after connecting; a real server would
    be left holding half-open connections at teardown.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(home / "coven.sock"))
    sock.listen(8)
    os.chmod(home / "coven.sock", 0o600)
    yield sock
    sock.close()


def test_sync_transport_checks_the_peer_after_connecting(
    listener: socket.socket, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []

    def foreign(sock: object) -> int:
        calls.append(sock)
        return _foreign_peer(sock)

    monkeypatch.setattr("coven.client.transport.check_peer", foreign)
    with pytest.raises(DaemonUnsafe, match="uid 4242"):
        CovenClient.from_home(home, timeout=2).health()
    assert len(calls) == 1


async def test_async_client_checks_the_peer_after_connecting(
    listener: socket.socket, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("coven.client.aio.check_peer", _foreign_peer)
    async with AsyncCovenClient.from_home(home, timeout=2) as client:
        with pytest.raises(DaemonUnsafe, match="uid 4242"):
            await client.health()
        with pytest.raises(DaemonUnsafe, match="uid 4242"):
            async with client.attach("s1"):
                pass
    # The refused connections were closed; let their close callbacks run before the loop ends.
    await asyncio.sleep(0.01)
