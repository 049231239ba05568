"""The caller's terminal: TTY checks, window size, raw mode, and putting it back.

``taken_over`` is the one way the CLI borrows a terminal for an attachment:
raw mode in, and on every way out (return, exception, signal-driven exit) the
modes an agent may have switched on are switched off (``RESTORE``), the cursor
goes to a fresh line and the saved termios settings come back.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import termios
import tty
from collections.abc import Iterator, Mapping

DEFAULT_ROWS = 24
DEFAULT_COLS = 80

_CSI = "\x1b["
# What any full-screen agent may have changed, undone unconditionally (sending a
# reset for a mode that is already off is harmless). The kitty keyboard flags
# are per screen, so they are reset on the alternate screen before leaving it
# and again on the main one (``CSI = 0 ; 1 u`` sets them to 0, ``CSI < 99 u``
# empties the stack). DECSTBM (scroll region) and DECOM (origin mode) move the
# cursor home, so they run between a cursor save (ESC 7) and restore (ESC 8).
_KITTY_RESET = _CSI + "=0;1u" + _CSI + "<99u"
_LEAVE_ALTERNATE = _KITTY_RESET + _CSI + "?1049l"
RESTORE = "".join(
    [
        _KITTY_RESET,
        "\x1b7",
        _CSI + "r",  # scroll region: the whole screen
        _CSI + "?6l",  # origin mode off
        "\x1b8",
        _CSI + "?25h",  # cursor visible
        _CSI + "0 q",  # cursor shape: the terminal's default
        _CSI + "?9l",  # X10 mouse
        _CSI + "?1000l",  # mouse: clicks
        _CSI + "?1002l",  # mouse: drags
        _CSI + "?1003l",  # mouse: all motion
        _CSI + "?1005l",  # mouse: UTF-8 coordinates
        _CSI + "?1006l",  # mouse: SGR coordinates
        _CSI + "?1015l",  # mouse: urxvt coordinates
        _CSI + "?1004l",  # focus events
        _CSI + "?2031l",  # colour-scheme change reports
        _CSI + "?2004l",  # bracketed paste
        _CSI + "?1l",  # application cursor keys off
        "\x1b>",  # numeric keypad
        _CSI + "?7h",  # autowrap on
        _CSI + ">4m",  # xterm modifyOtherKeys back to the terminal's setting
        _CSI + "0m",  # attributes and colours
    ]
).encode()
_ERASE_BELOW = b"\x1b[J"
# DEC private mode sets and resets; 1049, 1047 and 47 switch screens.
_PRIVATE_MODES = re.compile(rb"\x1b\[\?([0-9;]*)([hl])")
_SCREEN_MODES = {b"1049", b"1047", b"47"}


class ScreenState:
    """What the terminal shows, followed from the bytes written to it.

    Leaving the alternate screen (``CSI ? 1049 l``) also restores the cursor the
    terminal saved, even when it was not on the alternate screen, which would
    put the closing line on top of the output; so the restore leaves it only
    when the output entered it. ``at_line_start`` is whether the cursor is known
    to be at the start of an empty line once the restore is done.
    """

    def __init__(self) -> None:
        self.alternate = False
        self._last_byte = b"\n"
        self._main_at_line_start = True

    def see(self, data: bytes) -> None:
        if not data:
            return
        if b"\x1b[?" in data:
            for match in _PRIVATE_MODES.finditer(data):
                if _SCREEN_MODES.intersection(match.group(1).split(b";")):
                    entering = match.group(2) == b"h"
                    if entering and not self.alternate:
                        before = data[: match.start()][-1:] or self._last_byte
                        self._main_at_line_start = before == b"\n"
                    self.alternate = entering
        self._last_byte = data[-1:]

    @property
    def at_line_start(self) -> bool:
        if self.alternate:
            return self._main_at_line_start
        return self._last_byte == b"\n"

    def restore_bytes(self) -> bytes:
        """``RESTORE`` (leaving the alternate screen first when in it), then a fresh line.

        What is below that line is erased: an agent drawing on the main screen
        (Claude Code does) leaves its input box and footer under the cursor,
        and the closing line and the shell's prompt must not land inside them.
        """
        leave = _LEAVE_ALTERNATE.encode() if self.alternate else b""
        fresh = b"\r" if self.at_line_start else b"\r\n"
        return leave + RESTORE + fresh + _ERASE_BELOW


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


def restore_screen(fd: int, screen: ScreenState) -> None:
    """Write ``screen.restore_bytes()``; a terminal that has gone away is ignored."""
    with contextlib.suppress(OSError):
        write_all(fd, screen.restore_bytes())


class Hangup(SystemExit):
    """SIGHUP/SIGTERM arrived while the terminal was taken over but no attachment ran."""


def _hang_up(signum: int, _frame: object) -> None:
    raise Hangup(128 + signum)


@contextlib.contextmanager
def taken_over(in_fd: int | None, out_fd: int, screen: ScreenState) -> Iterator[None]:
    """Borrow the terminal for an attachment and give it back on every way out.

    ``in_fd`` (a terminal, or ``None`` when input is not read) goes to raw mode.
    On leaving, by return, exception or SIGHUP/SIGTERM, the screen is restored
    on ``out_fd`` when it is a terminal (see ``ScreenState.restore_bytes``),
    then the saved termios settings. While inside, SIGHUP/SIGTERM raise
    ``Hangup`` unless an attachment has installed its own handlers.
    """
    previous = {sig: signal.signal(sig, _hang_up) for sig in (signal.SIGHUP, signal.SIGTERM)}
    try:
        with contextlib.ExitStack() as stack:
            if in_fd is not None:
                stack.enter_context(raw_mode(in_fd))
            if os.isatty(out_fd):
                stack.callback(restore_screen, out_fd, screen)
            yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


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
