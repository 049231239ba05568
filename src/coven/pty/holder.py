"""The per-session holder process: owns one harness's PTY so the session outlives the daemon.

Started by ``coven.pty.holder_client.spawn_holder`` (never by hand) in a session of
its own and re-parented to init, so neither the daemon's exit nor a ``kill -9`` of the
daemon's whole process group touches it: either from its own interpreter (``setsid
--fork``, the launch spec on stdin) or forked by the fork server (``forkserver``
below, the spec in a ``START`` request). It binds its socket, starts the harness with
``coven.pty.spawn`` (the same setsid + controlling-terminal launch as a daemon-owned
session), reports ``READY`` on stdout and from then on runs one single-threaded epoll
loop. The wire protocol is described in ``coven.pty.holder_protocol``; the daemon's
connection is handled by ``coven.pty.holder_link``, start-up (and the fork server) by
``coven.pty.holder_start``.

What a daemon may rely on:

* **Nothing read is lost.** Output read from the PTY is kept until a daemon
  acknowledges it; a (re)connecting daemon gets it again from any offset it names
  between the oldest kept byte and the newest.
* **Backpressure, not loss.** Once ``buffer`` unacknowledged bytes are held the holder
  stops reading the PTY, and the harness blocks on its full terminal.
* **One daemon at a time.** Each connection is checked with ``SO_PEERCRED`` (same uid
  only; the socket file is 0600 as well); a new one replaces the old once it resumes.
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
import enum
import os
import select
import signal
import socket
import time

from coven.errors import CovenError
from coven.pty import holder_protocol as wire
from coven.pty.child import ExitStatus, PtyChild
from coven.pty.holder_buffer import OutputBuffer
from coven.pty.holder_link import DaemonLink
from coven.pty.process_group import signal_session
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

_IN = select.EPOLLIN
_OUT = select.EPOLLOUT
_GONE = select.EPOLLHUP | select.EPOLLERR


class Timer(enum.Enum):
    """The holder's deadlines (at most one of each pending)."""

    LINGER = enum.auto()  # the harness exited; descendants may still hold the terminal
    FORCE_EOF = enum.auto()  # they were killed; stop waiting for the end of output
    KILL = enum.auto()  # a kill's grace period is over: SIGKILL
    HANDOVER = enum.auto()  # a killed session's exit was not collected: give up
    ABANDON_CHECK = enum.auto()  # is the socket still ours?


class Holder:
    """The event loop of one holder: the PTY, the harness's exit and lifecycle timers,
    and (through its ``DaemonLink``) the listener and the daemon's connection."""

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
        self.link = DaemonLink(self, self.ep)
        # Output kept for the daemon: offsets [out.base, out.end).
        self.out = OutputBuffer()
        self.eof = False
        self.hup = False  # the harness side of the terminal is closed
        self.exit: ExitStatus | None = None
        self.input = bytearray()
        self.input_received = 0
        self.input_written = 0
        self.master_mask = 0
        # Lifecycle.
        self.deadlines: dict[Timer, float] = {Timer.ABANDON_CHECK: time.monotonic()}
        self.kill_requested = False
        self.abandoned = False
        self.released = False
        self.done = False

    @property
    def base(self) -> int:
        return self.out.base

    @property
    def end(self) -> int:
        return self.out.end

    @property
    def finished(self) -> bool:
        """The harness is reaped and its output has ended: only the hand-over is left."""
        return self.exit is not None and self.eof

    def hello(self) -> wire.Hello:
        return wire.Hello(
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

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> int:
        """Serve until released or given up; the harness is gone when this returns."""
        self.ep.register(self.listener.fileno(), _IN)
        self.ep.register(self.child.pidfd, _IN)
        link = self.link
        try:
            while not self.done:
                self._update_master()
                link.update_mask()
                for fd, mask in self.ep.poll(self._timeout()):
                    if fd == self.child.master_fd:
                        self._on_master(mask)
                    elif fd == link.fd:
                        link.on_conn(mask)
                    elif fd in link.pending:
                        link.on_pending(fd)
                    elif fd == self.listener.fileno():
                        link.accept(self.listener)
                    elif fd == self.child.pidfd:
                        self._on_exit()
                self._run_timers()
                link.report_input()
                link.push()
                self._check_done()
        finally:
            self._shutdown()
        return 0

    def _timeout(self) -> float:
        # Never empty: the abandonment check is always scheduled.
        return max(0.0, min(self.deadlines.values()) - time.monotonic())

    def _update_master(self) -> None:
        want = 0
        if not self.eof:
            if len(self.out) < self.limit:
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

    def _check_done(self) -> None:
        if self.finished:
            if self.released or self.abandoned:
                self.done = True
            elif self.kill_requested and Timer.HANDOVER not in self.deadlines:
                self.deadlines[Timer.HANDOVER] = time.monotonic() + KILLED_HANDOVER_SECONDS

    # -- what the daemon asks for (through DaemonLink) ---------------------------------------
    def discard(self, offset: int) -> None:
        """Everything below ``offset`` is committed by the daemon: forget it."""
        if offset > self.base:
            was_full = len(self.out) >= self.limit
            self.out.discard(offset)
            if was_full and Timer.LINGER in self.deadlines:
                # The linger period counts only time the holder could read: start over.
                self.deadlines[Timer.LINGER] = time.monotonic() + LINGER_SECONDS

    def take_input(self, data: bytes) -> bool:
        """Queue input for the terminal; False when the client overran its window."""
        self.input_received += len(data)
        if self.eof or self.hup:
            self.input_written += len(data)  # nobody can read it: counted as delivered
            return True
        self.input += data
        if len(self.input) > wire.INPUT_QUEUE_LIMIT:
            return False
        self._write_input()
        return True

    def resize(self, rows: int, cols: int) -> None:
        if not self.eof:
            with contextlib.suppress(CovenError, OSError):
                self.child.resize(rows, cols)

    def release(self, final: int) -> bool:
        """The daemon recorded the exit and everything up to ``final``; False if too early."""
        if not self.finished or final != self.end:
            return False
        self.discard(final)
        self.released = True
        return True

    def signal(self, signo: int) -> None:
        # The harness's session outlives the reaped leader while members remain, and its
        # id is not reused meanwhile, so this is safe until the output has ended.
        if not self.finished:
            with contextlib.suppress(OSError, ValueError):
                signal_session(self.child.pid, signo)

    def begin_kill(self, grace: float) -> None:
        """SIGHUP, SIGTERM and SIGCONT to the session now; SIGKILL after ``grace`` s."""
        self.kill_requested = True
        for signo in (signal.SIGHUP, signal.SIGTERM, signal.SIGCONT):
            self.signal(signo)
        self.deadlines[Timer.KILL] = min(
            self.deadlines.get(Timer.KILL, float("inf")), time.monotonic() + grace
        )

    # -- the PTY ---------------------------------------------------------------------------
    def _on_master(self, mask: int) -> None:
        if mask & _GONE:
            self.hup = True
            self._drop_input()
        if mask & (_IN | _GONE) and len(self.out) < self.limit:
            self._read_pty(self.limit - len(self.out))
            if self.abandoned:
                self.discard(self.end)  # nobody can ever take it
            self.link.push()
        if mask & _OUT:
            self._write_input()

    def _read_pty(self, room: int) -> None:
        fd = self.child.master_fd
        out = self.out
        got = 0
        want = min(room, ROUND_BYTES)
        while got < want:
            try:
                size = out.read_from(fd, READ_CHUNK)
            except BlockingIOError:
                return
            except OSError:
                # EIO: every slave fd is closed, i.e. end of output (any other error
                # leaves nothing readable either).
                size = 0
            if not size:
                self._set_eof()
                return
            got += size

    def _set_eof(self) -> None:
        self.eof = True
        self._drop_input()
        self.deadlines.pop(Timer.LINGER, None)
        self.deadlines.pop(Timer.FORCE_EOF, None)

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
            self.deadlines[Timer.LINGER] = time.monotonic() + LINGER_SECONDS

    # -- timers ----------------------------------------------------------------------------
    def _run_timers(self) -> None:
        now = time.monotonic()
        for timer, when in list(self.deadlines.items()):
            if when > now:
                continue
            del self.deadlines[timer]
            if timer is Timer.LINGER:
                if len(self.out) >= self.limit:
                    # No end of output because the holder stopped reading, not because
                    # a descendant holds the terminal: nothing to end yet.
                    self.deadlines[Timer.LINGER] = now + LINGER_SECONDS
                    continue
                self.signal(signal.SIGKILL)
                self.deadlines[Timer.FORCE_EOF] = now + FORCE_EOF_SECONDS
            elif timer is Timer.FORCE_EOF:
                self._force_eof()
            elif timer is Timer.KILL:
                self.signal(signal.SIGKILL)
            elif timer is Timer.HANDOVER:
                self.done = True
            elif timer is Timer.ABANDON_CHECK:
                self._check_socket()
                self.out.shrink_if_idle()
                self.deadlines[Timer.ABANDON_CHECK] = now + ABANDON_CHECK_SECONDS

    def _force_eof(self) -> None:
        """Take what is left in the terminal, whatever the buffer limit, and end the output.

        Reached only after the harness exited, the buffer had room and its session was
        SIGKILLed: what is left is bounded by the terminal's own buffer.
        """
        if self.eof:
            return
        while True:
            try:
                if not self.out.read_from(self.child.master_fd, READ_CHUNK):
                    break
            except OSError:
                break
        self._set_eof()

    def _check_socket(self) -> None:
        try:
            ino = os.stat(self.socket_path).st_ino
        except OSError:
            ino = -1
        if ino != self.socket_ino and not self.abandoned:
            self.abandoned = True
            # Nobody can ever take what is kept: drop it, so a full buffer cannot keep
            # the output from ending (and this holder from exiting) once the harness is gone.
            self.discard(self.end)
            self.begin_kill(ABANDON_GRACE_SECONDS)

    def _shutdown(self) -> None:
        self.link.close()
        with contextlib.suppress(OSError):
            if os.stat(self.socket_path).st_ino == self.socket_ino:
                os.unlink(self.socket_path)
        self.listener.close()
        self.ep.close()
        if self.exit is None:
            # Only reached on an internal error: do not leave the harness unmanaged.
            self.signal(signal.SIGKILL)
        self.child.close()
