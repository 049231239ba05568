"""Redaction of stored output and titles; the WebSocket attach and NDJSON follow streams."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.helpers import shared_daemon
from tests.support.attach_ws import AttachClient, unix_http
from tests.support.daemon import Daemon, raw_request, running_daemon

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fakes"))
from fake_harness import flood_chunks

OPENAI = "sk-proj" + "Abcdefghijklmnopqrstuvwx0123"
GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlLXBhcnQtb2YtdGhlLWp3dA"
PASSWORD = "hunter2-very-secret"
PEM_BODY = "MIIEowIBAAKCAQEAsecretkeymaterialline0123456789"
SECRETS = [OPENAI, GITHUB, JWT, PASSWORD, PEM_BODY]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: Any) -> Iterator[Daemon]:
    with shared_daemon(tmp_path_factory, "streams") as d:
        yield d


def _send(daemon: Daemon, sid: str, data: str) -> None:
    reply = daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": data})
    assert reply.status == 202, reply.body


def _stored_text(daemon: Daemon, sid: str) -> str:
    return "".join(e["payload_json"] for e in daemon.events(sid))


def test_credentials_in_output_are_stored_redacted(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=echo")["id"]
    daemon.wait_output(sid, "ready")
    _send(daemon, sid, f"openai {OPENAI}\r")
    _send(daemon, sid, f"github {GITHUB}\r")
    _send(daemon, sid, f"jwt {JWT}\r")
    _send(daemon, sid, f"password={PASSWORD}\r")
    # One write, so the input event holds the whole block (input events are redacted per event).
    _send(
        daemon, sid, f"-----BEGIN RSA PRIVATE KEY-----\r{PEM_BODY}\r-----END RSA PRIVATE KEY-----\r"
    )
    _send(daemon, sid, "done\r")
    text = daemon.wait_output(sid, "echo: done")
    assert "echo: openai [REDACTED]" in text
    assert "echo: github [REDACTED]" in text
    assert "echo: jwt [REDACTED]" in text
    stored = _stored_text(daemon, sid)
    for secret in SECRETS:
        assert secret not in stored, secret
    assert "[REDACTED]" in stored
    daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})


def test_secret_split_across_two_writes_is_stored_redacted(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=echo")["id"]
    daemon.wait_output(sid, "ready")
    half = len(OPENAI) // 2
    # The PTY echoes each half as it is typed: two separate reads, 0.5 s apart.
    _send(daemon, sid, "key " + OPENAI[:half])
    time.sleep(0.5)
    _send(daemon, sid, OPENAI[half:] + " end\r")
    daemon.wait_output(sid, "end\r\n")
    outputs = "".join(
        json.loads(e["payload_json"])["data"] for e in daemon.events(sid) if e["kind"] == "output"
    )
    assert OPENAI[:half] not in outputs
    assert "key [REDACTED] end" in outputs
    daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})


def test_titles_are_stored_redacted(daemon: Daemon) -> None:
    record = daemon.launch("--fake-mode=exit", title=f"deploy with {GITHUB}")
    assert GITHUB not in record["title"] and "[REDACTED]" in record["title"]
    stored = daemon.call("GET", f"/api/v1/sessions/{record['id']}").json()
    assert stored["title"] == record["title"]
    untitled = daemon.launch(f"--fake-mode=exit use {OPENAI}")
    assert OPENAI not in untitled["title"]


# -- attach -----------------------------------------------------------------------------------
async def _attach(http: aiohttp.ClientSession, sid: str, after: int = 0) -> AttachClient:
    # These tests are about the raw replay's seam; the screen view has its own tests.
    url = f"http://coven/api/v1/sessions/{sid}/attach?afterSeq={after}&replay=raw"
    return AttachClient(ws=await http.ws_connect(url))


async def test_attach_shows_the_real_text_while_the_store_is_redacted(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=echo")["id"]
    daemon.wait_output(sid, "ready")
    async with unix_http(daemon) as http:
        client = await _attach(http, sid)
        await client.read_until(lambda c: "live" in c.types())
        assert client.control[0]["type"] == "attached"
        assert client.control[0]["session"]["id"] == sid
        await client.ws.send_bytes(f"tok {GITHUB}\r".encode())
        await client.read_until(lambda c: f"echo: tok {GITHUB}".encode() in c.data)
        await client.ws.close()
    daemon.wait_output(sid, "echo: tok [REDACTED]")
    assert GITHUB not in _stored_text(daemon, sid)
    daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})


async def test_attach_while_input_streams_has_no_gap_and_no_duplicate(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=echo")["id"]
    daemon.wait_output(sid, "ready")
    async with unix_http(daemon) as http:
        writer = await _attach(http, sid)
        await writer.read_until(lambda c: "live" in c.types())

        async def type_lines() -> None:
            for n in range(300):
                await writer.ws.send_str(json.dumps({"type": "input", "data": f"n{n:04d}\r"}))
                if n % 50 == 0:
                    await asyncio.sleep(0.01)

        typing = asyncio.create_task(type_lines())
        await asyncio.sleep(0.05)
        late = await _attach(http, sid)  # joins mid-stream: replay then live
        await typing
        await late.read_until(lambda c: b"echo: n0299\r\n" in c.data)
        await writer.read_until(lambda c: b"echo: n0299\r\n" in c.data)
        stored = daemon.wait_output(sid, "echo: n0299").encode()
        start = late.data.find(b"ready\r\n")
        assert (
            bytes(late.data[start:])
            == stored[stored.find(b"ready\r\n") :][: len(late.data) - start]
        )
        for n in range(300):
            assert late.data.count(f"echo: n{n:04d}\r\n".encode()) == 1, n
        await late.ws.close()
        await writer.ws.close()
    daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})


async def test_two_clients_see_the_same_live_output_and_the_exit_frame(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=echo")["id"]
    daemon.wait_output(sid, "ready")
    async with unix_http(daemon) as http:
        first, second = await _attach(http, sid), await _attach(http, sid)
        for client in (first, second):
            await client.read_until(lambda c: "live" in c.types())
        await first.ws.send_bytes(b"shared\r")
        for client in (first, second):
            await client.read_until(lambda c: b"echo: shared\r\n" in c.data)
        await second.ws.send_str(json.dumps({"type": "input", "data": "exit\r"}))
        for client in (first, second):
            await client.read_until(lambda c: "exit" in c.types())
            exit_frame = client.control[-1]
            assert exit_frame == {"type": "exit", "status": "completed", "exitCode": 0}
            closing = await client.ws.receive()
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert daemon.wait_status(sid, {"completed"})["status"] == "completed"


async def test_resize_over_the_socket_reaches_the_harness(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=winch")["id"]
    daemon.wait_output(sid, "ready")
    async with unix_http(daemon) as http:
        client = await _attach(http, sid)
        await client.read_until(lambda c: "live" in c.types())
        await client.ws.send_str(json.dumps({"type": "resize", "rows": 50, "cols": 160}))
        await client.read_until(lambda c: b"winch: 50 160" in c.data)
        await client.ws.close()
    daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})


async def test_attach_to_a_finished_session_replays_then_exits(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=exit")["id"]
    daemon.wait_status(sid, {"completed"})
    async with unix_http(daemon) as http:
        client = await _attach(http, sid)
        await client.read_until(lambda c: "exit" in c.types())
        assert b"ready\r\n" in client.data
        assert client.types() == ["attached", "live", "exit"]


async def test_attach_to_an_unknown_session_is_404_before_upgrade(daemon: Daemon) -> None:
    async with unix_http(daemon) as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
            await http.ws_connect("http://coven/api/v1/sessions/nope/attach")
        assert caught.value.status == 404


@pytest.mark.slow
async def test_attach_during_a_flood_has_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    total = 8 * 1024 * 1024
    expected = b"".join(flood_chunks(total)).replace(b"\n", b"\r\n")
    with running_daemon(tmp_path, extra_env={"FAKE_BYTES": str(total)}) as daemon:
        sid = daemon.launch("--fake-mode=flood")["id"]
        daemon.wait_output(sid, "ready")
        await asyncio.sleep(0.2)  # let part of the flood reach the store first
        async with unix_http(daemon) as http:
            client = await _attach(http, sid)
            await client.read_until(lambda c: "exit" in c.types(), timeout=60)
        assert "overflow" not in client.types()
        flood = bytes(client.data).partition(b"ready\r\n")[2]
        assert len(flood) == len(expected)
        assert flood == expected


def test_follow_streams_ndjson_and_ends_after_exit(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=echo")["id"]
    daemon.wait_output(sid, "ready")

    def exit_soon() -> None:
        time.sleep(0.3)
        _send(daemon, sid, "exit\r")

    import threading

    threading.Thread(target=exit_soon, daemon=True).start()
    request = f"GET /api/v1/sessions/{sid}/follow HTTP/1.1\r\nHost: coven\r\n\r\n".encode()
    raw = raw_request(daemon.socket, request, timeout=15)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b" 200 " in head.split(b"\r\n")[0]
    assert b"chunked" in head.lower()
    lines = [json.loads(line) for line in _dechunk(body).splitlines() if line]
    assert lines[-1]["kind"] == "exit"
    assert [e["seq"] for e in lines] == [e["seq"] for e in daemon.events(sid)]


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return bytes(out)


async def test_a_resize_as_the_session_ends_does_not_cut_the_attach_stream(
    tmp_path: Path,
) -> None:
    """Clients that resize while a session ends still get all its output and the exit frame.

    The PTY closes (EOF) a moment before the session is finished, while its last
    output is still being stored. A resize in that moment used to fail (EBADF),
    which ended the attach stream: the rest of the output and the exit frame
    never arrived (the cockpit's panes showed "Disconnected" mid-output).
    """
    sessions = 8
    with running_daemon(tmp_path, extra_env={"FAKE_BYTES": str(1024 * 1024)}) as daemon:
        ids = [daemon.launch("--fake-mode=flood-after-enter")["id"] for _ in range(sessions)]
        for sid in ids:
            daemon.wait_output(sid, "ready")

        async def watch(http: aiohttp.ClientSession, sid: str) -> AttachClient:
            client = await _attach(http, sid)

            async def resize() -> None:
                rows = 20
                while True:
                    rows = 20 + (rows + 1) % 5
                    await client.ws.send_str(
                        json.dumps({"type": "resize", "rows": rows, "cols": 80})
                    )
                    await asyncio.sleep(0.002)

            resizing = asyncio.ensure_future(resize())
            try:
                await client.read_until(lambda c: "exit" in c.types(), timeout=60)
            finally:
                resizing.cancel()
            return client

        async with unix_http(daemon) as http:
            watching = [asyncio.ensure_future(watch(http, sid)) for sid in ids]
            await asyncio.sleep(0.3)
            for sid in ids:
                _send(daemon, sid, "\r")
            clients = await asyncio.gather(*watching)
        for sid, client in zip(ids, clients, strict=True):
            assert "exit" in client.types(), (sid, client.types(), len(client.data))
            assert bytes(client.data) == daemon.output(sid).encode()
