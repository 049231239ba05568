"""Spawning a harness on a fresh pseudo-terminal, and the handle to it.

The harness gets the PTY slave as stdin/stdout/stderr *and* as its controlling
terminal, in its own session and process group (pid == pgid == sid), so Ctrl-C
through the line discipline, job control and ``/dev/tty`` behave as in a real
terminal.

No Python code runs in the forked child (the daemon has threads): the fork and
exec are done by ``subprocess``'s C helper, which execs util-linux
``setsid --ctty``. That program is not a process-group leader when it starts, so
it does not fork: it calls ``setsid()``, makes its stdin (the slave) the
controlling terminal with ``TIOCSCTTY`` and ``execvp``s the harness, which
therefore keeps the pid that ``spawn`` returns. ``os.posix_spawn`` (setsid +
opening the slave by name) was not used because it cannot set the working
directory.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import struct
import subprocess
import termios
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from coven.errors import InvalidRequest, LaunchFailed
from coven.pty.process_group import signal_session
from coven.pty.procfs import proc_start_time
from coven.pty.stdin_file import stdin_file

_MAX_WINDOW = 0xFFFF
_SETSID_FALLBACK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class SpawnError(LaunchFailed):
    """The harness could not be started; no process was left behind.

    ``details["reason"]`` is one of ``executable_not_found``, ``cwd_not_directory``,
    ``setsid_missing``, ``exec_failed``, ``pty_failed``, ``stdin_file_failed``.
    """


class ExitStatus(NamedTuple):
    """How a harness ended: exactly one of ``code`` (normal exit) or ``signal`` is set.

    A NamedTuple, not a dataclass: ``dataclasses`` (with ``inspect``) would be most of
    what the holders' fork server imports, ~8 ms of every cold start."""

    code: int | None
    signal: int | None


def _validate_window(rows: int, cols: int) -> None:
    for name, value in (("rows", rows), ("cols", cols)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidRequest(f"{name} must be an integer", {"field": name})
        if not 1 <= value <= _MAX_WINDOW:
            raise InvalidRequest(
                f"{name} must be between 1 and {_MAX_WINDOW}", {"field": name, "value": value}
            )


def _set_window(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _keep_output_on_signal_chars(fd: int) -> None:
    """Set NOFLSH: the line discipline must not discard output when ^C/^\\/^Z is typed.

    Without it the kernel flushes the PTY's pending output right after sending
    SIGINT, racing the harness's own reply to the signal; a recorder must not
    lose that (lossless output, DESIGN decision 4). Harnesses that switch the
    terminal to raw mode are unaffected either way.
    """
    attrs = termios.tcgetattr(fd)
    attrs[3] |= termios.NOFLSH
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def _resolve_executable(name: str, cwd: str, env: Mapping[str, str]) -> str:
    """Absolute path of what ``execvp`` in the child would run, or SpawnError."""
    if "/" in name:
        candidate = os.path.normpath(os.path.join(cwd, name))
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
        found = None
    else:
        found = shutil.which(name, path=env.get("PATH", os.defpath))
    if found is None:
        raise SpawnError(
            f"executable not found: {name}",
            {"reason": "executable_not_found", "executable": name},
        )
    return os.path.abspath(found)


def _find_setsid() -> str:
    found = shutil.which("setsid", path=_SETSID_FALLBACK_PATH)
    if found is None:
        raise SpawnError("util-linux setsid is not installed", {"reason": "setsid_missing"})
    return found


class PtyChild:
    """A running harness on a PTY: the master fd, the process, and its exit.

    ``pid`` == ``pgid`` == the session id. Reads and writes never block.
    The owner must reap the process (``poll_exit`` until it returns a status,
    e.g. when ``pidfd`` becomes readable) and call ``close``; dropping a handle
    whose process was never reaped makes ``subprocess`` warn (ResourceWarning).
    """

    def __init__(self, process: subprocess.Popen[bytes], master_fd: int) -> None:
        self._process = process
        self.pid: int = process.pid
        self.pgid: int = process.pid
        self.master_fd: int = master_fd
        # pidfd_open on our own unreaped child cannot race with pid reuse.
        self.pidfd: int = os.pidfd_open(process.pid)
        start = proc_start_time(process.pid)
        self.start_time: int | None = start
        self._exit: ExitStatus | None = None
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once ``close`` has run."""
        return self._closed

    def read(self, max_bytes: int = 65536) -> bytes | None:
        """Up to ``max_bytes`` of output without blocking.

        ``None``: nothing to read now. ``b""``: end of output — on Linux the
        master reports EIO once every slave fd is closed (the harness and all
        its children exited), which is EOF, not an error. Also ``b""`` after
        ``close``.
        """
        if max_bytes < 1:
            raise InvalidRequest("max_bytes must be positive", {"max_bytes": max_bytes})
        if self._closed:
            return b""
        try:
            return os.read(self.master_fd, max_bytes)
        except BlockingIOError:
            return None
        except OSError as exc:
            if exc.errno == errno.EIO:
                return b""
            raise

    def write(self, data: bytes) -> int:
        """Write to the harness's terminal without blocking; bytes accepted (0 = buffer full).

        Raises ``OSError`` (EBADF) after ``close``. After the harness exited the
        kernel still accepts (and discards) writes: learn of exit from ``poll_exit``.
        """
        if self._closed:
            raise OSError(errno.EBADF, "PTY is closed")
        if not data:
            return 0
        try:
            return os.write(self.master_fd, data)
        except BlockingIOError:
            return 0

    def resize(self, rows: int, cols: int) -> None:
        """Set the window size; the kernel sends SIGWINCH to the foreground process group."""
        _validate_window(rows, cols)
        if self._closed:
            raise OSError(errno.EBADF, "PTY is closed")
        _set_window(self.master_fd, rows, cols)

    def poll_exit(self) -> ExitStatus | None:
        """The exit status once the harness has exited (reaping it), else ``None``. Never blocks."""
        if self._exit is None:
            code = self._process.poll()
            if code is not None:
                self._exit = (
                    ExitStatus(code=None, signal=-code)
                    if code < 0
                    else ExitStatus(code=code, signal=None)
                )
        return self._exit

    def signal_group(self, sig: int) -> None:
        """Send ``sig`` to the harness's whole session (its sid is its pid)."""
        signal_session(self.pgid, sig)

    def close(self) -> None:
        """Close the master and the pidfd. Idempotent; does not signal or reap the process."""
        if self._closed:
            return
        self._closed = True
        for fd in (self.master_fd, self.pidfd):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __repr__(self) -> str:
        return f"PtyChild(pid={self.pid}, closed={self._closed}, exit={self._exit})"


def spawn(
    argv: Sequence[str],
    *,
    cwd: str,
    env: Mapping[str, str],
    rows: int,
    cols: int,
    stdin_data: bytes | None = None,
    stdin_dir: str | None = None,
    umask: int | None = None,
) -> PtyChild:
    """Start ``argv`` on a new PTY as a session leader with that PTY as controlling terminal.

    ``argv[0]`` is resolved in the parent (against ``env["PATH"]``, or relative
    to ``cwd`` when it contains a slash) and the harness is exec'd by absolute
    path, so the harness sees the resolved path as its ``argv[0]``. ``env`` is
    the complete environment. Raises ``SpawnError`` (no process left) for a
    missing executable, a missing or non-directory ``cwd``, or an exec failure;
    ``InvalidRequest`` for an empty argv, NUL bytes, or a window size outside
    1..65535.

    The terminal starts in the kernel's default cooked mode, plus NOFLSH (see
    ``_keep_output_on_signal_chars``).

    Signal dispositions set to "ignore" in the calling process (other than SIGPIPE
    and SIGXFSZ, which are restored) are inherited by the harness: the daemon and the
    holders undo inherited ignores of the signals that end a harness first
    (``coven.pty.dispositions``).

    With ``stdin_data`` (and ``stdin_dir``, a directory for ``stdin_file``) the
    harness reads those bytes, then end-of-file, on stdin; stdout and stderr
    stay on the PTY. Such a harness has no controlling terminal (``setsid
    --ctty`` takes it from stdin), like the reference daemon's piped launches:
    input typed into the PTY does not reach it and ``/dev/tty`` cannot be opened.

    ``umask`` is the harness's file-creation mask (``None``: this process's own). The
    daemon runs with a private one and passes the user's, so files an agent creates get
    the permissions they would get had the user run it from their shell.
    """
    if isinstance(argv, str | bytes) or not argv:
        raise InvalidRequest("argv must be a non-empty list of strings")
    if not all(isinstance(arg, str) and "\0" not in arg for arg in argv) or not argv[0]:
        raise InvalidRequest("argv must be strings without NUL bytes and a non-empty argv[0]")
    for key, value in env.items():
        if not key or "=" in key or "\0" in key or "\0" in value:
            raise InvalidRequest("invalid environment variable", {"name": key})
    _validate_window(rows, cols)
    if not isinstance(cwd, str) or not os.path.isabs(cwd) or not os.path.isdir(cwd):
        raise SpawnError(
            f"working directory is not a directory: {cwd}",
            {"reason": "cwd_not_directory", "cwd": cwd},
        )
    executable = _resolve_executable(argv[0], cwd, env)
    setsid = _find_setsid()
    stdin_fd: int | None = None
    if stdin_data is not None:
        if stdin_dir is None:
            raise InvalidRequest("stdin_data needs stdin_dir")
        try:
            stdin_fd = stdin_file(stdin_data, stdin_dir)
        except OSError as exc:
            raise SpawnError(
                f"cannot hand the prompt to the harness on stdin: {exc.strerror or exc}",
                {"reason": "stdin_file_failed", "path": stdin_dir},
            ) from exc
    try:
        return _spawn_on_pty(argv, setsid, executable, cwd, env, rows, cols, stdin_fd, umask)
    finally:
        if stdin_fd is not None:
            os.close(stdin_fd)  # the harness has its own copy


def _spawn_on_pty(
    argv: Sequence[str],
    setsid: str,
    executable: str,
    cwd: str,
    env: Mapping[str, str],
    rows: int,
    cols: int,
    stdin_fd: int | None,
    umask: int | None,
) -> PtyChild:
    try:
        master, slave = os.openpty()  # both O_CLOEXEC (non-inheritable)
    except OSError as exc:
        raise SpawnError(f"cannot open a PTY: {exc}", {"reason": "pty_failed"}) from exc
    wrapper = [setsid, "--ctty", "--"] if stdin_fd is None else [setsid, "--"]
    try:
        _set_window(slave, rows, cols)
        _keep_output_on_signal_chars(slave)
        os.set_blocking(master, False)
        try:
            process = subprocess.Popen(
                [*wrapper, executable, *argv[1:]],
                stdin=slave if stdin_fd is None else stdin_fd,
                stdout=slave,
                stderr=slave,
                cwd=cwd,
                env=dict(env),
                close_fds=True,
                umask=-1 if umask is None else umask,
            )
        except OSError as exc:
            raise SpawnError(
                f"cannot start {argv[0]}: {exc.strerror or exc}",
                {"reason": "exec_failed", "executable": executable},
            ) from exc
    except BaseException:
        os.close(master)
        raise
    finally:
        # The parent must not hold the slave: EOF on the master comes only
        # once every slave fd is closed.
        os.close(slave)
    try:
        return PtyChild(process, master)
    except BaseException:
        # pidfd_open cannot fail for our own unreaped child short of fd
        # exhaustion; do not leave a process nobody can reach.
        process.kill()
        process.wait()
        os.close(master)
        raise
