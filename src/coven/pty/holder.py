"""The per-session holder process: owns one harness's PTY so the session outlives the daemon.

Started by ``coven.pty.holder_client.spawn_holder`` (never by hand) in a session of
its own and re-parented to init, so neither the daemon's exit nor a ``kill -9`` of the
daemon's whole process group touches it: either from its own interpreter (``setsid
--fork``, the launch spec on stdin) or forked by the fork server (``forkserver``
below, the spec in a ``START`` request). It binds its socket, starts the harness with
``coven.pty.spawn`` (the same setsid + controlling-terminal launch as a daemon-owned
session), reports ``READY`` on stdout and from then on runs one single-threaded epoll
loop. The wire protocol is described in ``coven.pty.holder_protocol``.

What a daemon may rely on:

* **Nothing read is lost.** Output read from the PTY is kept until a daemon
  acknowledges it; a (re)connecting daemon gets it again from any offset it names
  between the oldest kept byte and the newest.
* **Backpressure, not loss.** Once ``buffer`` unacknowledged bytes are held the holder
  stops reading the PTY, and the harness blocks on its full terminal.
* **One daemon at a time.** Each connection is checked with ``SO_PEERCRED`` (same uid
  only; the socket file is 0600 as well) and greeted with ``HELLO``; it replaces the
  current daemon's connection only once it sends ``RESUME``, so a client that checks
  the greeting and walks away (an impostor check failing) disturbs nobody.
* **The exit status is kept** until a daemon releases it: after the harness is reaped
  and its output has ended the holder sends ``EXIT`` on every connection (after
  replaying output) and exits once a daemon answers ``RELEASE``.
* **No process is left unmanaged.** The holder reaps the harness; descendants still
  holding the terminal ``LINGER_SECONDS`` after the harness exited are killed, as the
  daemon does. If the holder itself dies (even by SIGKILL) its PTY master closes and the
  kernel hangs up the harness's terminal (SIGHUP to its session).

When the holder gives up without a ``RELEASE`` (decided here, documented for the
daemon):

* after a ``KILL``, once the harness is gone, it waits ``KILLED_HANDOVER_SECONDS`` for
  a daemon to take the exit status and then exits: a killed session's status is
  ``killed`` whatever the code, and a daemon that asked for the kill and then vanished
  must not leave a process behind indefinitely;
* when its socket file is removed or replaced (the daemon discarded the session, or
  ``COVEN_HOME`` was deleted) no daemon can ever reach it: it kills the harness's
  session (SIGKILL after ``ABANDON_GRACE_SECONDS``) and exits once the harness is gone;
* otherwise it waits for a daemon as long as it takes: the harness's output and exit
  status exist nowhere else.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import socket
import struct
import sys
import time

from coven.errors import CovenError
from coven.pty import holder_protocol as wire
from coven.pty.child import ExitStatus, PtyChild, spawn
from coven.pty.control import signal_session
from coven.pty.procfs import proc_start_time

DEFAULT_BUFFER = 8 * 1024 * 1024
READ_CHUNK = 64 * 1024
# PTY bytes read per wake-up before output is pushed to the daemon (see pty/reader.py:
# reading on while the kernel refills keeps the harness moving).
ROUND_BYTES = 256 * 1024
# How long descendants may hold the terminal after the harness exited, then SIGKILL,
# then how long to wait for the end of output before reading what is left and moving on.
LINGER_SECONDS = 2.0
FORCE_EOF_SECONDS = 1.0
KILLED_HANDOVER_SECONDS = 60.0
ABANDON_CHECK_SECONDS = 2.0
ABANDON_GRACE_SECONDS = 2.0
SEND_BUFFER = 4 * 1024 * 1024
# Connections greeted but not yet resumed; beyond this the oldest is dropped.
MAX_PENDING = 4

_IN = select.EPOLLIN
_OUT = select.EPOLLOUT
_GONE = select.EPOLLHUP | select.EPOLLERR
_PEERCRED = struct.Struct("3i")


class _Abort(Exception):
    """Drop the current connection after telling the daemon why (an ``ERROR`` code)."""


class Holder:
    """The event loop of one holder: PTY, harness exit, listener and one daemon connection."""

    def __init__(
        self,
        listener: socket.socket,
        socket_path: str,
        session_id: str,
        child: PtyChild,
        buffer_limit: int = DEFAULT_BUFFER,
    ) -> None:
        self.listener = listener
        self.socket_path = socket_path
        self.socket_ino = os.stat(socket_path).st_ino
        self.session_id = session_id
        self.child = child
        self.limit = buffer_limit
        self.holder_start = proc_start_time(os.getpid()) or 0
        self.ep = select.epoll()
        # Output kept for the daemon: offsets [base, base + len(buf)).
        self.buf = bytearray()
        self.base = 0
        self.eof = False
        self.hup = False  # the harness side of the terminal is closed
        self.exit: ExitStatus | None = None
        self.input = bytearray()
        self.input_received = 0
        self.input_written = 0
        # The connection, if any.
        self.conn: socket.socket | None = None
        self.conn_fd = -1
        self.decoder = wire.FrameDecoder()
        self.streaming = False
        self.sent = 0  # next offset to send on this connection
        self.partial: bytes = b""  # rest of a partly sent OUTPUT frame
        self.ctrl = bytearray()  # control frames waiting to be sent
        self.exit_sent = False
        self.reported_written = 0
        self.conn_mask = 0
        self.master_mask = 0
        # Greeted connections that have not sent RESUME: fd -> (socket, decoder, the
        # input_written their HELLO announced).
        self.pending: dict[int, tuple[socket.socket, wire.FrameDecoder, int]] = {}
        # Lifecycle.
        self.deadlines: dict[str, float] = {"abandon_check": time.monotonic()}
        self.kill_requested = False
        self.abandoned = False
        self.released = False
        self.done = False

    @property
    def end(self) -> int:
        return self.base + len(self.buf)

    @property
    def finished(self) -> bool:
        """The harness is reaped and its output has ended: only the hand-over is left."""
        return self.exit is not None and self.eof

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> int:
        """Serve until released or given up; the harness is gone when this returns."""
        self.ep.register(self.listener.fileno(), _IN)
        self.ep.register(self.child.pidfd, _IN)
        try:
            while not self.done:
                self._update_masks()
                for fd, mask in self.ep.poll(self._timeout()):
                    if fd == self.child.master_fd:
                        self._on_master(mask)
                    elif fd == self.conn_fd:
                        self._on_conn(mask)
                    elif fd in self.pending:
                        self._on_pending(fd)
                    elif fd == self.listener.fileno():
                        self._accept()
                    elif fd == self.child.pidfd:
                        self._on_exit()
                self._run_timers()
                self._progress()
        finally:
            self._shutdown()
        return 0

    def _timeout(self) -> float:
        if not self.deadlines:
            return -1.0
        return max(0.0, min(self.deadlines.values()) - time.monotonic())

    def _update_masks(self) -> None:
        want = 0
        if not self.eof:
            if len(self.buf) < self.limit:
                want |= _IN
            if self.input and not self.hup:
                want |= _OUT
        fd = self.child.master_fd
        if want != self.master_mask:
            # Unregistered rather than registered with no events: a hung-up master
            # reports EPOLLHUP regardless of the mask, which would spin the loop.
            if not want:
                self.ep.unregister(fd)
            elif not self.master_mask:
                self.ep.register(fd, want)
            else:
                self.ep.modify(fd, want)
            self.master_mask = want
        if self.conn is not None:
            cwant = _IN | (_OUT if self._wants_send() else 0)
            if cwant != self.conn_mask:
                self.ep.modify(self.conn_fd, cwant)
                self.conn_mask = cwant

    def _progress(self) -> None:
        if self.conn is not None:
            if self.input_written != self.reported_written:
                self.reported_written = self.input_written
                self.ctrl += wire.offset_frame(wire.INPUT_DONE, self.input_written)
            self._push()
        if self.finished:
            if self.released or self.abandoned:
                self.done = True
            elif self.kill_requested and "handover" not in self.deadlines:
                self.deadlines["handover"] = time.monotonic() + KILLED_HANDOVER_SECONDS

    # -- the PTY ---------------------------------------------------------------------------
    def _on_master(self, mask: int) -> None:
        if mask & _GONE:
            self.hup = True
            self._drop_input()
        if mask & (_IN | _GONE) and len(self.buf) < self.limit:
            self._read_pty(self.limit - len(self.buf))
            self._push()
        if mask & _OUT:
            self._write_input()

    def _read_pty(self, room: int) -> None:
        fd = self.child.master_fd
        buf = self.buf
        got = 0
        want = min(room, ROUND_BYTES)
        while got < want:
            try:
                data = os.read(fd, READ_CHUNK)
            except BlockingIOError:
                return
            except OSError:
                # EIO: every slave fd is closed, i.e. end of output (any other error
                # leaves nothing readable either).
                data = b""
            if not data:
                self._set_eof()
                return
            buf += data
            got += len(data)

    def _set_eof(self) -> None:
        self.eof = True
        self._drop_input()
        self.deadlines.pop("linger", None)
        self.deadlines.pop("force_eof", None)

    def _write_input(self) -> None:
        while self.input:
            try:
                written = os.write(self.child.master_fd, self.input[:READ_CHUNK])
            except BlockingIOError:
                return
            except OSError:
                self._drop_input()
                return
            del self.input[:written]
            self.input_written += written

    def _drop_input(self) -> None:
        # Nobody can read it any more; counted as written so a client's window reopens.
        self.input_written += len(self.input)
        self.input.clear()

    def _on_exit(self) -> None:
        status = self.child.poll_exit()
        if status is None:
            return
        self.ep.unregister(self.child.pidfd)
        self.exit = status
        if not self.eof:
            self.deadlines["linger"] = time.monotonic() + LINGER_SECONDS

    # -- timers ----------------------------------------------------------------------------
    def _run_timers(self) -> None:
        now = time.monotonic()
        for name, when in list(self.deadlines.items()):
            if when > now:
                continue
            del self.deadlines[name]
            if name == "linger":
                self._signal(signal.SIGKILL)
                self.deadlines["force_eof"] = now + FORCE_EOF_SECONDS
            elif name == "force_eof":
                self._force_eof()
            elif name == "kill":
                self._signal(signal.SIGKILL)
            elif name == "handover":
                self.done = True
            elif name == "abandon_check":
                self._check_socket()
                self.deadlines["abandon_check"] = now + ABANDON_CHECK_SECONDS

    def _force_eof(self) -> None:
        """Take what is left in the terminal, whatever the buffer limit, and end the output.

        Reached only after the harness exited and its session was SIGKILLed: what is
        left is bounded by the terminal's own buffer.
        """
        if self.eof:
            return
        while True:
            try:
                data = os.read(self.child.master_fd, READ_CHUNK)
            except OSError:
                break
            if not data:
                break
            self.buf += data
        self._set_eof()

    def _check_socket(self) -> None:
        try:
            ino = os.stat(self.socket_path).st_ino
        except OSError:
            ino = -1
        if ino != self.socket_ino and not self.abandoned:
            self.abandoned = True
            self._begin_kill(ABANDON_GRACE_SECONDS)

    def _signal(self, signo: int) -> None:
        # The harness's session outlives the reaped leader while members remain, and its
        # id is not reused meanwhile, so this is safe until the output has ended.
        if not self.eof or self.exit is None:
            with contextlib.suppress(OSError, ValueError):
                signal_session(self.child.pid, signo)

    def _begin_kill(self, grace: float) -> None:
        self.kill_requested = True
        for signo in (signal.SIGHUP, signal.SIGTERM, signal.SIGCONT):
            self._signal(signo)
        self.deadlines["kill"] = min(
            self.deadlines.get("kill", float("inf")), time.monotonic() + grace
        )

    # -- the daemon's connection -----------------------------------------------------------
    def _accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        _pid, uid, _gid = _PEERCRED.unpack(
            conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
        )
        if uid != os.getuid():
            conn.close()
            return
        conn.setblocking(False)
        hello = wire.Hello(
            wire.VERSION,
            os.getpid(),
            self.holder_start,
            self.child.pid,
            self.child.start_time or 0,
            self.base,
            self.end,
            self.input_received,
            self.input_written,
            self.session_id,
        )
        data = wire.encode_hello(hello)
        try:
            # A fresh socket's buffer always takes a greeting this small.
            if conn.send(data) != len(data):
                raise OSError("short send")
        except OSError:
            conn.close()
            return
        if len(self.pending) >= MAX_PENDING:
            oldest = next(iter(self.pending))
            self._close_pending(oldest)
        self.pending[conn.fileno()] = (conn, wire.FrameDecoder(), self.input_written)
        self.ep.register(conn.fileno(), _IN)

    def _close_pending(self, fd: int) -> None:
        conn, _decoder, _written = self.pending.pop(fd)
        with contextlib.suppress(OSError):
            self.ep.unregister(fd)
        conn.close()

    def _on_pending(self, fd: int) -> None:
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
            self._close_pending(fd)
            return
        if not frames:
            return
        # RESUME: this client takes over from the current daemon connection.
        del self.pending[fd]
        self._drop_conn()
        with contextlib.suppress(OSError):
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        self.conn = conn
        self.conn_fd = fd
        self.conn_mask = _IN | _OUT
        self.ep.modify(fd, self.conn_mask)
        self.decoder = decoder
        self.streaming = False
        self.partial = b""
        self.ctrl = bytearray()
        self.exit_sent = False
        self.reported_written = written
        self._handle_frames(frames)

    def _drop_conn(self) -> None:
        if self.conn is None:
            return
        with contextlib.suppress(OSError):
            self.ep.unregister(self.conn_fd)
        self.conn.close()
        self.conn = None
        self.conn_fd = -1
        self.streaming = False
        self.partial = b""
        self.ctrl.clear()

    def _on_conn(self, mask: int) -> None:
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
                self._drop_conn()
                return
            if data:
                try:
                    frames = self.decoder.feed(data)
                except wire.ProtocolError:
                    self._abort("protocol_error")
                    return
                self._handle_frames(frames)
                if self.conn is not conn:
                    return
        if mask & _OUT:
            self._push()

    def _handle_frames(self, frames: list[tuple[int, bytes]]) -> None:
        try:
            for kind, payload in frames:
                self._handle(kind, payload)
        except (_Abort, wire.ProtocolError, struct.error) as exc:
            code = exc.args[0] if isinstance(exc, _Abort) else "protocol_error"
            self._abort(str(code))

    def _abort(self, code: str) -> None:
        conn = self.conn
        if conn is None:
            return
        # Best effort, and only at a frame boundary; the connection is closed either way.
        if not self.partial and not self.ctrl:
            with contextlib.suppress(OSError):
                conn.send(wire.frame(wire.ERROR, code.encode()))
        self._drop_conn()

    def _handle(self, kind: int, payload: bytes) -> None:
        if kind == wire.RESUME:
            offset = wire.unpack_offset(payload)
            if self.streaming:
                raise _Abort("resume_twice")
            if not self.base <= offset <= self.end:
                raise _Abort("resume_out_of_range")
            self._discard(offset)
            self.sent = offset
            self.streaming = True
        elif kind == wire.ACK:
            offset = wire.unpack_offset(payload)
            if not self.streaming or offset > self.sent:
                raise _Abort("ack_beyond_sent")
            self._discard(offset)
        elif kind == wire.INPUT:
            self.input_received += len(payload)
            if self.eof or self.hup:
                self.input_written += len(payload)
                return
            self.input += payload
            if len(self.input) > wire.INPUT_QUEUE_LIMIT:
                raise _Abort("input_window_exceeded")
            self._write_input()
        elif kind == wire.RESIZE:
            rows, cols = wire.WINDOW.unpack(payload)
            if not self.eof:
                with contextlib.suppress(CovenError, OSError):
                    self.child.resize(rows, cols)
        elif kind == wire.SIGNAL:
            (signo,) = wire.SIGNO.unpack(payload)
            self._signal(signo)
        elif kind == wire.KILL:
            (grace_ms,) = wire.GRACE.unpack(payload)
            self._begin_kill(grace_ms / 1000.0)
        elif kind == wire.RELEASE:
            final = wire.unpack_offset(payload)
            if not self.finished or final != self.end:
                raise _Abort("release_refused")
            self._discard(final)
            self.released = True
        else:
            raise _Abort("unknown_frame")

    def _discard(self, offset: int) -> None:
        if offset > self.base:
            del self.buf[: offset - self.base]
            self.base = offset

    def _wants_send(self) -> bool:
        if self.partial or self.ctrl:
            return True
        if not self.streaming:
            return False
        return self.sent < self.end or (self.finished and not self.exit_sent)

    def _push(self) -> None:
        """Send control frames, then output from ``sent``, then ``EXIT``, until the socket is full."""
        conn = self.conn
        if conn is None:
            return
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
                if self.sent < self.end:
                    self._send_output(conn)
                    if self.partial:
                        return
                elif self.finished and not self.exit_sent:
                    self.exit_sent = True
                    status = self.exit
                    assert status is not None
                    self.ctrl += wire.encode_exit(self.end, status.code, status.signal)
                else:
                    return
        except BlockingIOError:
            return
        except OSError:
            self._drop_conn()

    def _send_output(self, conn: socket.socket) -> None:
        start = self.sent - self.base
        size = min(self.end - self.sent, wire.MAX_OUTPUT_FRAME)
        header = wire.HEADER.pack(wire.OUTPUT, wire.OFFSET.size + size) + wire.OFFSET.pack(
            self.sent
        )
        with memoryview(self.buf) as view:
            n = conn.sendmsg([header, view[start : start + size]])
        self.sent += size
        # The frame is committed once any byte of it left: keep the rest to send first.
        if n < len(header):
            self.partial = header[n:] + bytes(self.buf[start : start + size])
        elif n < len(header) + size:
            self.partial = bytes(self.buf[start + n - len(header) : start + size])

    def _shutdown(self) -> None:
        self._drop_conn()
        for fd in list(self.pending):
            self._close_pending(fd)
        with contextlib.suppress(OSError):
            if os.stat(self.socket_path).st_ino == self.socket_ino:
                os.unlink(self.socket_path)
        self.listener.close()
        self.ep.close()
        if self.exit is None:
            # Only reached on an internal error: do not leave the harness unmanaged.
            self._signal(signal.SIGKILL)
        self.child.close()


# -- start-up ------------------------------------------------------------------------------
def _read_exactly(fd: int, size: int) -> bytes:
    parts: list[bytes] = []
    while size:
        data = os.read(fd, min(size, 1024 * 1024))
        if not data:
            raise wire.ProtocolError("the launch spec ended early")
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


def _read_frame(fd: int) -> tuple[int, bytes] | None:
    """One frame from a blocking pipe; ``None`` at end of file before it starts."""
    first = os.read(fd, wire.HEADER.size)
    if not first:
        return None
    kind, length = wire.HEADER.unpack(first + _read_exactly(fd, wire.HEADER.size - len(first)))
    if length > wire.MAX_PAYLOAD:
        raise wire.ProtocolError("frame over the limit")
    return kind, _read_exactly(fd, length)


def _listen(path: str) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # Created 0600 from the start: never a moment when another user could connect.
        old = os.umask(0o177)
        try:
            listener.bind(path)
        finally:
            os.umask(old)
        os.chmod(path, 0o600)
        listener.listen(4)
        listener.setblocking(False)
    except BaseException:
        listener.close()
        raise
    return listener


def _report(fd: int, data: bytes) -> None:
    with contextlib.suppress(OSError):
        while data:
            data = data[os.write(fd, data) :]


def _failed(code: str, message: str, details: dict[str, object] | None) -> bytes:
    import json  # only on this path: keeps the holder's start-up small

    body = {"code": code, "message": message, "details": details or {}}
    return wire.frame(wire.FAILED, json.dumps(body, default=str).encode())


def _name(comm: str) -> None:
    # What ps/top show (the command line stays the interpreter's): at most 15 bytes.
    with contextlib.suppress(OSError), open("/proc/self/comm", "w") as fh:
        fh.write(comm)


def _start(
    spec: wire.Spec, socket_path: str, session_id: str, buffer_limit: int, report: int
) -> Holder | None:
    """Listen, start the harness and report READY on ``report``; ``None`` after FAILED.

    Then lets go of the start-up pipes (fds 0 and 1 become /dev/null).
    """
    _name("coven-holder")
    os.chdir("/")
    try:
        listener = _listen(socket_path)
    except OSError as exc:
        reason = "socket_exists" if exc.errno == errno.EADDRINUSE else "socket_failed"
        message = f"holder: cannot listen on {socket_path}: {exc.strerror or exc}"
        _report(report, _failed("launch_failed", message, {"reason": reason}))
        return None
    try:
        child = spawn(spec.argv, cwd=spec.cwd, env=spec.env, rows=spec.rows, cols=spec.cols)
    except CovenError as exc:
        listener.close()
        os.unlink(socket_path)
        _report(report, _failed(exc.code, exc.message, exc.details))
        return None
    holder = Holder(listener, socket_path, session_id, child, buffer_limit)
    ready = wire.READY_BODY.pack(os.getpid(), holder.holder_start, child.pid, child.start_time or 0)
    _report(report, wire.frame(wire.READY, ready + session_id.encode()))
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    return holder


def _parse_args(argv: list[str]) -> tuple[str, str, int]:
    options = dict(zip(argv[::2], argv[1::2], strict=False))
    try:
        return options["--socket"], options["--session"], int(options["--buffer"])
    except (KeyError, ValueError):
        raise SystemExit(
            "usage: holder --socket PATH --session ID --buffer BYTES | holder --forkserver"
        ) from None


def main(argv: list[str]) -> int:
    """Run a holder, or the fork server with ``--forkserver``; see the module docstring."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if argv == ["--forkserver"]:
        return forkserver()
    socket_path, session_id, buffer_limit = _parse_args(argv)
    try:
        got = _read_frame(0)
        if got is None or got[0] != wire.SPEC:
            raise wire.ProtocolError("no launch spec")
        spec = wire.decode_spec(got[1])
    except (OSError, wire.ProtocolError, struct.error) as exc:
        _report(1, _failed("launch_failed", f"holder: bad launch spec: {exc}", None))
        return 1
    holder = _start(spec, socket_path, session_id, buffer_limit, report=1)
    return 1 if holder is None else holder.run()


# -- the fork server -------------------------------------------------------------------------
def forkserver() -> int:
    """Fork a holder for every ``START`` frame on stdin until stdin ends.

    Why: an interpreter that has imported all this already starts a holder in a fork
    (milliseconds), and the holders share its memory pages until they write to them.
    A holder is forked twice (the middle process exits at once) and calls setsid():
    it is nobody's child but init's, in a session of its own, exactly like one started
    with ``setsid --fork``. The daemon keeps the server's stdin open for its lifetime,
    so a server never outlives its daemon (and never runs code older than it).
    """
    import gc

    _name("coven-forksrv")
    os.chdir("/")
    # Objects that exist now are never traversed by the collector again, so forked
    # holders do not copy the pages holding them just to mark them.
    gc.freeze()
    serving = wire.SERVING_BODY.pack(os.getpid(), proc_start_time(os.getpid()) or 0)
    _report(1, wire.frame(wire.SERVING, serving))
    while True:
        try:
            got = _read_frame(0)
        except (OSError, wire.ProtocolError, struct.error):
            return 1
        if got is None:
            return 0
        kind, payload = got
        try:
            if kind != wire.START:
                raise wire.ProtocolError("not a START frame")
            request = wire.decode_start(payload)
        except wire.ProtocolError as exc:
            _report(1, _failed("launch_failed", f"holder: bad request: {exc}", None))
            continue
        try:
            middle = os.fork()
        except OSError as exc:
            _report(1, _failed("launch_failed", f"cannot fork a holder: {exc}", None))
            continue
        if middle == 0:
            _forked_holder(*request)  # never returns
        os.waitpid(middle, 0)


def _forked_holder(spec: wire.Spec, socket_path: str, session_id: str, buffer: int) -> None:
    """The forked child: become a detached holder, serve, and exit (never return)."""
    code = 1
    try:
        os.setsid()
        if os.fork():
            os._exit(0)  # the middle process: its child is re-parented to init
        holder = _start(spec, socket_path, session_id, buffer, report=1)
        if holder is not None:
            code = holder.run()
    except BaseException:
        code = 1
    finally:
        os._exit(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
