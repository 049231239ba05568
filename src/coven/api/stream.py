"""Streaming routes (additive to coven.daemon.v1): WebSocket attach and NDJSON follow.

Attach protocol (one WebSocket per client, several clients per session):

* server → client text ``{"type":"attached","session":{…}}`` first;
* binary frames: terminal output. The replay (stored events after ``afterSeq``)
  is stitched to live output at an exact seam: the session's output pipeline
  reports what is committed, what is still in flight and what is pending in one
  synchronous snapshot, and the subscriber is registered in that same step;
* text ``{"type":"live","seq":N}`` when the replay is done;
* text ``{"type":"exit","status":…,"exitCode":…}`` then close, when the session ends;
* text ``{"type":"overflow","resumeAfterSeq":N}`` then close, when the client reads
  too slowly to keep up (its buffer is bounded, never grown without limit);
* client → server binary frames are input bytes; text ``{"type":"resize","rows","cols"}``
  resizes; text ``{"type":"input","data":"…"}`` is input too.

States: replaying → live → closed; each is entered once.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
from collections import deque
from typing import Any

import msgspec
from aiohttp import WSMsgType, web
from aiohttp.web_request import BaseRequest

from coven.api.router import Match
from coven.errors import InvalidRequest
from coven.runtime.live import LiveSession, LiveState, Outcome
from coven.runtime.queries import parse_i64, to_event_record
from coven.runtime.sessions import SessionManager, to_record

SUBSCRIBER_LIMIT = 4 * 1024 * 1024
REPLAY_BATCH = 500


class AttachState(enum.Enum):
    REPLAYING = "replaying"
    LIVE = "live"
    CLOSED = "closed"


class AttachSubscriber:
    """Bounded live buffer of one attached client; overflow marks it for disconnection."""

    def __init__(self, limit: int = SUBSCRIBER_LIMIT) -> None:
        self.limit = limit
        self.chunks: deque[tuple[bytes, int]] = deque()
        self.buffered = 0
        self.overflowed = False
        self.wakeup = asyncio.Event()

    def push_output(self, text: str, end_offset: int) -> None:
        if self.overflowed:
            return
        data = text.encode("utf-8", "replace")
        if self.buffered + len(data) > self.limit:
            self.overflowed = True
        else:
            self.chunks.append((data, end_offset))
            self.buffered += len(data)
        self.wakeup.set()

    def take(self) -> tuple[bytes, int | None]:
        if not self.chunks:
            return b"", None
        parts = []
        end = None
        while self.chunks:
            data, end = self.chunks.popleft()
            parts.append(data)
        self.buffered = 0
        return b"".join(parts), end


def _after_seq(match: Match) -> int:
    raw = match.query.get("afterSeq")
    return 0 if raw is None else max(0, parse_i64("afterSeq", raw))


async def attach(manager: SessionManager, request: BaseRequest, match: Match) -> web.StreamResponse:
    session_id = match.session_id or ""
    after = _after_seq(match)
    row = await manager.get_row(session_id)  # 404 before the upgrade
    ws = web.WebSocketResponse(max_msg_size=1024 * 1024, autoping=True)
    if not ws.can_prepare(request).ok:
        raise InvalidRequest(
            "attach is a WebSocket route; send an Upgrade: websocket request",
            {"sessionId": session_id},
        )
    await ws.prepare(request)
    session = manager.live.get(session_id)
    sub = AttachSubscriber()
    upto: int | None = None
    pending = ""
    offset = 0
    # Snapshot and subscription happen in one synchronous step: no gap, no duplicate.
    if session is not None and session.state is not LiveState.FINISHED:
        upto, pending, offset = session.pipeline.snapshot()
        session.pipeline.subscribers.add(sub)
    state = AttachState.REPLAYING
    try:
        await ws.send_str(
            json.dumps({"type": "attached", "session": msgspec.to_builtins(to_record(row))})
        )
        exit_payload = await _replay(manager, ws, session_id, after, upto)
        if pending:
            await ws.send_bytes(pending.encode("utf-8", "replace"))
        if session is None or upto is None:
            # Finished before we attached: the replay is the whole story.
            final = await manager.get(session_id)
            await ws.send_str(json.dumps({"type": "live", "seq": exit_payload.get("seq", after)}))
            await ws.send_str(
                json.dumps({"type": "exit", "status": final.status, "exitCode": final.exit_code})
            )
            return ws
        await ws.send_str(json.dumps({"type": "live", "seq": upto}))
        state = AttachState.LIVE
        await _live(manager, ws, session, sub, offset)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        state = AttachState.CLOSED
        if session is not None:
            session.pipeline.subscribers.discard(sub)
        if not ws.closed:
            with contextlib.suppress(Exception):
                await ws.close()
    assert state is AttachState.CLOSED
    return ws


async def _replay(
    manager: SessionManager,
    ws: web.WebSocketResponse,
    session_id: str,
    after: int,
    upto: int | None,
) -> dict[str, Any]:
    cursor = after
    last_exit: dict[str, Any] = {}
    while True:
        rows = await manager.read(
            lambda c=cursor: manager.reader.list_events(session_id, after_seq=c, limit=REPLAY_BATCH)
        )
        for row in rows:
            if upto is not None and row.seq > upto:
                return last_exit
            if row.kind == "output":
                data = json.loads(row.payload_json).get("data", "")
                if data:
                    await ws.send_bytes(data.encode("utf-8", "replace"))
            elif row.kind == "exit":
                last_exit = {"seq": row.seq}
            cursor = row.seq
        if len(rows) < REPLAY_BATCH:
            return last_exit


async def _live(
    manager: SessionManager,
    ws: web.WebSocketResponse,
    session: LiveSession,
    sub: AttachSubscriber,
    offset: int,
) -> None:
    delivered = offset
    reader: asyncio.Future[None] = asyncio.ensure_future(_read_client(manager, ws, session))
    finished: asyncio.Future[Outcome] = asyncio.ensure_future(asyncio.shield(session.finished))
    try:
        while True:
            waiter: asyncio.Future[Any] = asyncio.ensure_future(sub.wakeup.wait())
            watched: set[asyncio.Future[Any]] = {waiter, reader, finished}
            done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            if waiter not in done:
                waiter.cancel()
            sub.wakeup.clear()
            data, end = sub.take()
            if data:
                await ws.send_bytes(data)
                delivered = end if end is not None else delivered
            if sub.overflowed:
                resume = session.pipeline.resume_seq_for(delivered)
                await ws.send_str(json.dumps({"type": "overflow", "resumeAfterSeq": resume}))
                await ws.close(code=1013, message=b"client too slow; resume from resumeAfterSeq")
                return
            if finished in done:
                outcome = finished.result()
                # Drain anything pushed in the same loop turn as the exit.
                data, _end = sub.take()
                if data:
                    await ws.send_bytes(data)
                await ws.send_str(
                    json.dumps(
                        {"type": "exit", "status": outcome.status, "exitCode": outcome.exit_code}
                    )
                )
                await ws.close()
                return
            if reader in done:
                return  # the client went away
    finally:
        reader.cancel()
        finished.cancel()


async def _read_client(
    manager: SessionManager, ws: web.WebSocketResponse, session: LiveSession
) -> None:
    async for msg in ws:
        if msg.type == WSMsgType.BINARY:
            await _input(manager, session, msg.data)
        elif msg.type == WSMsgType.TEXT:
            try:
                command = json.loads(msg.data)
            except ValueError:
                continue
            if not isinstance(command, dict):
                continue
            if command.get("type") == "resize":
                rows, cols = command.get("rows"), command.get("cols")
                if (
                    isinstance(rows, int)
                    and isinstance(cols, int)
                    and 0 < rows <= 1000
                    and 0 < cols <= 1000
                ):
                    session.resize(rows, cols)
            elif command.get("type") == "input" and isinstance(command.get("data"), str):
                await _input(manager, session, command["data"].encode("utf-8", "surrogatepass"))
        elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.ERROR):
            return


async def _input(manager: SessionManager, session: LiveSession, data: bytes) -> None:
    if not session.live:
        return
    text = data.decode("utf-8", "replace")
    with contextlib.suppress(Exception):
        await manager.deliver_input(session, data, {"data": text}, wait=False)


async def follow(manager: SessionManager, request: BaseRequest, match: Match) -> web.StreamResponse:
    """Chunked NDJSON: every event after ``afterSeq``, then live ones, ending after ``exit``."""
    session_id = match.session_id or ""
    after = _after_seq(match)
    await manager.get_row(session_id)
    response = web.StreamResponse(status=200)
    response.content_type = "application/x-ndjson"
    response.enable_chunked_encoding()
    response.force_close()
    await response.prepare(request)
    encoder = msgspec.json.Encoder()
    try:
        while True:
            changed = manager.changed(session_id)
            rows = await manager.read(
                lambda a=after: manager.reader.list_events(session_id, after_seq=a, limit=1000)
            )
            ended = False
            if rows:
                lines = b"".join(encoder.encode(to_event_record(r)) + b"\n" for r in rows)
                await response.write(lines)
                after = rows[-1].seq
                ended = any(r.kind == "exit" for r in rows)
            if ended:
                break
            if len(rows) == 1000:
                continue
            if session_id not in manager.live:
                row = await manager.read(manager.reader.get_session, session_id)
                if row is None or (row.status != "running" or not row.external):
                    # Not live and nothing more to read: the stream is complete.
                    more = await manager.read(
                        lambda a=after: manager.reader.list_events(
                            session_id, after_seq=a, limit=1000
                        )
                    )
                    if more:
                        continue
                    break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=1.0)
    except (ConnectionResetError, asyncio.CancelledError):
        return response
    await response.write_eof()
    return response


__all__ = ["attach", "follow"]
