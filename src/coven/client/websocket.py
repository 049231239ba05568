"""The client side of a WebSocket (RFC 6455) over an asyncio stream: the attach stream's wire.

Why not aiohttp or wsproto: ``coven attach`` must put the session's screen up about
as fast as the interpreter starts. aiohttp's import alone costs three times that,
and wsproto brings h11 and a sans-IO event layer we do not need. The client half of
RFC 6455 without extensions is small: one upgrade request, then frames of a 2-14
byte header (server frames unmasked, ours masked); the I/O-free half is
``coven.client.ws_frames``. Everything the daemon's aiohttp server may send is
handled: fragmented messages, pings (answered), pongs, and the close handshake.
No extension is offered, so none can be negotiated.

``upgrade`` does the opening handshake and answers a ``WebSocket``, or raises
``UpgradeRefused`` with the server's status and body. Frames that break the RFC
raise ``WebSocketError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
from dataclasses import dataclass

from coven.client.ws_frames import (
    EXTENDED_LENGTH,
    MAX_HEAD,
    MAX_MESSAGE,
    MAX_REFUSAL_BODY,
    Opcode,
    UpgradeRefused,
    WebSocketError,
    check_length,
    encode_frame,
    frame_head,
    new_key,
    upgrade_answer,
    upgrade_request,
)

CLOSE_WAIT_SECONDS = 2.0  # how long close() waits for the server's close frame
# What ends a closing handshake early (besides a broken frame): the peer left or is slow.
_GONE = (ConnectionError, asyncio.IncompleteReadError, TimeoutError)

__all__ = ["Message", "Opcode", "UpgradeRefused", "WebSocket", "WebSocketError", "upgrade"]


@dataclass(frozen=True)
class Message:
    """One whole message: ``TEXT`` (``data`` is UTF-8), ``BINARY``, or ``CLOSE`` (the end)."""

    opcode: Opcode
    data: bytes
    close_code: int | None = None


async def read_frame(reader: asyncio.StreamReader) -> tuple[bool, Opcode, bytes]:
    """``(fin, opcode, payload)`` of the next server frame; ``IncompleteReadError`` at EOF."""
    first, second = await reader.readexactly(2)
    fin, opcode, size = frame_head(first, second)
    extended = EXTENDED_LENGTH.get(size)
    if extended is not None:
        (size,) = extended.unpack(await reader.readexactly(extended.size))
    check_length(size)
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
    key = new_key()
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
    status, reason, headers = upgrade_answer(head[:-4], key)
    if status != 101:
        raise UpgradeRefused(status, reason, await _refusal_body(reader, headers))
    return WebSocket(reader, writer)


async def _refusal_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    """The body of a refused upgrade, when its length is declared and bounded."""
    length = headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_REFUSAL_BODY:
        return b""
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        return await reader.readexactly(int(length))
    return b""
