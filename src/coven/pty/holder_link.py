"""The holder's side of its daemon connection: greeting, takeover, frames both ways.

Part of the holder process (``coven.pty.holder``): one ``DaemonLink`` per holder, run
by the holder's event loop. Each accepted connection is checked (``SO_PEERCRED``: same
uid only) and greeted with ``HELLO``; it replaces the current daemon's connection only
once it sends ``RESUME``, so a client that checks the greeting and walks away (an
impostor check failing) disturbs nobody. Output goes out as ``OUTPUT`` frames straight
from the holder's buffer (``sendmsg`` of a header and a view, no copy), control
frames between them, ``EXIT`` after the last byte.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
from typing import TYPE_CHECKING

from coven.pty import holder_protocol as wire

if TYPE_CHECKING:
    from coven.pty.holder import Holder

SEND_BUFFER = 4 * 1024 * 1024
# Connections greeted but not yet resumed; beyond this the oldest is dropped.
MAX_PENDING = 4

_IN = select.EPOLLIN
_OUT = select.EPOLLOUT
_GONE = select.EPOLLHUP | select.EPOLLERR
_PEERCRED = struct.Struct("3i")


class Refusal(Exception):
    """Drop the current connection after telling the daemon why (an ``ERROR`` code)."""


class DaemonLink:
    """The current daemon connection (at most one) and the greeted ones waiting to resume."""

    def __init__(self, holder: Holder, ep: select.epoll) -> None:
        self.holder = holder
        self.ep = ep
        self.conn: socket.socket | None = None
        self.fd = -1
        self.decoder = wire.FrameDecoder()
        self.streaming = False
        self.sent = 0  # next offset to send on this connection
        self.partial: bytes = b""  # rest of a partly sent OUTPUT frame
        self.ctrl = bytearray()  # control frames waiting to be sent
        self.exit_sent = False
        self.reported_written = 0
        self.mask = 0
        # Greeted connections that have not sent RESUME: fd -> (socket, decoder, the
        # input_written their HELLO announced).
        self.pending: dict[int, tuple[socket.socket, wire.FrameDecoder, int]] = {}

    # -- accepting ---------------------------------------------------------------------------
    def accept(self, listener: socket.socket) -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        _pid, uid, _gid = _PEERCRED.unpack(
            conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
        )
        if uid != os.getuid():
            conn.close()
            return
        conn.setblocking(False)
        holder = self.holder
        data = wire.encode_hello(holder.hello())
        try:
            # A fresh socket's buffer always takes a greeting this small.
            if conn.send(data) != len(data):
                raise OSError("short send")
        except OSError:
            conn.close()
            return
        if len(self.pending) >= MAX_PENDING:
            self.close_pending(next(iter(self.pending)))
        self.pending[conn.fileno()] = (conn, wire.FrameDecoder(), holder.input_written)
        self.ep.register(conn.fileno(), _IN)

    def close_pending(self, fd: int) -> None:
        conn, _decoder, _written = self.pending.pop(fd)
        with contextlib.suppress(OSError):
            self.ep.unregister(fd)
        conn.close()

    def on_pending(self, fd: int) -> None:
        conn, decoder, written = self.pending[fd]
        try:
            data = conn.recv(64 * 1024)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        try:
            frames = decoder.feed(data) if data else []
        except wire.ProtocolError:
            frames = []
            data = b""
        if not data or (frames and frames[0][0] != wire.RESUME):
            self.close_pending(fd)
            return
        if not frames:
            return
        # RESUME: this client takes over from the current daemon connection.
        del self.pending[fd]
        self.drop()
        with contextlib.suppress(OSError):
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        self.conn = conn
        self.fd = fd
        self.mask = _IN | _OUT
        self.ep.modify(fd, self.mask)
        self.decoder = decoder
        self.streaming = False
        self.partial = b""
        self.ctrl = bytearray()
        self.exit_sent = False
        self.reported_written = written
        self._handle_frames(frames)

    def drop(self) -> None:
        """Close the current connection, if any (the holder carries on without one)."""
        if self.conn is None:
            return
        with contextlib.suppress(OSError):
            self.ep.unregister(self.fd)
        self.conn.close()
        self.conn = None
        self.fd = -1
        self.streaming = False
        self.partial = b""
        self.ctrl.clear()

    def close(self) -> None:
        self.drop()
        for fd in list(self.pending):
            self.close_pending(fd)

    # -- receiving ---------------------------------------------------------------------------
    def on_conn(self, mask: int) -> None:
        conn = self.conn
        if conn is None:
            return
        if mask & (_IN | _GONE):
            try:
                data = conn.recv(256 * 1024)
            except BlockingIOError:
                data = None
            except OSError:
                data = b""
            if data == b"":
                self.drop()
                return
            if data:
                try:
                    frames = self.decoder.feed(data)
                except wire.ProtocolError:
                    self._refuse("protocol_error")
                    return
                self._handle_frames(frames)
                if self.conn is not conn:
                    return
        if mask & _OUT:
            self.push()

    def _handle_frames(self, frames: list[tuple[int, bytes]]) -> None:
        try:
            for kind, payload in frames:
                self._handle(kind, payload)
        except (Refusal, wire.ProtocolError, struct.error) as exc:
            code = exc.args[0] if isinstance(exc, Refusal) else "protocol_error"
            self._refuse(str(code))

    def _refuse(self, code: str) -> None:
        conn = self.conn
        if conn is None:
            return
        # Best effort, and only at a frame boundary; the connection is closed either way.
        if not self.partial and not self.ctrl:
            with contextlib.suppress(OSError):
                conn.send(wire.frame(wire.ERROR, code.encode()))
        self.drop()

    def _handle(self, kind: int, payload: bytes) -> None:
        holder = self.holder
        if kind == wire.RESUME:
            offset = wire.unpack_offset(payload)
            if self.streaming:
                raise Refusal("resume_twice")
            if not holder.base <= offset <= holder.end:
                raise Refusal("resume_out_of_range")
            holder.discard(offset)
            self.sent = offset
            self.streaming = True
        elif kind == wire.ACK:
            offset = wire.unpack_offset(payload)
            if not self.streaming or offset > self.sent:
                raise Refusal("ack_beyond_sent")
            holder.discard(offset)
        elif kind == wire.INPUT:
            if not holder.take_input(payload):
                raise Refusal("input_window_exceeded")
        elif kind == wire.RESIZE:
            holder.resize(*wire.WINDOW.unpack(payload))
        elif kind == wire.SIGNAL:
            holder.signal(wire.SIGNO.unpack(payload)[0])
        elif kind == wire.KILL:
            holder.begin_kill(wire.GRACE.unpack(payload)[0] / 1000.0)
        elif kind == wire.RELEASE:
            if not holder.release(wire.unpack_offset(payload)):
                raise Refusal("release_refused")
        else:
            raise Refusal("unknown_frame")

    # -- sending -----------------------------------------------------------------------------
    def update_mask(self) -> None:
        if self.conn is not None:
            want = _IN | (_OUT if self.wants_send() else 0)
            if want != self.mask:
                self.ep.modify(self.fd, want)
                self.mask = want

    def wants_send(self) -> bool:
        if self.partial or self.ctrl:
            return True
        if not self.streaming:
            return False
        holder = self.holder
        return self.sent < holder.end or (holder.finished and not self.exit_sent)

    def report_input(self) -> None:
        """Queue ``INPUT_DONE`` if input was written to the terminal since the last one."""
        written = self.holder.input_written
        if self.conn is not None and written != self.reported_written:
            self.reported_written = written
            self.ctrl += wire.offset_frame(wire.INPUT_DONE, written)

    def push(self) -> None:
        """Send control frames, then output from ``sent``, then ``EXIT``, until the socket is full."""
        conn = self.conn
        if conn is None:
            return
        holder = self.holder
        try:
            while True:
                if self.partial:
                    n = conn.send(self.partial)
                    self.partial = self.partial[n:]
                    if self.partial:
                        return
                if self.ctrl:
                    n = conn.send(self.ctrl)
                    del self.ctrl[:n]
                    if self.ctrl:
                        return
                if not self.streaming:
                    return
                if self.sent < holder.end:
                    self._send_output(conn)
                    if self.partial:
                        return
                elif holder.finished and not self.exit_sent:
                    self.exit_sent = True
                    status = holder.exit
                    assert status is not None
                    self.ctrl += wire.encode_exit(holder.end, status.code, status.signal)
                else:
                    return
        except BlockingIOError:
            return
        except OSError:
            self.drop()

    def _send_output(self, conn: socket.socket) -> None:
        holder = self.holder
        size = min(holder.end - self.sent, wire.MAX_OUTPUT_FRAME)
        header = wire.HEADER.pack(wire.OUTPUT, wire.OFFSET.size + size) + wire.OFFSET.pack(
            self.sent
        )
        with holder.out.view(self.sent, size) as view:
            n = conn.sendmsg([header, view])
            # The frame is committed once any byte of it left: keep the rest to send first.
            if n < len(header):
                self.partial = header[n:] + bytes(view)
            elif n < len(header) + size:
                self.partial = bytes(view[n - len(header) :])
        self.sent += size
