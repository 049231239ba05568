"""Starting a holder process: from its own interpreter, or forked by the fork server.

``python -I -S -c "...from coven.pty.holder_start import main..." --socket PATH
--session ID --buffer BYTES`` (what ``coven.pty.holder_client.spawn_holder`` runs
under ``setsid --fork``) reads one ``SPEC`` frame from stdin, listens on ``PATH``,
starts the harness, reports ``READY`` (or ``FAILED``) on stdout and runs the holder
(``coven.pty.holder``). ``--forkserver`` instead serves ``START`` requests on stdin,
forking a holder for each (see ``forkserver``). Standard library only, like every
module the holder loads: it runs without site-packages.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import struct
import sys

from coven.errors import CovenError
from coven.pty import holder_protocol as wire
from coven.pty.child import spawn
from coven.pty.dispositions import undo_inherited_ignores
from coven.pty.holder import Holder
from coven.pty.procfs import proc_start_time


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


def _umask(text: str | None) -> int | None:
    """The harness's umask from the spec (``None``: absent, the holder's own private one).

    Anything but octal digits for a mask is a daemon bug; the harness then keeps the
    holder's private mask, which loses nothing."""
    if text is None or not text or len(text) > 4 or text.strip("01234567"):
        return None
    return int(text, 8)


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
    env = dict(spec.env)
    # A prompt for the harness's stdin comes in two reserved variables the harness
    # never sees (``holder_protocol.STDIN_VARIABLE``).
    stdin_text = env.pop(wire.STDIN_VARIABLE, None)
    stdin_dir = env.pop(wire.STDIN_DIR_VARIABLE, None)
    stdin_data = None if stdin_text is None else stdin_text.encode("utf-8", "surrogateescape")
    umask = _umask(env.pop(wire.UMASK_VARIABLE, None))
    try:
        child = spawn(
            spec.argv,
            cwd=spec.cwd,
            env=env,
            rows=spec.rows,
            cols=spec.cols,
            stdin_data=stdin_data,
            stdin_dir=stdin_dir,
            umask=umask,
        )
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
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # not Python's KeyboardInterrupt
    undo_inherited_ignores()  # its harnesses start as from a terminal (see dispositions)
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
    # The daemon may start us before it sets its own private umask: holders keep theirs.
    os.umask(0o077)
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
