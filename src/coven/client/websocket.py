"""The client side of a WebSocket (RFC 6455) over an asyncio stream: the attach stream's wire.

Why not aiohttp or wsproto: ``coven attach`` must put the session's screen up about
as fast as the interpreter starts. aiohttp's import alone costs three times that,
and wsproto brings h11 and a sans-IO event layer we do not need. The client half of
RFC 6455 without extensions is small: one upgrade request, then frames of a 2-14
byte header (server frames unmasked, ours masked). Everything the daemon's aiohttp
server may send is handled: fragmented messages, pings (answered), pongs, and the
close handshake. No extension is offered, so none can be negotiated.

``upgrade`` does the opening handshake and answers a ``WebSocket``, or raises
``UpgradeRefused`` with the server's status and body. Frames that break the RFC
raise ``WebSocketError``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import struct
from dataclasses import dataclass
from enum import IntEnum

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE = 64 * 1024 * 1024  # a replay chunk is far smaller; a bound, not a size
MAX_HEAD = 64 * 1024  # the upgrade answer's status line and headers
MAX_REFUSAL_BODY = 1024 * 1024
CLOSE_WAIT_SECONDS = 2.0  # how long close() waits for the server's close frame


class Opcode(IntEnum):
    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


_DATA = frozenset({Opcode.TEXT, Opcode.BINARY})
_CONTROL = frozenset({Opcode.CLOSE, Opcode.PING, Opcode.PONG})
_KNOWN = frozenset(Opcode)
# What ends a closing handshake early (besides a broken frame): the peer left or is slow.
_GONE = (ConnectionError, asyncio.IncompleteReadError, TimeoutError)


class WebSocketError(Exception):
    """The server broke the protocol (or the upgrade); the connection is unusable."""


class UpgradeRefused(WebSocketError):
    """The server answered the upgrade with ``status`` (not 101) and ``body``."""

    def __init__(self, status: int, reason: str, body: bytes) -> None:
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status = status
        self.reason = reason
        self.body = body


@dataclass(frozen=True)
class Message:
    """One whole message: ``TEXT`` (``data`` is UTF-8), ``BINARY``, or ``CLOSE`` (the end)."""

    opcode: Opcode
    data: bytes
    close_code: int | None = None


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` a server must answer to ``key`` (RFC 6455 §4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()


def upgrade_request(path: str, key: str, host: str = "coven") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode("latin-1")


def parse_upgrade_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    """``(status, reason, headers)`` of an HTTP/1.1 answer's head (lower-cased names)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise WebSocketError(f"not an HTTP answer to the upgrade: {lines[0][:200]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers


def check_accepted(headers: dict[str, str], key: str) -> None:
    """A 101 answer must name the upgrade and prove it read our key; no extension."""
    if headers.get("upgrade", "").lower() != "websocket":
        raise WebSocketError("the server switched protocols, but not to websocket")
    if "upgrade" not in headers.get("connection", "").lower():
        raise WebSocketError("the upgrade answer lacks `Connection: Upgrade`")
    if headers.get("sec-websocket-accept") != accept_key(key):
        raise WebSocketError("the upgrade answer has the wrong Sec-WebSocket-Accept")
    if headers.get("sec-websocket-extensions"):
        raise WebSocketError("the server chose an extension that was not offered")


def encode_frame(opcode: Opcode, payload: bytes, mask: bytes, *, fin: bool = True) -> bytes:
    """A client frame: always masked with the 4-byte ``mask`` (RFC 6455 §5.3)."""
    size = len(payload)
    first = (0x80 if fin else 0) | opcode
    if size < 126:
        head = struct.pack("!BB", first, 0x80 | size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", first, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, size)
    return head + mask + apply_mask(payload, mask)


def apply_mask(data: bytes, mask: bytes) -> bytes:
    """XOR ``data`` with the repeated 4-byte ``mask`` (its own inverse)."""
    if not data:
        return b""
    size = len(data)
    repeated = (mask * (size // 4 + 1))[:size]
    value = int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")
    return value.to_bytes(size, "big")


async def read_frame(reader: asyncio.StreamReader) -> tuple[bool, Opcode, bytes]:
    """``(fin, opcode, payload)`` of the next server frame; ``IncompleteReadError`` at EOF."""
    first, second = await reader.readexactly(2)
    if first & 0x70:
        raise WebSocketError("a frame has reserved bits set (no extension was agreed)")
    if first & 0x0F not in _KNOWN:
        raise WebSocketError(f"a frame has the unknown opcode {first & 0x0F:#x}")
    opcode = Opcode(first & 0x0F)
    fin = bool(first & 0x80)
    if second & 0x80:
        raise WebSocketError("the server masked a frame (RFC 6455 forbids it)")
    size = second & 0x7F
    if opcode in _CONTROL and (size > 125 or not fin):
        raise WebSocketError("a control frame is fragmented or longer than 125 bytes")
    if size == 126:
        (size,) = struct.unpack("!H", await reader.readexactly(2))
    elif size == 127:
        (size,) = struct.unpack("!Q", await reader.readexactly(8))
    if size > MAX_MESSAGE:
        raise WebSocketError(f"a frame of {size} bytes is over the {MAX_MESSAGE}-byte bound")
    payload = await reader.readexactly(size) if size else b""
    return fin, opcode, payload


class WebSocket:
    """An open client connection: ``receive()`` whole messages, ``send_*``, ``close()``.

    Pings are answered inside ``receive()``; ``receive()`` answers a ``CLOSE`` message
    once the server closed (by frame or by dropping the connection), and keeps doing so.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._sent_close = False
        self._ended: Message | None = None

    @property
    def closed(self) -> bool:
        return self._ended is not None

    async def receive(self) -> Message:
        if self._ended is not None:
            return self._ended
        try:
            return await self._receive()
        except (asyncio.IncompleteReadError, ConnectionError):
            return self._end(Message(Opcode.CLOSE, b"", 1006))  # dropped, no close frame
        except WebSocketError:
            self._end(Message(Opcode.CLOSE, b"", 1002))
            raise

    async def _receive(self) -> Message:
        kind: Opcode | None = None
        parts: list[bytes] = []
        size = 0
        while True:
            fin, opcode, payload = await read_frame(self._reader)
            if opcode is Opcode.PING:
                await self._send(Opcode.PONG, payload)
                continue
            if opcode is Opcode.PONG:
                continue
            if opcode is Opcode.CLOSE:
                return await self._closed_by_server(payload)
            if (opcode is Opcode.CONTINUATION) == (kind is None):
                raise WebSocketError("a continuation frame without a message, or a message cut")
            if kind is None:
                kind = opcode
            parts.append(payload)
            size += len(payload)
            if size > MAX_MESSAGE:
                raise WebSocketError(f"a message is over the {MAX_MESSAGE}-byte bound")
            if fin:
                data = parts[0] if len(parts) == 1 else b"".join(parts)
                if kind is Opcode.TEXT:
                    try:
                        data.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        raise WebSocketError("a text message is not UTF-8") from exc
                return Message(kind, data)

    async def _closed_by_server(self, payload: bytes) -> Message:
        code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
        with contextlib.suppress(ConnectionError):
            await self._send(Opcode.CLOSE, payload[:2])  # echo the code: handshake done
        self._writer.close()
        return self._end(Message(Opcode.CLOSE, payload[2:], code))

    def _end(self, message: Message) -> Message:
        self._ended = message
        self._sent_close = True
        return message

    async def _send(self, opcode: Opcode, payload: bytes) -> None:
        if self._sent_close:
            raise ConnectionError("the WebSocket is closing")
        if opcode is Opcode.CLOSE:
            self._sent_close = True
        self._writer.write(encode_frame(opcode, payload, os.urandom(4)))
        await self._writer.drain()

    async def send_bytes(self, data: bytes) -> None:
        await self._send(Opcode.BINARY, data)

    async def send_text(self, text: str) -> None:
        await self._send(Opcode.TEXT, text.encode("utf-8"))

    async def close(self, code: int = 1000) -> None:
        """Send our close frame, read (and drop) what the server still sends until its
        close frame or ``CLOSE_WAIT_SECONDS``, then drop the connection. Idempotent."""
        if self._ended is None:
            with contextlib.suppress(*_GONE, WebSocketError):
                if not self._sent_close:
                    await self._send(Opcode.CLOSE, struct.pack("!H", code))
                async with asyncio.timeout(CLOSE_WAIT_SECONDS):
                    while (await read_frame(self._reader))[1] is not Opcode.CLOSE:
                        pass
            self._end(Message(Opcode.CLOSE, b"", code))
        self._writer.close()


async def upgrade(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str
) -> WebSocket:
    """Send the opening handshake for ``path``; a ``WebSocket`` once the server accepts."""
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(upgrade_request(path, key))
    await writer.drain()
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError as exc:
        raise WebSocketError("the upgrade answer's head is too long") from exc
    except asyncio.IncompleteReadError as exc:
        raise WebSocketError("the server closed the connection during the upgrade") from exc
    if len(head) > MAX_HEAD:
        raise WebSocketError("the upgrade answer's head is too long")
    status, reason, headers = parse_upgrade_head(head[:-4])
    if status != 101:
        raise UpgradeRefused(status, reason, await _refusal_body(reader, headers))
    check_accepted(headers, key)
    return WebSocket(reader, writer)


async def _refusal_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    """The body of a refused upgrade, when its length is declared and bounded."""
    length = headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_REFUSAL_BODY:
        return b""
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        return await reader.readexactly(int(length))
    return b""
