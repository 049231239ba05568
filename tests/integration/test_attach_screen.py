"""Attach shows a live session's current screen, then live output stitched to it."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from coven.screen import ScreenModel
from tests.integration.helpers import shared_daemon
from tests.support.attach_ws import AttachClient, unix_http
from tests.support.daemon import Daemon

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fakes"))
from fake_harness import SCREEN_QUERIES

ROWS, COLS = 30, 100
QUERIES = [b"\x1b[6n", b"\x1b[c", b"\x1b[>0q"]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: Any) -> Iterator[Daemon]:
    with shared_daemon(tmp_path_factory, "attach-screen") as d:
        yield d


async def _attach(http: aiohttp.ClientSession, sid: str, query: str = "") -> AttachClient:
    ws = await http.ws_connect(f"http://coven/api/v1/sessions/{sid}/attach{query}")
    return AttachClient(ws)


def _screen(data: bytes) -> str:
    model = ScreenModel(COLS, ROWS)
    try:
        model.feed(data)
        return model.text()
    finally:
        model.close()


def _launch_screen(daemon: Daemon) -> str:
    sid: str = daemon.launch("--fake-mode=screen", rows=ROWS, cols=COLS)["id"]
    daemon.wait_output(sid, "status: ready")
    return sid


def _stored_output(daemon: Daemon, sid: str) -> bytes:
    events = daemon.events(sid)
    return "".join(
        json.loads(e["payload_json"])["data"] for e in events if e["kind"] == "output"
    ).encode()


async def test_attach_shows_the_current_screen_without_terminal_queries(daemon: Daemon) -> None:
    sid = _launch_screen(daemon)
    stored = _stored_output(daemon, sid)
    assert SCREEN_QUERIES in stored  # the harness really asked its terminal
    async with unix_http(daemon) as http:
        client = await _attach(http, sid)
        await client.read_until(lambda c: "live" in c.types())
        shown = client.before_live
        for query in QUERIES:
            assert query not in shown, query
        assert b"\x1b[?1049h" in shown  # the terminal is put on the alternate screen
        lines = _screen(shown).split("\n")
        assert lines[0] == "FAKE SCREEN"
        assert lines[2] == "status: ready"
        assert _screen(shown) == _screen(stored)
        raw = await _attach(http, sid, "?replay=raw")
        await raw.read_until(lambda c: "live" in c.types())
        assert raw.before_live == stored  # the raw replay is still there, queries and all
        await raw.ws.close()
        await client.ws.close()
    daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})


async def test_input_after_attach_reaches_the_harness_and_output_has_no_gap(
    daemon: Daemon,
) -> None:
    sid = _launch_screen(daemon)
    words = [f"n{n:03d}" for n in range(150)]
    async with unix_http(daemon) as http:
        writer = await _attach(http, sid)
        await writer.read_until(lambda c: "live" in c.types())

        async def type_words() -> None:
            for n, word in enumerate(words):
                await writer.ws.send_bytes(word.encode() + b"\r")
                if n % 10 == 0:
                    await asyncio.sleep(0.01)

        typing = asyncio.create_task(type_words())
        await asyncio.sleep(0.05)
        late = await _attach(http, sid)  # joins mid-stream: a screen, then live
        await typing
        done = b"status: 150 lines"
        await late.read_until(lambda c: done in c.data)
        await writer.read_until(lambda c: done in c.data)
        daemon.wait_output(sid, "status: 150 lines")
        expected = _screen(_stored_output(daemon, sid))
        for client in (writer, late):
            screen = _screen(bytes(client.data))
            assert screen == expected
            # Rows padded back to their width: the words wrap from one row to the next.
            flowing = "".join(row.ljust(COLS) for row in screen.split("\n")[5:])
            for word in words:  # every word once: nothing lost, nothing shown twice
                assert flowing.count(word + " ") == 1, word
            for query in QUERIES:
                assert query not in client.before_live
        await late.ws.close()
        await writer.ws.close()
    daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})


async def test_history_and_replay_parameters_are_checked(daemon: Daemon) -> None:
    sid = _launch_screen(daemon)
    for query in ("?replay=all", "?history=-1", "?history=lots"):
        reply = daemon.call("GET", f"/api/v1/sessions/{sid}/attach{query}")
        assert reply.status == 400, (query, reply.body)
        assert reply.json()["error"]["code"] == "invalid_request"
    daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})


async def test_a_finished_session_is_replayed_raw(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=exit")["id"]
    daemon.wait_status(sid, {"completed"})
    async with unix_http(daemon) as http:
        client = await _attach(http, sid)
        await client.read_until(lambda c: "exit" in c.types())
        assert bytes(client.data) == _stored_output(daemon, sid)
        assert client.types() == ["attached", "live", "exit"]


def test_the_screen_route_returns_what_the_harness_drew(daemon: Daemon) -> None:
    sid = _launch_screen(daemon)
    reply = daemon.call("GET", f"/api/v1/sessions/{sid}/screen")
    assert reply.status == 200, reply.body
    view = reply.json()
    assert (view["cols"], view["rows"], view["ansi"], view["exact"]) == (COLS, ROWS, False, True)
    assert view["text"] == _screen(_stored_output(daemon, sid))
    assert view["text"].split("\n")[0] == "FAKE SCREEN"
    coloured = daemon.call("GET", f"/api/v1/sessions/{sid}/screen?ansi=true").json()
    assert "\x1b[" in coloured["text"] and "FAKE SCREEN" in coloured["text"]
    assert daemon.call("GET", f"/api/v1/sessions/{sid}/screen?ansi=yes").status == 400
    assert daemon.call("GET", "/api/v1/sessions/nope/screen").status == 404
    daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})
    daemon.wait_status(sid, {"killed"})
    # Killed on the alternate screen: its final screen is still the frame it drew.
    reply = daemon.call("GET", f"/api/v1/sessions/{sid}/screen")
    assert reply.status == 200, reply.body
    final = reply.json()
    assert (final["live"], final["cols"], final["rows"]) == (False, COLS, ROWS)
    assert final["text"] == view["text"]


def _drawn(daemon: Daemon, lines: int = 0, **size: int) -> str:
    environment = {**daemon.env, "FAKE_DRAWN_LINES": str(lines)}
    sid: str = daemon.launch("--fake-mode=drawn", environment=environment, **size)["id"]
    daemon.wait_status(sid, {"completed"})
    return sid


def test_an_ended_sessions_screen_is_rebuilt_at_its_last_size(daemon: Daemon) -> None:
    sid = _drawn(daemon, rows=ROWS, cols=COLS)
    terminal = [
        json.loads(e["payload_json"]) for e in daemon.events(sid) if e["kind"] == "metadata"
    ]
    assert terminal == [{"terminal": {"cols": COLS, "rows": ROWS}}]
    assert daemon.events(sid)[-1]["kind"] == "exit"  # recorded before the exit, not after
    view = daemon.call("GET", f"/api/v1/sessions/{sid}/screen").json()
    assert (view["live"], view["exact"], view["cols"], view["rows"]) == (False, True, COLS, ROWS)
    lines = view["text"].split("\n")
    assert lines[0] == "Welcome to Fake Code"  # cursor moves, read as the spaces they show
    assert lines[3] == "  boxed"
    assert lines[4] == "far right".rjust(COLS)  # drawn for 100 columns, shown at 100
    assert "\x1b" not in view["text"]


def test_a_default_size_session_records_no_size_and_is_shown_at_80x24(daemon: Daemon) -> None:
    sid = _drawn(daemon)
    assert not [e for e in daemon.events(sid) if e["kind"] == "metadata"]
    view = daemon.call("GET", f"/api/v1/sessions/{sid}/screen").json()
    assert (view["cols"], view["rows"]) == (80, 24)
    assert view["text"].split("\n")[4] == "far right".rjust(80)


def test_history_brings_the_lines_that_scrolled_away(daemon: Daemon) -> None:
    sid = _drawn(daemon, lines=60)
    screen_only = daemon.call("GET", f"/api/v1/sessions/{sid}/screen").json()["text"]
    assert "line 0\n" not in screen_only and "line 59" in screen_only
    full = daemon.call("GET", f"/api/v1/sessions/{sid}/screen?history=1000").json()["text"]
    lines = full.split("\n")
    assert lines[0] == "Welcome to Fake Code"
    assert [line for line in lines if line.startswith("line ")] == [f"line {n}" for n in range(60)]
    for bad in ("-1", "10001", "many"):
        reply = daemon.call("GET", f"/api/v1/sessions/{sid}/screen?history={bad}")
        assert (reply.status, reply.json()["error"]["code"]) == (400, "invalid_request"), bad
