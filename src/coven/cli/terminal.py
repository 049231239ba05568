"""The caller's terminal: TTY checks, window size, and raw mode that is always undone."""

from __future__ import annotations

import contextlib
import os
import termios
import tty
from collections.abc import Iterator, Mapping

DEFAULT_ROWS = 24
DEFAULT_COLS = 80
DETACH_KEY = b"\x1d"  # Ctrl-]


def is_interactive(stdin_fd: int = 0, stdout_fd: int = 1) -> bool:
    """Both stdin and stdout are terminals: the only case where we take over the terminal."""
    return os.isatty(stdin_fd) and os.isatty(stdout_fd)


def window_size(fd: int | None, env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """``(rows, cols)``: the terminal on ``fd`` if it is one, else ``LINES``/``COLUMNS``, else 24x80."""
    if fd is not None and os.isatty(fd):
        with contextlib.suppress(OSError):
            size = os.get_terminal_size(fd)
            if size.lines > 0 and size.columns > 0:
                return size.lines, size.columns
    env = os.environ if env is None else env
    return _env_dimension(env, "LINES", DEFAULT_ROWS), _env_dimension(env, "COLUMNS", DEFAULT_COLS)


def _env_dimension(env: Mapping[str, str], name: str, default: int) -> int:
    try:
        value = int(env.get(name, ""))
    except ValueError:
        return default
    return value if 0 < value <= 1000 else default


@contextlib.contextmanager
def raw_mode(fd: int) -> Iterator[None]:
    """Put the terminal on ``fd`` in raw mode; restore the saved settings on every exit path.

    Raw mode turns off signal keys (Ctrl-C, Ctrl-Z reach the harness as bytes),
    echo and line editing. ``TCSANOW`` keeps keys typed ahead. Restoring a
    terminal that has gone away (hang-up) fails quietly.
    """
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSANOW)
        yield
    finally:
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(fd, termios.TCSANOW, saved)


def split_detach(data: bytes) -> tuple[bytes, bool]:
    """The bytes to forward before the detach key, and whether the key was pressed."""
    index = data.find(DETACH_KEY)
    if index < 0:
        return data, False
    return data[:index], True


def write_all(fd: int, data: bytes) -> None:
    """Write every byte (terminals and pipes may take less than asked)."""
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        except BlockingIOError:
            import select

            select.select([], [fd], [])
            continue
        view = view[written:]
