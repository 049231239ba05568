"""Framing of the runtime's attach and follow streams (additive to ``coven.daemon.v1``).

Attach is a WebSocket, one per client, several clients per session:

* server → client text ``{"type":"attached","session":{…}}`` first;
* binary frames: terminal output — the current screen of a live session (query
  ``replay=screen``, the default, with ``history=N`` scrollback lines) or the raw
  replay (``replay=raw``, and always for finished sessions or ``afterSeq`` > 0),
  then live output, joined at an exact seam by the runtime's ``AttachService``;
* text ``{"type":"live","seq":N}`` when the replay is done;
* text ``{"type":"exit","status":…,"exitCode":…}`` then close, when the session ends;
* text ``{"type":"overflow","resumeAfterSeq":N}`` then close (1013), when the client
  reads too slowly to keep up (its buffer is bounded, never grown without limit);
* client → server binary frames are input bytes; text ``{"type":"resize","rows","cols"}``
  resizes; text ``{"type":"input","data":"…"}`` is input too.

Follow is chunked NDJSON: one event record per line, ending after ``exit``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import msgspec
from aiohttp import WSMsgType, web
from aiohttp.web_request import BaseRequest

from coven.errors import InvalidRequest
from coven.runtime import Runtime
from coven.runtime.attach import (
    DEFAULT_HISTORY_LINES,
    AttachItem,
    AttachView,
    Exit,
    Live,
    Output,
    Overflow,
    ReplayChunk,
)
from coven.schema.attach import (
    AttachedFrame,
    ClientFrame,
    ExitFrame,
    LiveFrame,
    OverflowFrame,
    ResizeFrame,
)
from coven.schema.vocabulary import MAX_DIMENSION

MAX_CLIENT_MESSAGE = 1024 * 1024
_frames = msgspec.json.Encoder()
_client_frame = msgspec.json.Decoder(ClientFrame)


async def attach(
    runtime: Runtime,
    request: BaseRequest,
    session_id: str,
    after: int,
    view: AttachView = AttachView.SCREEN,
    history: int = DEFAULT_HISTORY_LINES,
) -> web.StreamResponse:
    await runtime.queries.require(session_id)  # 404 before the upgrade
    ws = web.WebSocketResponse(max_msg_size=MAX_CLIENT_MESSAGE, autoping=True)
    if not ws.can_prepare(request).ok:
        raise InvalidRequest(
            "attach is a WebSocket route; send an Upgrade: websocket request",
            {"sessionId": session_id},
        )
    await ws.prepare(request)
    attachment = await runtime.attach.open(session_id, after, view, history)
    items = attachment.items()
    reader = asyncio.ensure_future(_read_client(runtime, ws, session_id))
    try:
        await ws.send_str(_frames.encode(AttachedFrame(attachment.record)).decode())
        while True:
            upcoming: asyncio.Future[AttachItem] = asyncio.ensure_future(anext(items))
            watched: set[asyncio.Future[Any]] = {upcoming, reader}
            done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            if upcoming not in done:
                upcoming.cancel()
                return ws  # the client went away
            try:
                item = upcoming.result()
            except StopAsyncIteration:
                return ws
            if not await _send(ws, item):
                return ws
    except (ConnectionResetError, asyncio.CancelledError):
        return ws
    finally:
        reader.cancel()
        attachment.close()
        with contextlib.suppress(Exception):
            await items.aclose()
        if not ws.closed:
            with contextlib.suppress(Exception):
                await ws.close()


async def _send(ws: web.WebSocketResponse, item: AttachItem) -> bool:
    """Frame one item; False once the stream is over."""
    if isinstance(item, ReplayChunk | Output):
        await ws.send_bytes(item.data)
        return True
    if isinstance(item, Live):
        await ws.send_str(_frames.encode(LiveFrame(item.seq)).decode())
        return True
    if isinstance(item, Exit):
        await ws.send_str(_frames.encode(ExitFrame(item.status, item.exit_code)).decode())
        await ws.close()
        return False
    if isinstance(item, Overflow):
        await ws.send_str(_frames.encode(OverflowFrame(item.resume_after_seq)).decode())
        await ws.close(code=1013, message=b"client too slow; resume from resumeAfterSeq")
        return False
    raise AssertionError(f"unknown attach item {item!r}")


async def _read_client(runtime: Runtime, ws: web.WebSocketResponse, session_id: str) -> None:
    """Client → session: input and resize; returns when the client closes."""
    control = runtime.control
    async for msg in ws:
        if msg.type == WSMsgType.BINARY:
            await control.attach_input(session_id, msg.data)
        elif msg.type == WSMsgType.TEXT:
            try:
                frame = _client_frame.decode(msg.data)
            except msgspec.DecodeError:
                continue  # not a frame we know: ignored, as before
            if isinstance(frame, ResizeFrame):
                if 0 < frame.rows <= MAX_DIMENSION and 0 < frame.cols <= MAX_DIMENSION:
                    control.attach_resize(session_id, frame.rows, frame.cols)
            else:
                await control.attach_input(session_id, frame.data.encode("utf-8", "surrogatepass"))
        elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.ERROR):
            return


async def follow(
    runtime: Runtime, request: BaseRequest, session_id: str, after: int
) -> web.StreamResponse:
    """Chunked NDJSON: every event after ``afterSeq``, then live ones, ending after ``exit``."""
    await runtime.queries.require(session_id)  # 404 before the response starts
    batches = runtime.attach.follow(session_id, after)
    response = web.StreamResponse(status=200)
    response.content_type = "application/x-ndjson"
    response.enable_chunked_encoding()
    response.force_close()
    await response.prepare(request)
    encoder = msgspec.json.Encoder()
    try:
        async for batch in batches:
            await response.write(b"".join(encoder.encode(r) + b"\n" for r in batch))
    except (ConnectionResetError, asyncio.CancelledError):
        return response
    finally:
        await batches.aclose()
    await response.write_eof()
    return response
