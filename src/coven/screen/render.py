"""Turning the emulator's state into bytes for a terminal, and into text.

The library's formatter renders cells (characters with their SGR colours and attributes)
and a few extras; this module orders them into a snapshot a terminal can replay, because
the order matters: drawing must happen with origin mode off and autowrap on, DECSTBM and
DECOM move the cursor, and cursor visibility goes last so the redraw does not flicker.
"""

from __future__ import annotations

import re

from .modes import TerminalModes, enable_sequence
from .native import (
    FORMAT_PLAIN,
    FORMAT_VT,
    POINT_ACTIVE,
    POINT_SCREEN,
    NativeTerminal,
)

# Brings any terminal's followed state to power-on values and clears its screen, without
# RIS (which may also drop the user's scrollback, palette and window title).
RESET = (
    b"\x1b[?1049l"  # back to the main screen
    b"\x1b[0m"  # default pen
    b"\x1b(B\x0f"  # ASCII character set in G0, selected
    b"\x1b[r"  # no scroll region
    b"\x1b[?6l\x1b[?7h\x1b[?25h"  # absolute origin, autowrap, visible cursor
    b"\x1b[?1l\x1b>"  # normal cursor keys and keypad
    b"\x1b[?9l\x1b[?1000l\x1b[?1002l\x1b[?1003l"  # no mouse reporting
    b"\x1b[?1005l\x1b[?1006l\x1b[?1015l\x1b[?1016l"
    b"\x1b[?1004l\x1b[?2004l"  # no focus events, no bracketed paste
    b"\x1b[<8u"  # kitty keyboard protocol: empty the flag stack
    b"\x1b[H\x1b[2J"  # home, clear
)

_REGION = re.compile(rb"\x1b\[(\d+);(\d+)r")


def _cup(row: int, col: int) -> bytes:
    return f"\x1b[{row};{col}H".encode()


def _suffix(full: bytes, content: bytes) -> bytes:
    """What the formatter appended to ``content`` when asked for an extra."""
    if not full.startswith(content):
        raise RuntimeError("libghostty-vt formatter output changed shape")
    return full[len(content) :]


def _history(emulator: NativeTerminal, rows: int, lines: int) -> bytes:
    """The last ``lines`` scrollback rows, printed and then scrolled off the screen so they
    land in the terminal's own scrollback and leave the screen blank."""
    count = min(lines, emulator.scrollback_rows)
    if count <= 0:
        return b""
    top = emulator.total_rows - rows - count
    rendered = emulator.format(emit=FORMAT_VT, tag=POINT_SCREEN, top=top, bottom=top + count - 1)
    printed = rendered.split(b"\r\n") if rendered else []
    out = bytearray()
    for line in printed:
        out += line + b"\x1b[0m\r\n"
    out += b"\r\n" * (count - len(printed))  # trailing blank lines the formatter trimmed
    out += _cup(rows, 1) + b"\n" * min(count, rows - 1)
    return bytes(out)


def render_snapshot(emulator: NativeTerminal, modes: TerminalModes, history: int) -> bytes:
    cols, rows = emulator.size
    out = bytearray(RESET)
    if modes.alt_screen:
        if modes.kitty_keyboard_main:
            out += f"\x1b[>{modes.kitty_keyboard_main}u".encode()
        out += b"\x1b[?1049h"  # enters and clears the alternate screen
    else:
        out += _history(emulator, rows, history)
    bottom = rows - 1
    content = emulator.format(emit=FORMAT_VT, tag=POINT_ACTIVE, top=0, bottom=bottom)
    tabs = emulator.format(emit=FORMAT_VT, tag=POINT_ACTIVE, top=0, bottom=bottom, tabstops=True)
    if not tabs.endswith(content):
        raise RuntimeError("libghostty-vt formatter output changed shape")
    out += tabs[: len(tabs) - len(content)]  # clears and sets tab stops, ends at home
    for y, row in enumerate(content.split(b"\r\n")):
        if row:
            out += _cup(y + 1, 1) + row
    for y, x, count, sgr in emulator.background_only_runs():
        out += _cup(y + 1, x + 1) + f"\x1b[0;{sgr}m\x1b[{count}X".encode()
    out += b"\x1b[0m"
    region = _suffix(
        emulator.format(
            emit=FORMAT_VT, tag=POINT_ACTIVE, top=0, bottom=bottom, scrolling_region=True
        ),
        content,
    )
    out += region
    top = 0
    if modes.origin:
        match = _REGION.search(region)
        top = int(match.group(1)) - 1 if match else 0
        out += b"\x1b[?6h"
    x, y = emulator.cursor
    if emulator.pending_wrap and modes.autowrap and x == cols - 1:
        # Reprint the last cell so the terminal, too, wraps before the next character.
        start = x - 1 if x > 0 and emulator.cell_is_wide_tail(x, y) else x
        cell = emulator.format(
            emit=FORMAT_VT, tag=POINT_ACTIVE, top=y, bottom=y, left=start, right=x
        )
        out += _cup(y - top + 1, start + 1) + (cell or b" ")
    else:
        out += _cup(y - top + 1, x + 1)
    out += _suffix(
        emulator.format(emit=FORMAT_VT, tag=POINT_ACTIVE, top=0, bottom=bottom, pen=True),
        content,
    )
    out += enable_sequence(modes)
    return bytes(out)


def render_text(emulator: NativeTerminal, *, ansi: bool) -> str:
    _, rows = emulator.size
    if ansi:
        raw = emulator.format(emit=FORMAT_VT, tag=POINT_ACTIVE, top=0, bottom=rows - 1)
        lines = raw.split(b"\r\n") if raw else []
    else:
        raw = emulator.format(emit=FORMAT_PLAIN, tag=POINT_ACTIVE, top=0, bottom=rows - 1)
        lines = raw.split(b"\n") if raw else []
    text = [line.decode("utf-8", "replace").rstrip(" ") for line in lines]
    text += [""] * (rows - len(text))
    return "\n".join(text)
