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
from aiohttp import WSCloseCode, WSMsgType, web
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
# How long a closing stream waits for the client's close frame (it may still be reading
# what was sent before it); a client that stopped reading is dropped after this.
CLOSE_HANDSHAKE_SECONDS = 2.0
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
    ws = web.WebSocketResponse(
        max_msg_size=MAX_CLIENT_MESSAGE, autoping=True, timeout=CLOSE_HANDSHAKE_SECONDS
    )
    if not ws.can_prepare(request).ok:
        raise InvalidRequest(
            "attach is a WebSocket route; send an Upgrade: websocket request",
            {"sessionId": session_id},
        )
    await ws.prepare(request)
    attachment = await runtime.attach.open(session_id, after, view, history)
    items = attachment.items()
    reader = asyncio.ensure_future(_read_client(runtime, ws, session_id))
    closing: tuple[int, bytes] = (WSCloseCode.OK, b"")
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
            last = await _send(ws, item)
            if last is not None:
                closing = last
                return ws
    except (ConnectionResetError, asyncio.CancelledError):
        return ws
    finally:
        # The client reader goes first: a close() racing a pending receive() drops the
        # connection right after the close frame, without waiting for the client's. A
        # client still parsing a backlog then loses the frames before it (seen with
        # aiohttp's client: the exit frame vanished). Alone, close() waits for the
        # client's close frame, i.e. until it has read everything sent.
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader
        runtime.control.attach_gone(session_id, ws)
        attachment.close()
        with contextlib.suppress(Exception):
            await items.aclose()
        if not ws.closed:
            with contextlib.suppress(Exception):
                await ws.close(code=closing[0], message=closing[1])


async def _send(ws: web.WebSocketResponse, item: AttachItem) -> tuple[int, bytes] | None:
    """Frame one item; once the stream is over, the close code and message to end it with."""
    if isinstance(item, ReplayChunk | Output):
        await ws.send_bytes(item.data)
        return None
    if isinstance(item, Live):
        await ws.send_str(_frames.encode(LiveFrame(item.seq)).decode())
        return None
    if isinstance(item, Exit):
        await ws.send_str(_frames.encode(ExitFrame(item.status, item.exit_code)).decode())
        return WSCloseCode.OK, b""
    if isinstance(item, Overflow):
        await ws.send_str(_frames.encode(OverflowFrame(item.resume_after_seq)).decode())
        return WSCloseCode.TRY_AGAIN_LATER, b"client too slow; resume from resumeAfterSeq"
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
                    control.attach_resize(session_id, ws, frame.rows, frame.cols)
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
