"""``AttachStream``: one attachment to a session's terminal, over the daemon's WebSocket.

The stream runs on ``coven.client.websocket`` (asyncio streams, no aiohttp), so
``coven attach`` starts without loading an HTTP client library. The same stream
serves ``AsyncCovenClient.attach``. Before connecting it runs ``gate`` (the
client's health handshake), then checks the socket and its peer the way every
client request does. ``AttachClient`` is what ``coven attach`` holds: these
streams plus the blocking client's handshake and event pages.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import msgspec

from coven.client.attach import AttachMessage, AttachState, Exit, Live, Output, Overflow
from coven.client.calls import attach_path, error_from_response
from coven.client.errors import (
    ApiError,
    AttachStateError,
    CovenClientError,
    ProtocolError,
    RouteNotFound,
    TransportError,
)
from coven.client.safety import check_endpoint, check_peer
from coven.client.sync import CovenClient
from coven.client.transport import map_os_error
from coven.client.websocket import Opcode, UpgradeRefused, WebSocket, WebSocketError, upgrade
from coven.schema.home import SOCKET_NAME
from coven.schema.vocabulary import EventKind
from coven.schema.wire import EventsPage, SessionRecord

_session_decoder = msgspec.json.Decoder(SessionRecord)
# The stream buffer: a replay arrives in chunks of up to a few hundred KiB, and a
# larger buffer means fewer pauses of the socket while the terminal writes.
_READ_LIMIT = 1024 * 1024


def _session_record(doc: object) -> SessionRecord:
    """The record an ``attached`` frame carries; ``ProtocolError`` when it is not one."""
    try:
        return _session_decoder.decode(json.dumps(doc))
    except (msgspec.DecodeError, TypeError) as exc:
        raise ProtocolError(f"bad session record in `attached`: {exc}") from exc


async def _connect(socket_path: Path, path: str, timeout: float | None) -> WebSocket:
    """Open ``path`` as a WebSocket on the daemon's socket, peer checked; client errors only."""
    check_endpoint(socket_path)
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_unix_connection(str(socket_path), limit=_READ_LIMIT)
            try:
                check_peer(writer.get_extra_info("socket"))
                return await upgrade(reader, writer, path)
            except BaseException:
                writer.close()
                raise
    except UpgradeRefused as exc:
        raise _refused(exc) from exc
    except WebSocketError as exc:
        raise ProtocolError(f"attach stream: {exc}") from exc
    except OSError as exc:  # timeouts too
        raise map_os_error(socket_path, exc) from exc


def _refused(exc: UpgradeRefused) -> CovenClientError:
    """The daemon's own error when it sent one (an unknown session: ``SessionNotFound``)."""
    try:
        error = error_from_response(exc.status, exc.body)
    except ProtocolError:  # no JSON body: only the status is known
        if exc.status == 404:
            return RouteNotFound(404, "not_found", f"attach refused: {exc}")
        return ApiError(exc.status, f"http_{exc.status}", f"attach refused: {exc}")
    if isinstance(error, CovenClientError):
        return error
    return ApiError(exc.status, f"http_{exc.status}", f"attach refused: {error}")


class AttachStream:
    """One attachment to a session's terminal: output out, input and resizes in.

    States: connecting → replaying (after the ``attached`` frame) → live (after
    ``Live``) → closed (``Exit``, ``Overflow``, server close or ``close()``).
    ``async for`` yields ``Output``/``Live``/``Exit``/``Overflow`` and stops when
    closed. Sending before entering or after closing raises ``AttachStateError``.
    ``session`` is the record the server sent when the stream opened.
    """

    def __init__(
        self,
        socket_path: Path,
        path: str,
        *,
        gate: Callable[[], Awaitable[object]] | None = None,
        timeout: float | None = 10.0,
    ) -> None:
        self._socket_path = socket_path
        self._path = path
        self._gate = gate
        self._timeout = timeout
        self._ws: WebSocket | None = None
        self._entered = False
        self.state = AttachState.CONNECTING
        self.session: SessionRecord | None = None

    @classmethod
    async def adopt(cls, sock: socket.socket, pending: bytes, session: object) -> AttachStream:
        """A stream on a connection already upgraded and past its ``attached`` frame
        (``coven attach``'s first screen was read from it): ``pending`` is what was
        received and not yet used, ``session`` the record that frame carried. Enter it
        with ``async with`` as usual."""
        try:
            record = _session_record(session)
        except ProtocolError:
            sock.close()
            raise
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=_READ_LIMIT, loop=loop)
        if pending:
            reader.feed_data(pending)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        transport, _ = await loop.create_unix_connection(lambda: protocol, sock=sock)
        stream = cls(Path(), "")  # no path to connect to: the connection is given
        stream._ws = WebSocket(reader, asyncio.StreamWriter(transport, protocol, reader, loop))
        stream.session = record
        stream.state = AttachState.REPLAYING
        return stream

    async def __aenter__(self) -> AttachStream:
        if self._ws is not None and not self._entered:  # adopted: already open
            self._entered = True
            return self
        if self._entered:
            raise AttachStateError("an attach stream can be entered only once")
        self._entered = True
        if self._gate is not None:
            await self._gate()
        self._ws = await _connect(self._socket_path, self._path, self._timeout)
        try:
            first = await self._receive_text()
            if first.get("type") != "attached" or "session" not in first:
                raise ProtocolError(f"attach stream did not start with `attached`: {first!r}")
            self.session = _session_record(first["session"])
        except BaseException:
            await self.close()
            raise
        self.state = AttachState.REPLAYING
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __aiter__(self) -> AttachStream:
        return self

    async def __anext__(self) -> AttachMessage:
        if self.state is AttachState.CONNECTING:
            raise AttachStateError("enter the attach stream (`async with`) before reading it")
        while self.state is not AttachState.CLOSED:
            message = await self._next_message()
            if message is not None:
                return message
        raise StopAsyncIteration

    async def _receive(self) -> tuple[Opcode, bytes]:
        assert self._ws is not None
        try:
            message = await self._ws.receive()
        except WebSocketError as exc:
            await self.close()
            raise TransportError(f"attach stream failed: {exc}") from exc
        return message.opcode, message.data

    async def _next_message(self) -> AttachMessage | None:
        opcode, data = await self._receive()
        if opcode is Opcode.BINARY:
            return Output(data)
        if opcode is Opcode.TEXT:
            return await self._control(self._parse_text(data))
        await self.close()  # the server closed the stream (or the connection dropped)
        return None

    async def _control(self, doc: dict[str, Any]) -> AttachMessage | None:
        kind = doc.get("type")
        try:
            if kind == "live":
                if self.state is not AttachState.REPLAYING:
                    await self.close()
                    raise ProtocolError(f"`live` frame while {self.state.value}")
                self.state = AttachState.LIVE
                return Live(int(doc["seq"]))
            if kind == EventKind.EXIT:
                await self.close()
                code = doc.get("exitCode")
                return Exit(str(doc["status"]), None if code is None else int(code))
            if kind == "overflow":
                await self.close()
                return Overflow(int(doc["resumeAfterSeq"]))
        except (KeyError, TypeError, ValueError) as exc:
            await self.close()
            raise ProtocolError(f"bad `{kind}` frame: {doc!r}") from exc
        return None  # unknown control frames are additive: ignore them

    @staticmethod
    def _parse_text(data: bytes) -> dict[str, Any]:
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise ProtocolError(f"attach control frame is not JSON: {data[:200]!r}") from exc
        if not isinstance(doc, dict):
            raise ProtocolError(f"attach control frame is not an object: {data[:200]!r}")
        return doc

    async def _receive_text(self) -> dict[str, Any]:
        opcode, data = await self._receive()
        if opcode is not Opcode.TEXT:
            raise ProtocolError(f"expected a text frame, got {opcode.name}")
        return self._parse_text(data)

    def _require_open(self) -> WebSocket:
        if self.state in (AttachState.CONNECTING, AttachState.CLOSED) or self._ws is None:
            raise AttachStateError(f"cannot send on an attach stream that is {self.state.value}")
        return self._ws

    async def send_input(self, data: bytes) -> None:
        """Send raw input bytes to the session's terminal (allowed while replaying or live)."""
        await self._require_open().send_bytes(data)

    async def resize(self, rows: int, cols: int) -> None:
        if rows < 1 or cols < 1:
            raise ValueError(f"terminal size must be positive, got {rows}x{cols}")
        await self._require_open().send_text(
            json.dumps({"type": "resize", "rows": rows, "cols": cols})
        )

    async def close(self) -> None:
        """Detach; the session keeps running. Idempotent."""
        self.state = AttachState.CLOSED
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()


class AttachClient:
    """What an attachment needs of one daemon, without aiohttp: attach streams, plus
    the blocking client's handshake and event pages run on a worker thread (so a hung
    daemon never stalls the terminal)."""

    def __init__(self, home: Path, *, timeout: float | None = 10.0) -> None:
        self.socket_path = home / SOCKET_NAME
        self._api = CovenClient.from_home(home, timeout=timeout)
        self._timeout = timeout

    async def handshake(self) -> None:
        await asyncio.to_thread(self._api.handshake)

    async def events(self, session_id: str, after_seq: int = 0) -> EventsPage:
        return await asyncio.to_thread(self._api.events, session_id, after_seq)

    def attach(
        self,
        session_id: str,
        after_seq: int = 0,
        *,
        replay: str | None = None,
        history: int | None = None,
    ) -> AttachStream:
        """See ``AsyncCovenClient.attach``."""
        path = attach_path(session_id, after_seq, replay, history)
        return AttachStream(self.socket_path, path, gate=self.handshake, timeout=self._timeout)
