"""``coven attach``'s first screen from a blocking socket, and the hand-over to asyncio.

The server is a real Unix socket in a private home, played by a thread with
hand-built frames, so the seam can be cut anywhere: inside a frame, between the
screen and ``live``, at the budget. What the prelude shows plus what the adopted
stream yields must be exactly the stream the server sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coven.cli import attach_prelude
from coven.cli.attach_prelude import Painted, attach_path, paint
from coven.cli.terminal import ScreenState
from coven.client import AttachState, Exit, Live, Output
from coven.client.attach_stream import AttachStream
from coven.client.calls import attach_path as client_attach_path
from coven.client.ws_frames import Opcode, accept_key, apply_mask
from tests.support.imports import modules_after_importing
from tests.unit.test_client import record
from tests.unit.test_websocket_client import frame

SID = "5e55e55e-0000-4000-8000-000000000001"


def text(doc: dict[str, Any]) -> bytes:
    return frame(Opcode.TEXT, json.dumps(doc).encode())


ATTACHED = text({"type": "attached", "session": record(SID)})


class Server:
    """Accepts one connection, answers the upgrade, then plays ``script(conn)``."""

    def __init__(self, home: Path, script: Callable[[socket.socket], None], status: int = 101):
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(home / "coven.sock"))
        os.chmod(home / "coven.sock", 0o600)
        self.listener.listen(1)
        self.request = b""
        self.received: list[tuple[int, bytes]] = []
        self._script = script
        self._status = status
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            conn.settimeout(5)
            while b"\r\n\r\n" not in self.request:
                self.request += conn.recv(4096)
            head = self.request.decode("latin-1")
            key = head.split("Sec-WebSocket-Key: ", 1)[1].split("\r\n", 1)[0]
            if self._status != 101:
                body = b'{"error": {"code": "session_not_found", "message": "gone"}}'
                conn.sendall(
                    b"HTTP/1.1 %d Not Found\r\nContent-Length: %d\r\n\r\n%s"
                    % (self._status, len(body), body)
                )
                return
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: upgrade\r\nSec-WebSocket-Accept: "
                + accept_key(key).encode()
                + b"\r\n\r\n"
            )
            self._script(conn)
            self._read_client_frames(conn)

    def _read_client_frames(self, conn: socket.socket) -> None:
        data = b""
        try:
            while chunk := conn.recv(65536):
                data += chunk
        except OSError:
            pass
        while len(data) >= 6:
            size = data[1] & 0x7F
            mask, payload = data[2:6], data[6 : 6 + size]
            self.received.append((data[0] & 0x0F, apply_mask(payload, mask)))
            data = data[6 + size :]

    def join(self) -> None:
        self._thread.join(timeout=10)
        self.listener.close()


def _paint(home: Path, headers: list[dict[str, Any]]) -> tuple[Painted | None, bytes]:
    """Run the prelude with output to a pipe; (its result, what it wrote)."""
    read_end, write_end = os.pipe()
    try:
        painted = paint(
            str(home),
            SID,
            replay="screen",
            history=None,
            header=headers.append,
            screen=ScreenState(),
            out_fd=write_end,
        )
    finally:
        os.close(write_end)
    with os.fdopen(read_end, "rb") as shown:
        return painted, shown.read()


async def _rest(painted: Painted, send: bytes | None = None) -> list[object]:
    """Adopt the painted connection; every message until the stream ends."""
    stream = await AttachStream.adopt(painted.sock, painted.pending, painted.session)
    async with stream:
        assert stream.state is AttachState.REPLAYING
        assert stream.session is not None and stream.session.id == SID
        if send is not None:
            await stream.send_input(send)
        return [message async for message in stream]


@pytest.mark.parametrize("replay", ["screen", "raw"])
@pytest.mark.parametrize("history", [None, 0, 250])
def test_the_path_is_the_clients_own(replay: str, history: int | None) -> None:
    assert attach_path(SID, replay=replay, history=history) == client_attach_path(
        SID, 0, replay, history
    )


async def test_the_screen_is_shown_and_the_stream_goes_on_from_the_seam(home: Path) -> None:
    def script(conn: socket.socket) -> None:
        conn.sendall(
            ATTACHED
            + frame(Opcode.BINARY, b"screen one ")
            + frame(Opcode.BINARY, b"screen two")
            + text({"type": "live", "seq": 7})
            + frame(Opcode.BINARY, b"live output")
        )
        time.sleep(0.3)
        conn.sendall(text({"type": "exit", "status": "completed", "exitCode": 0}))
        conn.sendall(frame(Opcode.CLOSE, b"\x03\xe8"))

    server = Server(home, script)
    headers: list[dict[str, Any]] = []
    painted, shown = await asyncio.to_thread(_paint, home, headers)
    assert painted is not None
    assert [h["id"] for h in headers] == [SID]
    assert shown == b"screen one screen two"
    assert painted.delivered == len(shown)
    assert "GET " + attach_path(SID, replay="screen", history=None) in server.request.decode()
    rest = await _rest(painted, send=b"typed after the hand-over")
    assert rest == [Live(7), Output(b"live output"), Exit("completed", 0)]
    await asyncio.to_thread(server.join)  # the loop must run to close our end
    assert (Opcode.BINARY, b"typed after the hand-over") in server.received


async def test_a_frame_cut_by_the_wait_is_finished_by_the_attachment(home: Path) -> None:
    whole = frame(Opcode.BINARY, b"x" * 300)

    def script(conn: socket.socket) -> None:
        conn.sendall(ATTACHED + frame(Opcode.BINARY, b"first") + whole[:100])
        time.sleep(attach_prelude.SCREEN_WAIT * 4)
        conn.sendall(whole[100:] + text({"type": "live", "seq": 1}))
        conn.sendall(frame(Opcode.CLOSE, b"\x03\xe8"))

    server = Server(home, script)
    painted, shown = await asyncio.to_thread(_paint, home, [])
    assert painted is not None and shown == b"first"
    assert painted.pending == whole[:100]
    assert await _rest(painted) == [Output(b"x" * 300), Live(1)]
    await asyncio.to_thread(server.join)  # the loop must run to close our end


async def test_a_long_replay_stops_at_the_budget_and_goes_on(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(attach_prelude, "BUDGET", 250)
    chunks = [bytes([65 + i]) * 100 for i in range(6)]

    def script(conn: socket.socket) -> None:
        conn.sendall(ATTACHED + b"".join(frame(Opcode.BINARY, c) for c in chunks))
        conn.sendall(text({"type": "exit", "status": "failed", "exitCode": 3}))
        conn.sendall(frame(Opcode.CLOSE, b"\x03\xe8"))

    server = Server(home, script)
    painted, shown = await asyncio.to_thread(_paint, home, [])
    assert painted is not None and shown == b"".join(chunks[:3])
    rest = await _rest(painted)
    assert rest == [*(Output(c) for c in chunks[3:]), Exit("failed", 3)]
    await asyncio.to_thread(server.join)  # the loop must run to close our end


async def test_replayed_terminal_queries_are_not_shown(home: Path) -> None:
    def script(conn: socket.socket) -> None:
        conn.sendall(ATTACHED + frame(Opcode.BINARY, b"before\x1b[6nafter\x1b["))
        conn.sendall(text({"type": "live", "seq": 2}) + frame(Opcode.CLOSE, b"\x03\xe8"))

    server = Server(home, script)
    painted, shown = await asyncio.to_thread(_paint, home, [])
    assert painted is not None
    assert shown == b"beforeafter"  # the query is gone; a cut-off sequence is held back
    assert painted.queries.flush() == b"\x1b["
    await _rest(painted)
    await asyncio.to_thread(server.join)


async def test_a_refused_upgrade_shows_nothing_and_leaves_it_to_the_attachment(
    home: Path,
) -> None:
    server = Server(home, lambda conn: None, status=404)
    headers: list[dict[str, Any]] = []
    painted, shown = await asyncio.to_thread(_paint, home, headers)
    assert (painted, shown, headers) == (None, b"", [])
    await asyncio.to_thread(server.join)  # the loop must run to close our end


def test_no_daemon_shows_nothing(home: Path) -> None:
    assert _paint(home, []) == (None, b"")


def test_the_first_screen_loads_no_heavy_module() -> None:
    # What runs before the screen is shown: typing, dataclasses and pathlib alone cost
    # it 26 ms on the development machine, asyncio 52 ms (a list, not a time: see
    # tests/support/imports.py).
    loaded = modules_after_importing(
        "coven.cli.attach_fast",
        "coven.cli.attach_flow",
        "coven.cli.attach_prelude",
        "coven.cli.attach_words",
        "coven.cli.detach_keys",
    )
    heavy = {"typing", "dataclasses", "pathlib", "asyncio", "msgspec", "click", "inspect"}
    assert loaded & heavy == set()
    assert {m for m in loaded if m.startswith("coven.schema")} == set()
