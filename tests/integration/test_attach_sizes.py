"""Several terminals attached to one session: the session takes the smallest size."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.integration.helpers import shared_daemon
from tests.support.attach_ws import unix_http
from tests.support.daemon import Daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: Any) -> Iterator[Daemon]:
    with shared_daemon(tmp_path_factory, "attach-sizes") as d:
        yield d


def _winches(daemon: Daemon, sid: str) -> list[str]:
    return [line for line in daemon.output(sid).splitlines() if line.startswith("winch: ")]


async def _until_winches(daemon: Daemon, sid: str, count: int) -> list[str]:
    deadline = time.monotonic() + 10
    while len(winches := _winches(daemon, sid)) < count:
        assert time.monotonic() < deadline, winches
        await asyncio.sleep(0.05)
    return winches


async def _resize(ws: aiohttp.ClientWebSocketResponse, rows: int, cols: int) -> None:
    await ws.send_str(json.dumps({"type": "resize", "rows": rows, "cols": cols}))


async def test_the_smallest_attached_terminal_sets_the_size_and_the_rest_grow_back(
    daemon: Daemon,
) -> None:
    sid = daemon.launch("--fake-mode=winch", rows=40, cols=120)["id"]
    daemon.wait_output(sid, "ready")
    url = f"http://coven/api/v1/sessions/{sid}/attach?replay=raw"
    async with unix_http(daemon) as http:
        wide = await http.ws_connect(url)
        await _resize(wide, 30, 100)
        assert (await _until_winches(daemon, sid, 1))[-1] == "winch: 30 100"
        narrow = await http.ws_connect(url)
        await _resize(narrow, 35, 60)  # fewer columns, more rows: each taken separately
        assert (await _until_winches(daemon, sid, 2))[-1] == "winch: 30 60"
        await _resize(wide, 20, 100)
        assert (await _until_winches(daemon, sid, 3))[-1] == "winch: 20 60"
        await narrow.close()  # the narrow one leaves: the session grows back
        assert (await _until_winches(daemon, sid, 4))[-1] == "winch: 20 100"
        await wide.close()  # the last one leaves: the size stays
        await asyncio.sleep(0.3)
        assert len(_winches(daemon, sid)) == 4
    screen = daemon.call("GET", f"/api/v1/sessions/{sid}/screen").json()
    assert (screen["rows"], screen["cols"]) == (20, 100)
    daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})
