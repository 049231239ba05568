"""The daemon's side of a session holder: start one, or adopt one after a restart.

``spawn_holder`` starts a harness under a new holder process (``coven.pty.holder``)
and ``adopt_holder`` reconnects to a running one, checking it is the holder recorded
for the session; both return a ``HolderHandle`` (``coven.pty.holder_handle``) already
streaming output. ``HolderForkServer`` makes starting one cheap: a daemon keeps one
and passes it to ``spawn_holder``.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence

from coven.errors import CovenError, HolderRefused, HolderUnavailable, InvalidRequest, LaunchFailed
from coven.pty import holder_protocol as wire
from coven.pty.child import SpawnError, _find_setsid
from coven.pty.holder import DEFAULT_BUFFER
from coven.pty.holder_handle import HolderHandle, HolderIdentity
from coven.pty.process_group import signal_session
from coven.pty.procfs import proc_start_time

# The directory that holds the ``coven`` package: the holder runs with ``-I -S`` (no
# site, no environment) and imports Coven from exactly where the daemon did.
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The collector is off while the holder's modules load and never looks at what they
# made (as for the daemon: ``coven.daemon.frozen.uncollected``), ~10 % of its start.
_BOOT = (
    "import gc;gc.disable();import sys;sys.path.insert(0,sys.argv.pop(1));"
    "from coven.pty.holder_start import main;gc.freeze();gc.enable();sys.exit(main(sys.argv[1:]))"
)
RECEIVE_BUFFER = 4 * 1024 * 1024
_PEERCRED = struct.Struct("3i")
_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes, NUL-terminated

__all__ = ["HolderForkServer", "HolderHandle", "HolderIdentity", "adopt_holder", "spawn_holder"]


def _recv_exactly(sock: socket.socket, size: int, deadline: float) -> bytes:
    parts: list[bytes] = []
    while size:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        data = sock.recv(size)
        if not data:
            raise ConnectionResetError("connection closed")
        parts.append(data)
        size -= len(data)
    return b"".join(parts)


def _refuse(reason: str, message: str, socket_path: str) -> HolderRefused:
    return HolderRefused(message, {"reason": reason, "socket": socket_path})


def adopt_holder(
    socket_path: str,
    expected: HolderIdentity,
    *,
    resume_from: int,
    timeout: float = 5.0,
) -> HolderHandle:
    """Connect to the holder at ``socket_path`` and stream its output from ``resume_from``.

    ``resume_from`` is the offset up to which the daemon has the output committed.
    Checked before anything is sent: the peer's uid (ours) and pid (from the kernel,
    ``SO_PEERCRED``), its start time in ``/proc`` and the identity in its ``HELLO`` all
    match ``expected`` — anything else is ``HolderRefused``. ``HolderUnavailable``
    when nothing answers (the holder is gone) or the holder no longer has the output
    from ``resume_from`` (``details.reason == "resume_out_of_range"``). Blocking, at
    most ``timeout`` seconds: call it off the event loop.
    """
    deadline = time.monotonic() + timeout
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect(socket_path)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise HolderUnavailable(
                f"no holder answers at {socket_path}",
                {"reason": "gone", "socket": socket_path},
            ) from exc
        except OSError as exc:
            raise HolderUnavailable(
                f"cannot reach the holder at {socket_path}: {exc.strerror or exc}",
                {"reason": "unreachable", "socket": socket_path},
            ) from exc
        pid, uid, _gid = _PEERCRED.unpack(
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
        )
        if uid != os.getuid():
            raise _refuse("peer_uid", f"the holder socket is served by uid {uid}", socket_path)
        if pid != expected.holder_pid:
            raise _refuse("peer_pid", f"the holder socket is served by pid {pid}", socket_path)
        if proc_start_time(pid) != expected.holder_start_time:
            raise _refuse("start_time", f"pid {pid} is not the recorded holder", socket_path)
        try:
            kind, length = wire.HEADER.unpack(_recv_exactly(sock, wire.HEADER.size, deadline))
            if kind != wire.HELLO or length > wire.MAX_PAYLOAD:
                raise wire.ProtocolError("no HELLO")
            hello = wire.decode_hello(_recv_exactly(sock, length, deadline))
        except (OSError, wire.ProtocolError) as exc:
            raise _refuse("not_a_holder", f"no holder greeting: {exc}", socket_path) from exc
        if hello.version != wire.VERSION:
            raise _refuse("version", f"holder protocol version {hello.version}", socket_path)
        if (hello.holder_pid, hello.holder_start) != (pid, expected.holder_start_time):
            raise _refuse("not_a_holder", "the greeting names another process", socket_path)
        if hello.session_id != expected.session_id:
            raise _refuse("session_id", f"holder of session {hello.session_id!r}", socket_path)
        if not hello.base <= resume_from <= hello.end:
            raise HolderUnavailable(
                f"holder keeps output {hello.base}..{hello.end}, not {resume_from}",
                {"reason": "resume_out_of_range", "base": hello.base, "end": hello.end},
            )
        sock.setblocking(False)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    except BaseException:
        sock.close()
        raise
    handle = HolderHandle(sock, hello, socket_path)
    handle.resume(resume_from)
    return handle


def _launch_error(body: bytes) -> CovenError:
    import json

    try:
        report = json.loads(body)
        code, message, details = report["code"], report["message"], report["details"]
    except (ValueError, KeyError, TypeError):
        return LaunchFailed("the holder reported an unreadable failure")
    if code == InvalidRequest.code:
        return InvalidRequest(message, details or None)
    return SpawnError(message, details or None)


def spawn_holder(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: str,
    *,
    rows: int,
    cols: int,
    socket_path: str,
    session_id: str,
    buffer_limit: int = DEFAULT_BUFFER,
    timeout: float = 10.0,
    forkserver: HolderForkServer | None = None,
) -> HolderHandle:
    """Start ``argv`` under a new holder serving ``socket_path``; a handle streaming from 0.

    ``argv``, ``env``, ``cwd``, ``rows`` and ``cols`` mean what they mean for
    ``coven.pty.spawn``, and its refusals (``SpawnError``, ``InvalidRequest``) come
    back from the holder unchanged; nothing is left running then. ``socket_path`` must
    not exist yet (it is created 0600); keep it short (Unix socket paths are limited
    to 107 bytes). The environment travels over a pipe, never on a command line.

    With ``forkserver`` the holder is forked from it (a few milliseconds, pages
    shared with the server); without, a new interpreter starts (``setsid --fork``,
    tens of milliseconds). Either way the holder ends up detached: its own session,
    re-parented to init, never the daemon's child. Blocking: call it off the event loop.
    """
    if len(os.fsencode(socket_path)) > _SOCKET_PATH_MAX:
        raise InvalidRequest("holder socket path is too long", {"socket": socket_path})
    if isinstance(argv, str | bytes) or not argv:
        raise InvalidRequest("argv must be a non-empty list of strings")
    for text in (*argv, *env.keys(), *env.values(), cwd, session_id):
        if not isinstance(text, str) or "\0" in text:
            raise InvalidRequest("argv, env and cwd must be strings without NUL bytes")
    spec = wire.encode_spec(argv, env, cwd, rows, cols)
    deadline = time.monotonic() + timeout
    if forkserver is None:
        report = _exec_holder(spec, socket_path, session_id, buffer_limit, deadline)
    else:
        request = wire.encode_start(spec, socket_path, session_id, buffer_limit)
        report = forkserver.request(request, deadline)
    return _take_over(report, socket_path, session_id, timeout)


def _exec_holder(
    spec: bytes, socket_path: str, session_id: str, buffer_limit: int, deadline: float
) -> tuple[int, bytes] | None:
    command = [
        _find_setsid(),
        "--fork",
        *_interpreter(),
        "--socket",
        socket_path,
        "--session",
        session_id,
        "--buffer",
        str(buffer_limit),
    ]
    # `setsid --fork` returns at once; the holder is its child, re-parented to init
    # (or the nearest subreaper), in a session of its own: never the daemon's child.
    process = _popen(command)
    assert process.stdin is not None and process.stdout is not None
    try:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.write(spec)
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        return _read_report(process.stdout.fileno(), deadline)
    finally:
        process.stdout.close()
        process.wait()


def _interpreter() -> list[str]:
    return [sys.executable, "-I", "-S", "-c", _BOOT, _PACKAGE_ROOT]


def _popen(command: list[str]) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd="/",
            env={},
            close_fds=True,
            start_new_session=True,
        )
    except OSError as exc:
        raise LaunchFailed(
            f"cannot start a holder: {exc.strerror or exc}", {"reason": "holder_failed"}
        ) from exc


def _take_over(
    report: tuple[int, bytes] | None, socket_path: str, session_id: str, timeout: float
) -> HolderHandle:
    """From a holder's start report to a streaming handle, or an error with nothing left."""
    if report is None:
        # No pid to kill: removing the socket makes a holder that is merely slow see
        # itself abandoned, kill its harness and exit.
        with contextlib.suppress(OSError):
            os.unlink(socket_path)
        raise LaunchFailed("the holder did not start in time", {"reason": "holder_failed"})
    kind, body = report
    if kind == wire.FAILED:
        raise _launch_error(body)
    size = wire.READY_BODY.size
    if kind != wire.READY or len(body) < size or body[size:] != session_id.encode():
        raise LaunchFailed("the holder sent an unreadable start report")
    holder_pid, holder_start, harness_pid, harness_start = wire.READY_BODY.unpack_from(body)
    identity = HolderIdentity(session_id, holder_pid, holder_start)
    try:
        return adopt_holder(socket_path, identity, resume_from=0, timeout=timeout)
    except CovenError:
        # Started but unreachable: nobody would ever own this session, so end it.
        # Killing the holder hangs up the harness; SIGKILL covers one that ignores that.
        if proc_start_time(holder_pid) == holder_start:
            with contextlib.suppress(OSError):
                os.kill(holder_pid, signal.SIGKILL)
        if proc_start_time(harness_pid) == harness_start:
            signal_session(harness_pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.unlink(socket_path)
        raise


class HolderForkServer:
    """A pre-loaded interpreter that forks holders: one per daemon, started on first use.

    Why: a holder started from scratch pays for an interpreter and its imports each
    time (see ``bench/holder.py``); a fork of one that already has them takes
    milliseconds and shares its pages. The server is the daemon's child with its stdin
    held open by the daemon: it exits when the daemon closes it (``close``) or dies.
    Holders it forked are not its children and live on. Thread-safe; requests are
    served one at a time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._serving = False  # its SERVING report has been read
        self.pid: int | None = None

    def start(self) -> int | None:
        """Start the server now without waiting for it; the first request waits instead.
        The new process's pid (``None`` when one was started already or none could be).

        Why: a daemon calls this before its own imports, so the server's interpreter
        starts on another core meanwhile and the first launch finds it ready (a cold
        ``coven run`` otherwise waits ~50 ms for it). A server that fails to start is
        retried, and reported, by that first request.
        """
        with self._lock:
            if self._process is not None:
                return None
            try:
                self._process = _popen([*_interpreter(), "--forkserver"])
            except LaunchFailed:
                return None
            return self._process.pid

    def request(self, start_frame: bytes, deadline: float) -> tuple[int, bytes] | None:
        """Send one ``START`` frame; the new holder's report, or ``None`` (time out)."""
        with self._lock:
            process = self._running(deadline)
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(start_frame)
                process.stdin.flush()
            except OSError as exc:
                self._stop()
                raise LaunchFailed(
                    f"the holder fork server is gone: {exc}", {"reason": "holder_failed"}
                ) from exc
            report = _read_report(process.stdout.fileno(), deadline)
            if report is None:
                # A late report would answer the next request: start afresh instead.
                self._stop()
            return report

    def _running(self, deadline: float) -> subprocess.Popen[bytes]:
        process = self._process
        if process is not None and self._serving and process.poll() is None:
            return process
        # Started early by ``start`` and not heard from yet: its report may be waiting.
        if process is not None and not self._serving and self._confirm(process, deadline):
            return process
        self._stop()
        process = self._process = _popen([*_interpreter(), "--forkserver"])
        if not self._confirm(process, deadline):
            self._stop()
            raise LaunchFailed("the holder fork server did not start", {"reason": "holder_failed"})
        return process

    def _confirm(self, process: subprocess.Popen[bytes], deadline: float) -> bool:
        """Read the server's SERVING report: is it up?"""
        assert process.stdout is not None
        report = _read_report(process.stdout.fileno(), deadline)
        if report is None or report[0] != wire.SERVING:
            return False
        self.pid = wire.SERVING_BODY.unpack_from(report[1])[0]
        self._serving = True
        return True

    def close(self) -> None:
        """Stop the server (its holders keep running). Idempotent."""
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        process, self._process, self.pid = self._process, None, None
        self._serving = False
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def _read_report(fd: int, deadline: float) -> tuple[int, bytes] | None:
    """The one start-up frame on a holder's (or fork server's) stdout, or ``None``.

    ``None`` at end of file or once ``deadline`` passes. Reads byte-exactly, never
    past the frame: the fork server's pipe carries one report per request.
    """
    head = b""
    body = b""
    length: int | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            continue
        if length is None:
            data = os.read(fd, wire.HEADER.size - len(head))
            if not data:
                return None
            head += data
            if len(head) == wire.HEADER.size:
                kind, length = wire.HEADER.unpack(head)
                if length > wire.MAX_PAYLOAD:
                    return None
        else:
            data = os.read(fd, length - len(body))
            if not data:
                return None
            body += data
        if length is not None and len(body) == length:
            return kind, body
