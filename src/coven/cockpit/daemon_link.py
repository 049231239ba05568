"""The cockpit's one connection point to the daemon: its Unix socket.

Every request opens a fresh connection (the daemon answers one request per
connection) through the client library's peer-checked connector, so the home
and socket are checked before connecting and the peer's uid after, exactly as
for the ``coven`` command. A daemon that is down becomes ``DaemonDown`` with a
sentence for the user, never a stack trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aiohttp

from coven.client import CovenClientError
from coven.client.aio import PeerCheckedConnector
from coven.client.safety import check_endpoint

_BASE = "http://coven"
MAX_RESPONSE = 64 * 1024 * 1024


class DaemonDown(Exception):
    """The daemon could not be reached (or failed the same-user checks); ``str`` says why."""


@dataclass(frozen=True)
class Upstream:
    """The daemon's answer as the browser should get it."""

    status: int
    content_type: str
    body: bytes


class DaemonLink:
    """HTTP and WebSocket calls to the daemon behind ``socket_path``."""

    def __init__(self, socket_path: Path, *, timeout: float = 30.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            connector = PeerCheckedConnector(path=str(self.socket_path), force_close=True)
            self._http = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self._http

    def _check(self) -> None:
        try:
            check_endpoint(self.socket_path)
        except CovenClientError as exc:
            raise DaemonDown(_sentence(exc)) from exc

    async def request(self, method: str, target: str, body: bytes | None = None) -> Upstream:
        """Send ``method target`` (path and query) with an optional JSON body."""
        self._check()
        headers = {"Connection": "close"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            async with self._session().request(
                method,
                _BASE + target,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                data = await _read_all(response)
                return Upstream(
                    response.status,
                    response.headers.get("Content-Type", "application/json"),
                    data,
                )
        except (aiohttp.ClientError, TimeoutError, OSError, CovenClientError) as exc:
            raise DaemonDown(_sentence(exc)) from exc

    async def websocket(self, target: str) -> aiohttp.ClientWebSocketResponse:
        """Open the daemon's WebSocket at ``target``; refusals raise ``Refused``."""
        self._check()
        try:
            return await self._session().ws_connect(
                _BASE + target, autoping=True, max_msg_size=4 * 1024 * 1024
            )
        except aiohttp.WSServerHandshakeError as exc:
            raise Refused(exc.status, exc.message) from exc
        except (aiohttp.ClientError, TimeoutError, OSError, CovenClientError) as exc:
            raise DaemonDown(_sentence(exc)) from exc

    async def close(self) -> None:
        if self._http is not None:
            http, self._http = self._http, None
            await http.close()


async def _read_all(response: aiohttp.ClientResponse) -> bytes:
    """The whole body, up to ``MAX_RESPONSE`` bytes (``content.read(n)`` may return less)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_any():
        size += len(chunk)
        if size > MAX_RESPONSE:
            raise DaemonDown("the daemon's answer is larger than the cockpit passes on")
        parts.append(chunk)
    return b"".join(parts)


class Refused(Exception):
    """The daemon answered a WebSocket upgrade with an HTTP error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _sentence(exc: BaseException) -> str:
    if isinstance(exc, CovenClientError):
        return str(exc)
    if isinstance(exc, aiohttp.ClientConnectorError | FileNotFoundError | ConnectionRefusedError):
        return "the Coven daemon is not running; start it with `coven daemon start`"
    if isinstance(exc, TimeoutError):
        return "the Coven daemon did not answer in time"
    return f"could not reach the Coven daemon: {exc.__class__.__name__}"
