"""``AsyncCovenClient`` over aiohttp's ``UnixConnector``, and the ``AttachStream``.

This is the only client module that imports aiohttp; ``import coven.client``
does not load it until ``AsyncCovenClient`` is first used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, Unpack

import aiohttp
import msgspec

from coven.client import calls
from coven.client.attach import AttachMessage, AttachState, Exit, Live, Output, Overflow
from coven.client.calls import Health
from coven.client.errors import (
    ApiError,
    AttachStateError,
    CovenClientError,
    DaemonNotRunning,
    ProtocolError,
    RouteNotFound,
    TransportError,
)
from coven.client.safety import check_endpoint, check_peer
from coven.client.sync import LaunchOptions, default_home, launch_body
from coven.schema.home import SOCKET_NAME
from coven.schema.search import PruneResult, SearchResult
from coven.schema.vocabulary import EventKind
from coven.schema.wire import EventsPage, SessionRecord

T = TypeVar("T")
_BASE = "http://coven"


def _map_aiohttp_error(socket_path: Path, exc: Exception) -> CovenClientError:
    if isinstance(exc, aiohttp.ClientConnectorError):
        return DaemonNotRunning(str(socket_path), exc.os_error.strerror or str(exc.os_error))
    if isinstance(exc, TimeoutError):
        return TransportError(f"the Coven daemon did not answer in time ({socket_path})")
    return TransportError(f"error talking to the Coven daemon: {exc!r}")


class PeerCheckedConnector(aiohttp.UnixConnector):
    """A ``UnixConnector`` that checks ``SO_PEERCRED`` on every new connection.

    Checking here (not on the response) covers plain requests and WebSocket
    upgrades alike, before a request byte is written.
    """

    async def connect(self, req: Any, traces: Any, timeout: aiohttp.ClientTimeout) -> Any:
        conn = await super().connect(req, traces, timeout)
        try:
            transport = conn.transport
            sock = transport.get_extra_info("socket") if transport is not None else None
            if sock is None:
                raise TransportError("connection has no socket to check the peer of")
            check_peer(sock)
        except BaseException:
            conn.close()
            raise
        return conn


class AsyncCovenClient:
    """Asyncio client for one daemon; use as ``async with AsyncCovenClient.from_home() as c``.

    Same contract as ``CovenClient`` for the calls it has: the health gate runs
    once before the first dependent call; errors are ``coven.client.errors``.
    """

    def __init__(self, socket_path: Path | str, *, timeout: float | None = 10.0) -> None:
        self.socket_path = Path(socket_path)
        self.timeout = timeout
        self._http: aiohttp.ClientSession | None = None
        self._health: Health | None = None

    @classmethod
    def from_home(
        cls, home: Path | str | None = None, *, timeout: float | None = 10.0
    ) -> AsyncCovenClient:
        home_path = Path(home) if home is not None else default_home()
        return cls(home_path / SOCKET_NAME, timeout=timeout)

    async def __aenter__(self) -> AsyncCovenClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            await http.close()

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            # force_close: the daemon answers one request per connection.
            connector = PeerCheckedConnector(path=str(self.socket_path), force_close=True)
            self._http = aiohttp.ClientSession(
                connector=connector, timeout=aiohttp.ClientTimeout(total=self.timeout)
            )
        return self._http

    async def _send(self, call: calls.Call[T], *, gated: bool = True) -> T:
        if gated:
            await self.handshake()
        check_endpoint(self.socket_path)
        req = call.request
        headers = {"Connection": "close", **req.headers}
        try:
            async with self._session().request(
                req.method, _BASE + req.path, data=req.body or None, headers=headers
            ) as resp:
                body = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _map_aiohttp_error(self.socket_path, exc) from exc
        return call.parse(status, body)

    async def health(self) -> Health:
        return await self._send(calls.health(), gated=False)

    async def handshake(self) -> Health:
        if self._health is None:
            self._health = calls.check_health(await self.health())
        return self._health

    async def launch(
        self,
        project_root: str | os.PathLike[str],
        harness: str,
        prompt: str,
        **options: Unpack[LaunchOptions],
    ) -> SessionRecord:
        return await self._send(calls.launch(launch_body(project_root, harness, prompt, **options)))

    async def get_session(self, session_id: str) -> SessionRecord:
        return await self._send(calls.get_session(session_id))

    async def events(
        self, session_id: str, after_seq: int = 0, limit: int | None = None
    ) -> EventsPage:
        page = await self._send(calls.events(session_id, after_seq, limit))
        calls.check_events_page(page, after_seq)
        return page

    async def send_input(self, session_id: str, data: str) -> None:
        await self._send(calls.send_input(session_id, data))

    async def kill(self, session_id: str) -> None:
        await self._send(calls.kill(session_id))

    async def resize(self, session_id: str, rows: int, cols: int) -> None:
        await self._send(calls.resize(session_id, rows, cols))

    async def search(self, text: str, limit: int | None = None) -> SearchResult:
        """Sessions whose output or title holds every word of ``text``, best hits first."""
        return await self._send(calls.search(text, limit))

    async def prune(self, event_days: int | None = None, dry_run: bool = False) -> PruneResult:
        """Delete (``dry_run``: count) events older than ``event_days`` of finished sessions."""
        return await self._send(calls.prune(event_days, dry_run))

    def attach(
        self,
        session_id: str,
        after_seq: int = 0,
        *,
        replay: str | None = None,
        history: int | None = None,
    ) -> AttachStream:
        """An ``AttachStream`` for the session; connects on ``async with``.

        ``replay="raw"`` asks for the whole output log instead of the current screen
        (the daemon's default for a live session); ``history`` bounds the scrollback
        lines sent with the screen."""
        return AttachStream(self, calls.attach_path(session_id, after_seq, replay, history))

    async def _ws_connect(self, path: str) -> aiohttp.ClientWebSocketResponse:
        await self.handshake()
        check_endpoint(self.socket_path)
        try:
            ws = await self._session().ws_connect(_BASE + path, autoping=True)
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status == 404:
                raise RouteNotFound(404, "not_found", f"attach refused: {exc.message}") from exc
            raise ApiError(
                exc.status, f"http_{exc.status}", f"attach refused: {exc.message}"
            ) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _map_aiohttp_error(self.socket_path, exc) from exc
        return ws


_session_decoder = msgspec.json.Decoder(SessionRecord)


class AttachStream:
    """One attachment to a session's terminal: output out, input and resizes in.

    States: connecting → replaying (after the ``attached`` frame) → live (after
    ``Live``) → closed (``Exit``, ``Overflow``, server close or ``close()``).
    ``async for`` yields ``Output``/``Live``/``Exit``/``Overflow`` and stops when
    closed. Sending before entering or after closing raises ``AttachStateError``.
    ``session`` is the record the server sent when the stream opened.
    """

    def __init__(self, client: AsyncCovenClient, path: str) -> None:
        self._client = client
        self._path = path
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._entered = False
        self.state = AttachState.CONNECTING
        self.session: SessionRecord | None = None

    async def __aenter__(self) -> AttachStream:
        if self._entered:
            raise AttachStateError("an attach stream can be entered only once")
        self._entered = True
        self._ws = await self._client._ws_connect(self._path)
        try:
            first = await self._receive_text()
            if first.get("type") != "attached" or "session" not in first:
                raise ProtocolError(f"attach stream did not start with `attached`: {first!r}")
            self.session = _session_decoder.decode(json.dumps(first["session"]))
        except msgspec.DecodeError as exc:
            await self.close()
            raise ProtocolError(f"bad session record in `attached`: {exc}") from exc
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

    async def _next_message(self) -> AttachMessage | None:
        assert self._ws is not None
        frame = await self._ws.receive()
        if frame.type is aiohttp.WSMsgType.BINARY:
            return Output(frame.data)
        if frame.type is aiohttp.WSMsgType.TEXT:
            return await self._control(self._parse_text(frame.data))
        if frame.type is aiohttp.WSMsgType.ERROR:
            await self.close()
            raise TransportError(f"attach stream failed: {self._ws.exception()!r}")
        await self.close()  # CLOSE / CLOSING / CLOSED
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
    def _parse_text(data: str) -> dict[str, Any]:
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise ProtocolError(f"attach control frame is not JSON: {data[:200]!r}") from exc
        if not isinstance(doc, dict):
            raise ProtocolError(f"attach control frame is not an object: {data[:200]!r}")
        return doc

    async def _receive_text(self) -> dict[str, Any]:
        assert self._ws is not None
        frame = await self._ws.receive()
        if frame.type is not aiohttp.WSMsgType.TEXT:
            raise ProtocolError(f"expected a text frame, got {frame.type.name}")
        return self._parse_text(frame.data)

    def _require_open(self) -> aiohttp.ClientWebSocketResponse:
        if self.state in (AttachState.CONNECTING, AttachState.CLOSED) or self._ws is None:
            raise AttachStateError(f"cannot send on an attach stream that is {self.state.value}")
        return self._ws

    async def send_input(self, data: bytes) -> None:
        """Send raw input bytes to the session's terminal (allowed while replaying or live)."""
        await self._require_open().send_bytes(data)

    async def resize(self, rows: int, cols: int) -> None:
        if rows < 1 or cols < 1:
            raise ValueError(f"terminal size must be positive, got {rows}x{cols}")
        await self._require_open().send_str(
            json.dumps({"type": "resize", "rows": rows, "cols": cols})
        )

    async def close(self) -> None:
        """Detach; the session keeps running. Idempotent."""
        self.state = AttachState.CLOSED
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
