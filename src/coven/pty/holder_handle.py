"""A connection to one session's holder, as the daemon drives it: ``HolderHandle``.

A handle looks like ``PtyChild`` to the code that drives a session (``read``/``write``/
``resize``/``poll_exit``/``signal_group``/``close``, ``master_fd`` to poll, ``pidfd``
that becomes readable at exit), plus what only a holder has: output offsets
(``offset``, ``ack``), ``kill`` through the holder and ``release`` once the exit is
recorded. Handles come from ``coven.pty.holder_client`` (``spawn_holder``,
``adopt_holder``).

Threads: ``read`` (and ``flush``) may run on the PTY reader thread while the event
loop (or the store's writer thread, for ``ack``) sends; sends are serialised by a lock
and never block — what the socket does not take at once is kept and sent by the next
send or ``flush`` (``wants_flush`` says when the owner should wait for ``master_fd``
to become writable).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import threading

import msgspec

from coven.errors import HolderUnavailable, InvalidRequest
from coven.pty import holder_protocol as wire
from coven.pty.child import ExitStatus
from coven.pty.process_group import signal_session
from coven.pty.procfs import proc_start_time

_MAX_WINDOW = 0xFFFF


class HolderIdentity(msgspec.Struct, frozen=True):
    """What the daemon records with a session to find its holder again."""

    session_id: str
    holder_pid: int
    holder_start_time: int
    """``/proc/<pid>/stat`` field 22 of the holder: with the pid, one process across reuse."""


class HolderHandle:
    """A connection to one session's holder. Not created directly: see ``spawn_holder``."""

    def __init__(self, sock: socket.socket, hello: wire.Hello, socket_path: str) -> None:
        self._sock = sock
        self.socket_path = socket_path
        self.identity = HolderIdentity(hello.session_id, hello.holder_pid, hello.holder_start)
        self.master_fd: int = sock.fileno()
        """Poll this for reading (output) and, while ``wants_flush``, for writing."""
        self.pid: int = hello.harness_pid
        self.pgid: int = hello.harness_pid
        self.start_time: int | None = hello.harness_start or None
        self.base: int = hello.base
        """The oldest offset the holder still kept when this connection was made."""
        self.end_at_connect: int = hello.end
        self.offset: int = hello.base
        """Offset just after the last output byte ``read`` returned."""
        # Readable (level) once the exit status is known or the holder is lost.
        self.pidfd: int = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._lock = threading.Lock()
        self._out = bytearray()
        self._input_sent = hello.input_received
        self._input_written = hello.input_written
        # Decoder state (reader side).
        self._head = bytearray()  # header (+ offset, or a whole control frame) so far
        self._output_left = 0  # payload bytes of the current OUTPUT frame still to come
        self._next = hello.base  # offset the next OUTPUT byte must have
        self._exit: ExitStatus | None = None
        self._final: int | None = None
        self._lost: str | None = None
        self._closed = False

    # -- output ----------------------------------------------------------------------------
    def resume(self, offset: int) -> None:
        """Start the output stream at ``offset`` (done by ``spawn_holder``/``adopt_holder``)."""
        self.offset = offset
        self._next = offset
        self._send(wire.offset_frame(wire.RESUME, offset))

    def read(self, max_bytes: int = 65536) -> bytes | None:
        """Up to ``max_bytes`` of output without blocking, in order, without gaps.

        ``None``: nothing to read now. ``b""``: the output has ended — the holder sent
        the exit status after the last byte (``poll_exit`` has it), or the holder is
        gone (``poll_exit`` raises ``HolderUnavailable``). The bytes returned start at
        the previous ``offset``.

        Like a PTY master, and unlike a buffered reader: nothing is taken from the
        socket that this call does not return (one call returns bytes of at most one
        ``OUTPUT`` frame, and the exit is taken only by a call that returns no bytes).
        So ``master_fd`` is readable exactly while ``read`` has something to say, and
        a level-triggered poller may stop calling at any point and wait on it.
        """
        if max_bytes < 1:
            raise InvalidRequest("max_bytes must be positive", {"max_bytes": max_bytes})
        if self._out:
            self.flush()
        if self._ended:
            return b""
        sock = self._sock
        parts: list[bytes] = []
        size = 0
        try:
            while size < max_bytes:
                if self._output_left:
                    data = sock.recv(min(self._output_left, max_bytes - size))
                    if not data:
                        raise ConnectionResetError("the holder closed the connection")
                    parts.append(data)
                    size += len(data)
                    self._output_left -= len(data)
                    self._next += len(data)
                    continue
                if parts or not self._read_head():
                    break
        except BlockingIOError:
            pass
        except (OSError, wire.ProtocolError, struct.error) as exc:
            self._lose(str(exc) or type(exc).__name__)
        if parts:
            data = parts[0] if len(parts) == 1 else b"".join(parts)
            self.offset += len(data)
            return data
        return b"" if self._ended else None

    @property
    def _ended(self) -> bool:
        return self._closed or self._lost is not None or self._final is not None

    def _read_head(self) -> bool:
        """Receive the next frame's head; True when an OUTPUT payload is next.

        Control frames are received and handled whole. False when the output ended
        (``EXIT``). Raises ``BlockingIOError`` when the socket runs dry mid-head (what
        was received is kept in ``_head``).
        """
        head = self._head
        hsize = wire.HEADER.size
        while True:
            if len(head) < hsize:
                head += self._recv_some(hsize - len(head))
                if len(head) < hsize:
                    continue
            kind, length = wire.HEADER.unpack_from(head)
            if length > wire.MAX_PAYLOAD:
                raise wire.ProtocolError(f"frame of {length} bytes is over the limit")
            body = wire.OFFSET.size if kind == wire.OUTPUT else length
            while len(head) < hsize + body:
                head += self._recv_some(hsize + body - len(head))
            payload = bytes(head[hsize:])
            head.clear()
            if kind == wire.OUTPUT:
                if length < wire.OFFSET.size:
                    raise wire.ProtocolError("short OUTPUT")
                if wire.unpack_offset(payload) != self._next:
                    raise wire.ProtocolError("OUTPUT is not contiguous")
                self._output_left = length - wire.OFFSET.size
                if self._output_left:
                    return True
                continue
            self._control(kind, payload)
            if self._final is not None:
                return False

    def _recv_some(self, size: int) -> bytes:
        data = self._sock.recv(size)
        if not data:
            raise ConnectionResetError("the holder closed the connection")
        return data

    def _control(self, kind: int, payload: bytes) -> None:
        if kind == wire.INPUT_DONE:
            self._input_written = wire.unpack_offset(payload)
        elif kind == wire.EXIT:
            final, code, signo = wire.decode_exit(payload)
            if final != self._next or self._exit is not None:
                raise wire.ProtocolError("EXIT does not follow the output")
            self._final = final
            self._exit = ExitStatus(code=code, signal=signo)
            os.eventfd_write(self.pidfd, 1)
        elif kind == wire.ERROR:
            raise wire.ProtocolError(f"the holder refused: {payload.decode(errors='replace')}")
        else:
            raise wire.ProtocolError(f"unexpected frame {kind}")

    def _lose(self, reason: str) -> None:
        if self._lost is None:
            self._lost = reason
            if self._exit is None:
                with contextlib.suppress(OSError):
                    os.eventfd_write(self.pidfd, 1)

    # -- state -----------------------------------------------------------------------------
    @property
    def lost(self) -> str | None:
        """Why the connection to the holder ended early, or ``None`` while it is fine."""
        return self._lost

    @property
    def final_offset(self) -> int | None:
        """The offset after the harness's last byte, once ``EXIT`` arrived."""
        return self._final

    def poll_exit(self) -> ExitStatus | None:
        """The harness's exit status once the holder sent it, else ``None``. Never blocks.

        Raises ``HolderUnavailable`` when the holder went away without sending it
        (it was killed, or another daemon took the connection over).
        """
        if self._exit is not None:
            return self._exit
        if self._lost is not None:
            raise HolderUnavailable(
                f"holder of session {self.identity.session_id} is gone: {self._lost}",
                {"reason": "lost", "sessionId": self.identity.session_id},
            )
        return None

    # -- control ---------------------------------------------------------------------------
    def ack(self, offset: int) -> None:
        """Everything below ``offset`` is committed: the holder may discard it."""
        if offset > self.offset:
            raise InvalidRequest("cannot acknowledge output not yet read", {"offset": offset})
        self._send(wire.offset_frame(wire.ACK, offset))

    @property
    def input_room(self) -> int:
        """Input bytes ``write`` would accept now (the holder's input window)."""
        return max(0, wire.INPUT_WINDOW - (self._input_sent - self._input_written))

    def write(self, data: bytes) -> int:
        """Send input for the harness's terminal; bytes accepted (0 = the window is full).

        The window reopens as the holder writes input to the terminal (it reports that
        in frames ``read`` consumes). Raises ``OSError`` once the holder is gone.
        """
        if self._closed or self._lost is not None:
            raise OSError(f"holder is gone: {self._lost or 'closed'}")
        take = min(len(data), self.input_room)
        if take <= 0:
            return 0
        self._input_sent += take
        self._send(wire.frame(wire.INPUT, bytes(data[:take])))
        return take

    def resize(self, rows: int, cols: int) -> None:
        """Set the terminal's window size (the harness gets SIGWINCH)."""
        for name, value in (("rows", rows), ("cols", cols)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidRequest(f"{name} must be an integer", {"field": name})
            if not 1 <= value <= _MAX_WINDOW:
                raise InvalidRequest(
                    f"{name} must be between 1 and {_MAX_WINDOW}", {"field": name, "value": value}
                )
        self._send(wire.frame(wire.RESIZE, wire.WINDOW.pack(rows, cols)))

    def signal_group(self, sig: int) -> None:
        """Send ``sig`` to the harness's process group and session, through the holder.

        With the holder gone, signals the session directly — only while the harness
        is provably the same process (its recorded start time).
        """
        if self._lost is None and not self._closed:
            self._send(wire.frame(wire.SIGNAL, wire.SIGNO.pack(sig)))
            if self._lost is None:
                return
        if self.start_time is not None and proc_start_time(self.pid) == self.start_time:
            signal_session(self.pid, sig)

    def kill(self, grace: float = 2.0) -> None:
        """SIGHUP+SIGTERM+SIGCONT to the harness's session now, SIGKILL after ``grace`` s.

        The holder escalates. With the holder gone, only the first three signals are
        sent here (see ``signal_group``); what survives them is ``reap_orphan``'s job.
        """
        grace_ms = max(0, min(int(grace * 1000), 0xFFFFFFFF))
        self._send(wire.frame(wire.KILL, wire.GRACE.pack(grace_ms)))
        if self._lost is not None:
            for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGCONT):
                self.signal_group(sig)

    def release(self) -> None:
        """The exit status and all output are recorded: let the holder exit."""
        if self._final is None:
            raise InvalidRequest("the holder has not reported an exit yet")
        self._send(wire.offset_frame(wire.RELEASE, self._final))

    # -- sending ---------------------------------------------------------------------------
    @property
    def wants_flush(self) -> bool:
        """True while sent frames wait for room in the socket (call ``flush`` when writable)."""
        return bool(self._out)

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _send(self, data: bytes) -> None:
        with self._lock:
            if self._closed or self._lost is not None:
                return
            self._out += data
            self._flush_locked()

    def _flush_locked(self) -> None:
        while self._out and not self._closed:
            try:
                sent = self._sock.send(self._out)
            except BlockingIOError:
                return
            except OSError as exc:
                self._out.clear()
                self._lose(f"send failed: {exc}")
                return
            del self._out[:sent]

    def close(self) -> None:
        """Close the connection (the holder keeps running). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._sock.close()
        with contextlib.suppress(OSError):
            os.close(self.pidfd)

    def __repr__(self) -> str:
        return (
            f"HolderHandle(session={self.identity.session_id!r}, holder={self.identity.holder_pid},"
            f" harness={self.pid}, offset={self.offset}, exit={self._exit}, lost={self._lost!r})"
        )
