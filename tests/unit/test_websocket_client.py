"""The attach stream's WebSocket client (``coven.client.websocket``, ``ws_frames``) at the byte level.

The client end is real asyncio streams on a socket pair; the test plays the server
with hand-built frames, so every rule of RFC 6455 the client enforces is exercised,
including what the daemon's aiohttp server never sends (fragments, pings, bad frames).
The client against a real aiohttp server is covered in ``test_client_unix.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coven.client import DaemonUnsafe, ProtocolError, RouteNotFound, SessionNotFound
from coven.client.attach_stream import AttachStream
from coven.client.websocket import WebSocket, upgrade
from coven.client.ws_frames import (
    Opcode,
    UpgradeRefused,
    WebSocketError,
    accept_key,
    apply_mask,
)


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True, first_extra: int = 0) -> bytes:
    """A server frame (unmasked)."""
    first = (0x80 if fin else 0) | opcode | first_extra
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", first, size) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


def read_client_frame(sock: socket.socket) -> tuple[int, bytes]:
    """``(opcode, unmasked payload)`` of one frame the client sent; it must be masked."""

    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            assert chunk, "the client closed the connection"
            data += chunk
        return data

    first, second = exactly(2)
    assert second & 0x80, "client frames must be masked"
    size = second & 0x7F
    if size == 126:
        (size,) = struct.unpack("!H", exactly(2))
    elif size == 127:
        (size,) = struct.unpack("!Q", exactly(8))
    mask = exactly(4)
    return first & 0x0F, apply_mask(exactly(size), mask)


@pytest.fixture
async def pair() -> AsyncIterator[tuple[WebSocket, socket.socket]]:
    ours, theirs = socket.socketpair()
    theirs.settimeout(5)
    reader, writer = await asyncio.open_unix_connection(sock=ours)
    yield WebSocket(reader, writer), theirs
    writer.close()
    theirs.close()


@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4))
def test_masking_is_its_own_inverse(data: bytes, mask: bytes) -> None:
    masked = apply_mask(data, mask)
    assert len(masked) == len(data)
    assert apply_mask(masked, mask) == data
    assert all(m == d ^ mask[i % 4] for i, (m, d) in enumerate(zip(masked, data, strict=True)))


def test_accept_key_matches_the_rfc_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 §1.3


async def test_a_fragmented_message_with_a_ping_inside_arrives_whole_and_the_ping_is_answered(
    pair: tuple[WebSocket, socket.socket],
) -> None:
    ws, server = pair
    server.sendall(
        frame(Opcode.TEXT, b"hel", fin=False)
        + frame(Opcode.PING, b"are you there")
        + frame(Opcode.CONTINUATION, "lo \u00e9".encode(), fin=False)
        + frame(Opcode.PONG, b"unasked")
        + frame(Opcode.CONTINUATION, b"!")
    )
    message = await ws.receive()
    assert (message.opcode, message.data) == (Opcode.TEXT, "hello \u00e9!".encode())
    assert await asyncio.to_thread(read_client_frame, server) == (Opcode.PONG, b"are you there")


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 300_000])
async def test_lengths_at_every_encoding_boundary_both_ways(
    pair: tuple[WebSocket, socket.socket], size: int
) -> None:
    ws, server = pair
    data = os.urandom(size)
    sending = asyncio.create_task(ws.send_bytes(data))
    assert await asyncio.to_thread(read_client_frame, server) == (Opcode.BINARY, data)
    await sending
    await asyncio.to_thread(server.sendall, frame(Opcode.BINARY, data))
    message = await ws.receive()
    assert (message.opcode, message.data) == (Opcode.BINARY, data)


async def test_a_close_frame_is_answered_and_ends_the_stream_for_good(
    pair: tuple[WebSocket, socket.socket],
) -> None:
    ws, server = pair
    server.sendall(frame(Opcode.CLOSE, struct.pack("!H", 1013) + b"too slow"))
    message = await ws.receive()
    assert (message.opcode, message.close_code, message.data) == (Opcode.CLOSE, 1013, b"too slow")
    assert ws.closed
    assert await asyncio.to_thread(read_client_frame, server) == (
        Opcode.CLOSE,
        struct.pack("!H", 1013),
    )
    assert (await ws.receive()).opcode is Opcode.CLOSE  # and keeps saying so
    with pytest.raises(ConnectionError):
        await ws.send_bytes(b"late")


async def test_a_dropped_connection_reads_as_an_abnormal_close(
    pair: tuple[WebSocket, socket.socket],
) -> None:
    ws, server = pair
    server.sendall(frame(Opcode.BINARY, b"whole") + frame(Opcode.BINARY, b"cut short")[:5])
    server.close()
    assert (await ws.receive()).data == b"whole"
    message = await ws.receive()
    assert (message.opcode, message.close_code) == (Opcode.CLOSE, 1006)


async def test_our_close_waits_for_the_servers_and_drops_what_comes_before_it(
    pair: tuple[WebSocket, socket.socket],
) -> None:
    ws, server = pair
    server.sendall(frame(Opcode.BINARY, b"still sending") + frame(Opcode.CLOSE, b"\x03\xe8"))
    await ws.close()
    assert ws.closed
    assert await asyncio.to_thread(read_client_frame, server) == (Opcode.CLOSE, b"\x03\xe8")


@pytest.mark.parametrize(
    ("wire", "complaint"),
    [
        (frame(Opcode.BINARY, b"x", first_extra=0x40), "reserved bits"),
        (frame(0x3, b"x"), "unknown opcode"),
        (frame(Opcode.PING, b"p" * 126), "control frame"),
        (frame(Opcode.PING, b"p", fin=False), "control frame"),
        (frame(Opcode.CONTINUATION, b"x"), "continuation"),
        (frame(Opcode.TEXT, b"a", fin=False) + frame(Opcode.BINARY, b"b"), "continuation"),
        (frame(Opcode.TEXT, b"\xff\xfe"), "not UTF-8"),
        (struct.pack("!BB", 0x82, 0x81) + b"\x00\x00\x00\x00x", "masked"),
        (struct.pack("!BBQ", 0x82, 127, 1 << 40), "bound"),
    ],
)
async def test_frames_that_break_the_rfc_are_refused(
    pair: tuple[WebSocket, socket.socket], wire: bytes, complaint: str
) -> None:
    ws, server = pair
    server.sendall(wire)
    with pytest.raises(WebSocketError, match=complaint):
        await ws.receive()
    assert ws.closed


async def _upgrade_against(answer: bytes) -> WebSocket:
    """Run the client's upgrade against a server that answers ``answer`` (``{accept}`` filled)."""
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_unix_connection(sock=ours)

    def serve() -> None:
        with theirs:
            request = b""
            while b"\r\n\r\n" not in request:
                request += theirs.recv(4096)
            head = request.decode("latin-1")
            assert head.startswith("GET /api/v1/sessions/s1/attach HTTP/1.1\r\n")
            key = head.split("Sec-WebSocket-Key: ", 1)[1].split("\r\n", 1)[0]
            theirs.sendall(answer.replace(b"{accept}", accept_key(key).encode()))

    server = asyncio.create_task(asyncio.to_thread(serve))
    try:
        return await upgrade(reader, writer, "/api/v1/sessions/s1/attach")
    finally:
        await server
        writer.close()


async def test_an_accepted_upgrade_keeps_the_frames_that_came_with_it() -> None:
    ws = await _upgrade_against(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
        b"Sec-WebSocket-Accept: {accept}\r\n\r\n" + frame(Opcode.TEXT, b'{"type":"attached"}')
    )
    assert (await ws.receive()).data == b'{"type":"attached"}'


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        (
            b"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
            b"Sec-WebSocket-Accept: bm90IHRoZSBrZXk=\r\n\r\n",
            "Sec-WebSocket-Accept",
        ),
        (
            b"HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nConnection: upgrade\r\n"
            b"Sec-WebSocket-Accept: {accept}\r\n\r\n",
            "not to websocket",
        ),
        (
            b"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
            b"Sec-WebSocket-Accept: {accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
            "extension",
        ),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "not an HTTP answer"),
        (b"HTTP/1.1 101 OK\r\n", "closed the connection during the upgrade"),
    ],
)
async def test_a_bad_upgrade_answer_is_refused(answer: bytes, complaint: str) -> None:
    with pytest.raises(WebSocketError, match=complaint):
        await _upgrade_against(answer)


async def test_a_refused_upgrade_carries_the_status_and_body() -> None:
    body = b'{"error": {"code": "nope"}}'
    answer = b"HTTP/1.1 409 Conflict\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    with pytest.raises(UpgradeRefused) as refused:
        await _upgrade_against(answer)
    assert (refused.value.status, refused.value.reason, refused.value.body) == (
        409,
        "Conflict",
        body,
    )


# ------------------------------------------------------------- the attach stream over it


def _listen(home: Path) -> socket.socket:
    """The daemon's socket in ``home``, listening (the test accepts, or never does)."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(home / "coven.sock"))
    os.chmod(home / "coven.sock", 0o600)
    listener.listen(1)
    return listener


async def _attach_against(home: Path, answer: bytes) -> None:
    listener = _listen(home)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            conn.sendall(answer)

    server = asyncio.create_task(asyncio.to_thread(serve))
    try:
        async with AttachStream(home / "coven.sock", "/api/v1/sessions/gone/attach", timeout=5):
            pass
    finally:
        listener.close()
        await server


async def test_attaching_to_an_unknown_session_names_it(home: Path) -> None:
    body = json.dumps(
        {"error": {"code": "session_not_found", "message": "no session gone"}}
    ).encode()
    answer = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
    answer += b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    with pytest.raises(SessionNotFound, match="no session gone"):
        await _attach_against(home, answer)


async def test_a_refusal_without_a_json_body_keeps_its_status(home: Path) -> None:
    with pytest.raises(RouteNotFound, match="attach refused: HTTP 404 Not Found"):
        await _attach_against(home, b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")


async def test_a_broken_upgrade_is_a_protocol_error(home: Path) -> None:
    with pytest.raises(ProtocolError, match="attach stream: not an HTTP answer"):
        await _attach_against(home, b"hello\r\n\r\n")


async def test_the_attach_stream_checks_its_peer(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def foreign(_sock: object) -> int:
        raise DaemonUnsafe("daemon peer (pid 1) runs as uid 4242, not as us")

    monkeypatch.setattr("coven.client.attach_stream.check_peer", foreign)
    listener = _listen(home)
    try:
        with pytest.raises(DaemonUnsafe, match="uid 4242"):
            async with AttachStream(home / "coven.sock", "/api/v1/sessions/s1/attach", timeout=5):
                pass
    finally:
        listener.close()
