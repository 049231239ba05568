"""``coven attach``'s first screen, shown before asyncio is even imported.

Importing the attachment's machinery (asyncio, the schema, the client) takes
several times longer than Python's own start. So on a terminal the fast path
(``coven.cli.attach_fast``) first does the little a screen needs, on a blocking
socket with the standard library only (not even typing, pathlib or dataclasses): the WebSocket upgrade, the ``attached`` frame
(the header is printed from it), and the binary frames of the replay that are
already there or arrive within ``SCREEN_WAIT``. They are written exactly as the
attachment would write them (replayed terminal queries removed, the screen state
followed). It stops before the first frame it does not show — ``live``, ``exit``,
anything else — or after ``BUDGET`` bytes, and hands the connection over as a
``Painted``: the socket, the bytes read but not yet used, the session record and
how many output bytes were shown. The asyncio attachment continues on that very
connection (``AttachStream.adopt``), so nothing is shown twice or skipped; keys
typed meanwhile wait in the terminal's input queue.

Any failure before the header (no daemon, a refusal, a broken answer) answers
``None``: the attachment then connects by itself and reports the failure in its
usual words.
"""

from __future__ import annotations

import json
import select

from coven.cli import entry
from coven.cli.terminal import ScreenState, write_all
from coven.cli.terminal_queries import QueryFilter
from coven.client.ws_frames import (
    EXTENDED_LENGTH,
    MAX_HEAD,
    Opcode,
    WebSocketError,
    check_length,
    frame_head,
    new_key,
    upgrade_answer,
    upgrade_request,
)

# Imported for the type checker only: typing and pathlib would cost this path a
# third of its time (see the module docstring).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Callable
    from typing import Any

CONNECT_SECONDS = 10.0  # the client's default timeout
SCREEN_WAIT = 0.1  # after `attached`, how long a quiet socket is waited on for the screen
BUDGET = 1024 * 1024  # output bytes shown here at most; a long raw replay goes on after
_RECV = 256 * 1024


class Painted:
    """A connection whose first screen is shown; the asyncio attachment continues it."""

    def __init__(
        self,
        sock: socket.socket,
        pending: bytes,
        session: dict[str, Any],
        delivered: int,
        queries: QueryFilter,
    ) -> None:
        self.sock = sock
        self.pending = pending  # received, not used: the start of the next frame(s)
        self.session = session  # the `attached` frame's record, as JSON
        self.delivered = delivered  # output bytes shown (before query removal), afterSeq 0
        self.queries = queries


def attach_path(session_id: str, *, replay: str, history: int | None) -> str:
    """``calls.attach_path(session_id, 0, replay, history)``, without importing the client."""
    query = f"?afterSeq=0&replay={replay}" + ("" if history is None else f"&history={history}")
    return f"/api/v1/sessions/{session_id}/attach{query}"


def _plain(session_id: str) -> bool:
    """An id that travels raw (``calls.check_session_id``'s rule); others take the long way."""
    return bool(session_id) and not any(
        ch.isspace() or ord(ch) < 0x20 or ch in "?&\x7f" for ch in session_id
    )


def _frame_at(buf: bytearray) -> tuple[bool, Opcode, int, int] | None:
    """``(fin, opcode, payload start, payload end)`` of the frame heading ``buf``, once whole."""
    if len(buf) < 2:
        return None
    fin, opcode, size = frame_head(buf[0], buf[1])
    start = 2
    extended = EXTENDED_LENGTH.get(size)
    if extended is not None:
        if len(buf) < 2 + extended.size:
            return None
        (size,) = extended.unpack_from(buf, 2)
        start += extended.size
    end = start + check_length(size)
    return (fin, opcode, start, end) if len(buf) >= end else None


def _readable(sock: socket.socket, seconds: float) -> bool:
    return bool(select.select([sock], [], [], seconds)[0])


def _open(home: str, path: str) -> tuple[socket.socket, bytearray, dict[str, Any]]:
    """Connect (with the client's same-user checks), upgrade and read the ``attached``
    frame; the buffer holds what follows it."""
    sock = entry.connect(home, CONNECT_SECONDS)
    try:
        key = new_key()
        sock.sendall(upgrade_request(path, key))
        buf = bytearray()
        while (end := buf.find(b"\r\n\r\n")) < 0:
            chunk = sock.recv(_RECV)
            if not chunk or len(buf) > MAX_HEAD:
                raise WebSocketError("no upgrade answer")
            buf += chunk
        status, _reason, _headers = upgrade_answer(bytes(buf[:end]), key)
        if status != 101:
            raise WebSocketError(f"upgrade refused: HTTP {status}")
        del buf[: end + 4]
        while (frame := _frame_at(buf)) is None:
            chunk = sock.recv(_RECV)
            if not chunk:
                raise WebSocketError("closed before `attached`")
            buf += chunk
        fin, opcode, start, stop = frame
        doc = json.loads(bytes(buf[start:stop])) if opcode is Opcode.TEXT and fin else None
        if not isinstance(doc, dict) or doc.get("type") != "attached":
            raise WebSocketError("the stream did not start with `attached`")
        session = doc.get("session")
        if not isinstance(session, dict):
            raise WebSocketError("`attached` without a session")
        del buf[:stop]
        return sock, buf, session
    except BaseException:
        sock.close()
        raise


def paint(
    home: str,
    session_id: str,
    *,
    replay: str,
    history: int | None,
    header: Callable[[dict[str, Any]], None],
    screen: ScreenState,
    out_fd: int,
) -> Painted | None:
    """Show the header and the first screen; the connection to continue on, or ``None``."""
    if not _plain(session_id):
        return None
    path = attach_path(session_id, replay=replay, history=history)
    try:
        sock, buf, session = _open(home, path)
    except (OSError, ValueError, WebSocketError, entry.Doubt):
        return None
    header(session)
    queries = QueryFilter()
    delivered = 0
    try:
        while delivered < BUDGET:
            frame = _frame_at(buf)
            if frame is None:
                if not _readable(sock, SCREEN_WAIT):
                    break
                chunk = sock.recv(_RECV)
                if not chunk:
                    break  # the asyncio side sees the end and reconnects
                buf += chunk
                continue
            fin, opcode, start, stop = frame
            if opcode is not Opcode.BINARY or not fin:
                break  # `live`, `exit`, a ping...: the attachment reads it
            data = bytes(buf[start:stop])
            del buf[:stop]
            shown = queries.replay(data)
            if shown:
                screen.see(shown)
                write_all(out_fd, shown)
            delivered += len(data)
    except (OSError, WebSocketError):
        pass  # the attachment meets the same trouble on the same bytes and handles it
    return Painted(sock, bytes(buf), session, delivered, queries)
