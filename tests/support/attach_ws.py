"""A raw WebSocket attach client for tests: output bytes and control frames, in order."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp

from tests.support.daemon import Daemon


def unix_http(daemon: Daemon) -> aiohttp.ClientSession:
    """An HTTP session to the daemon's socket (``http://coven/...`` URLs)."""
    return aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=str(daemon.socket)))


class AttachClient:
    """One attach stream: ``data`` is every output byte, ``control`` every text frame, and
    ``before_live`` the output that arrived before the ``live`` frame."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.data = bytearray()
        self.control: list[dict[str, Any]] = []
        self.before_live = b""

    async def read_until(self, predicate: Any, timeout: float = 15.0) -> None:
        """Read frames until ``predicate(self)`` holds or the stream ends."""
        async with asyncio.timeout(timeout):
            while not predicate(self):
                msg = await self.ws.receive()
                if msg.type == aiohttp.WSMsgType.BINARY:
                    self.data += msg.data
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    frame = json.loads(msg.data)
                    if frame["type"] == "live":
                        self.before_live = bytes(self.data)
                    self.control.append(frame)
                else:
                    return

    def types(self) -> list[str]:
        return [c["type"] for c in self.control]
