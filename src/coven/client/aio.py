"""``AsyncCovenClient`` over aiohttp's ``UnixConnector``.

This is the only client module that imports aiohttp; ``import coven.client``
does not load it until ``AsyncCovenClient`` is first used. Its ``attach()``
answers an ``AttachStream`` (``coven.client.attach_stream``), which needs no aiohttp.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, Unpack

import aiohttp

from coven.client import calls
from coven.client.attach_stream import AttachStream
from coven.client.calls import Health
from coven.client.errors import (
    CovenClientError,
    DaemonNotRunning,
    TransportError,
)
from coven.client.safety import check_endpoint, check_peer
from coven.client.sync import LaunchOptions, default_home, launch_body
from coven.schema.home import SOCKET_NAME
from coven.schema.search import PruneResult, SearchResult
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
        path = calls.attach_path(session_id, after_seq, replay, history)
        return AttachStream(self.socket_path, path, gate=self.handshake, timeout=self.timeout)


__all__ = ["AsyncCovenClient", "AttachStream", "PeerCheckedConnector"]
