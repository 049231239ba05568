"""A reference terminal for screen-model tests, and byte streams that imitate real agents.

The reference is libghostty-vt driven through pyghostty's own cffi binding: a fresh
instance, independent of ``coven.screen.native``'s ctypes binding. ``state()`` reads
every cell (character, width, style, background-only colour), the cursor and the modes,
so two terminals compare cell for cell.
"""

from __future__ import annotations

import re
from typing import Any

import pyghostty
from pyghostty._ffi import ffi, lib

# Every terminal query a snapshot must never contain: device status and cursor position
# reports, device attributes (primary, secondary, tertiary), XTVERSION, DECRQM, kitty
# keyboard flags query, XTWINOPS reports, OSC colour queries, DECRQSS, XTGETTCAP,
# colour-scheme query.
QUERY = re.compile(
    rb"\x1b\[\??[0-9;]*n"
    rb"|\x1b\[[>=]?[0-9;]*c"
    rb"|\x1b\[>[0-9;]*q"
    rb"|\x1b\[\??[0-9;]*\$p"
    rb"|\x1b\[\?u"
    rb"|\x1b\[(?:14|16|18|19|20|21)(?:;[0-9]*)?t"
    rb"|\x1b\][0-9]+;(?:[0-9]+;)?\?(?:\x07|\x1b\\)"
    rb"|\x1bP\$q|\x1bP\+q"
)

FOLLOWED_MODES = (1, 7, 25, 66, 9, 1000, 1002, 1003, 1004, 1005, 1006, 1015, 1016, 2004)

_TAG_CODEPOINT = lib.GHOSTTY_CELL_CONTENT_CODEPOINT
_TAG_GRAPHEME = lib.GHOSTTY_CELL_CONTENT_CODEPOINT_GRAPHEME


def reference(cols: int, rows: int, scrollback: int = 10_000) -> pyghostty.Terminal:
    term = pyghostty.Terminal(cols, rows, scrollback=scrollback)
    return term


def replay(data: bytes, cols: int, rows: int) -> pyghostty.Terminal:
    term = reference(cols, rows)
    term.feed(data)
    return term


def _cell(term: pyghostty.Terminal, x: int, y: int) -> tuple[Any, ...]:
    ref = term.ref(x, y)
    raw = ffi.new("GhosttyCell*")
    assert lib.ghostty_grid_ref_cell(ref, raw) == 0
    tag = ffi.new("GhosttyCellContentTag*")
    lib.ghostty_cell_get(raw[0], lib.GHOSTTY_CELL_DATA_CONTENT_TAG, tag)
    wide = ffi.new("GhosttyCellWide*")
    lib.ghostty_cell_get(raw[0], lib.GHOSTTY_CELL_DATA_WIDE, wide)
    if tag[0] in (_TAG_CODEPOINT, _TAG_GRAPHEME):
        cp = ffi.new("uint32_t*")
        lib.ghostty_cell_get(raw[0], lib.GHOSTTY_CELL_DATA_CODEPOINT, cp)
        content: Any = chr(cp[0]) if cp[0] else ""
    elif tag[0] == lib.GHOSTTY_CELL_CONTENT_BG_COLOR_PALETTE:
        index = ffi.new("GhosttyColorPaletteIndex*")
        lib.ghostty_cell_get(raw[0], lib.GHOSTTY_CELL_DATA_COLOR_PALETTE, index)
        content = ("bg-only", "palette", index[0])
    else:
        rgb = ffi.new("GhosttyColorRgb*")
        lib.ghostty_cell_get(raw[0], lib.GHOSTTY_CELL_DATA_COLOR_RGB, rgb)
        content = ("bg-only", "rgb", (rgb.r, rgb.g, rgb.b))
    if wide[0] == lib.GHOSTTY_CELL_WIDE_SPACER_HEAD:
        # The blank left where a wide character did not fit and wrapped: a soft-wrap
        # mark, which snapshots do not reproduce (they redraw row by row).
        return (" ", 0)
    style = term.style(x, y)
    if content in ("", " ") and style["bg"] is None and not style["inverse"]:
        # A blank with no background shows the same whatever its other attributes.
        return (" ", wide[0])
    return (content, wide[0], tuple(sorted(style.items())))


def cells(term: pyghostty.Terminal) -> list[list[tuple[Any, ...]]]:
    cols, rows = term.size
    return [[_cell(term, x, y) for x in range(cols)] for y in range(rows)]


def state(term: pyghostty.Terminal) -> dict[str, Any]:
    """Everything about the visible screen a user or application can tell apart."""
    return {
        "cells": cells(term),
        "cursor": term.cursor,
        "pending_wrap": bool(term.get("cursor_pending_wrap", "bool")),
        "cursor_visible": bool(term.get("cursor_visible", "bool")),
        "alt_screen": term.get("active_screen", "int") == 1,
        "kitty_keyboard": term.get("kitty_keyboard_flags", "uint8_t"),
        "modes": {n: term.mode(n) for n in FOLLOWED_MODES},
        "origin": term.mode(6),
        "scroll_region": scroll_region(term),
    }


def scroll_region(term: pyghostty.Terminal) -> tuple[int, int] | None:
    """DECSTBM as the terminal holds it (1-based rows), None for the whole screen."""
    opts = pyghostty.core.init_sized("GhosttyFormatterTerminalOptions")
    opts.emit = lib.GHOSTTY_FORMATTER_FORMAT_VT
    opts.extra.scrolling_region = True
    formatter = ffi.new("GhosttyFormatter*")
    assert lib.ghostty_formatter_terminal_new(ffi.NULL, formatter, term._t[0], opts[0]) == 0
    try:
        out = pyghostty.core.read_buf(
            lambda b, n, w: lib.ghostty_formatter_format_buf(formatter[0], b, n, w)
        )
    finally:
        lib.ghostty_formatter_free(formatter[0])
    found = re.search(r"\x1b\[(\d+);(\d+)r", out)
    return (int(found.group(1)), int(found.group(2))) if found else None


def history(term: pyghostty.Terminal, lines: int) -> list[str]:
    """The last ``lines`` scrollback rows as text."""
    cols, rows = term.size
    total = term.get("total_rows", "size_t")
    kept = total - rows
    lines = min(lines, kept)
    if lines <= 0:
        return []
    sel = pyghostty.core.init_sized("GhosttySelection")
    sel.start = term.ref(0, kept - lines, "screen")[0]
    sel.end = term.ref(cols - 1, kept - 1, "screen")[0]
    text: str = term._format_sel(sel)
    out = [line.rstrip() for line in text.split("\n")]
    return out + [""] * (lines - len(out))


# -- streams imitating real programs ----------------------------------------------------

# Start-up the way Claude Code and Codex do it: bracketed paste, focus events, kitty
# keyboard push, the terminal queries they send (DA1, DSR cursor position, XTVERSION,
# DECRQM, kitty flags query, OSC colour queries), synchronized output, alternate screen,
# cursor hidden, then a full-screen frame drawn with cursor positioning.
AGENT_STARTUP = (
    b"\x1b[?2004h\x1b[>4;0m\x1b[>7u\x1b[?1004h\x1b[?u\x1b[?1007$p\x1b[c\x1b[6n"
    b"\x1b]10;?\x1b\\\x1b]11;?\x07\x1b[>0q\x1b[?2026$p"
    b"\x1b[?2026h\x1b[?25l\x1b[?1049h\x1b[>7u\x1b[1;1H\x1b[J"
    b"\x1b[2;3H\x1b[1mWelcome\x1b[22m\x1b[2;11Hto\x1b[2;14H\x1b[38;5;174mClaude Code\x1b[39m"
    b"\x1b[3;3H\x1b[38;2;215;119;87m\xe2\x95\xad\xe2\x94\x80\xe2\x94\x80\xe2\x95\xae\x1b[0m"
    b"\x1b[5;3H\x1b[48;5;236m\x1b[K> \x1b[7m \x1b[27m\x1b[0m"
    b"\x1b[7;3H\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e wide \xf0\x9f\x99\x82 emoji"
    b"\x1b[8;3H\x1b[4munderlined\x1b[24m \x1b[3mitalic\x1b[23m \x1b[9mstrike\x1b[29m"
    b"\x1b[?2026l\x1b[5;5H"
)

# A vim-like full-screen editor: alternate screen, application cursor keys and keypad,
# SGR mouse reporting (button events), a scroll region for its text area, a coloured
# status line painted by erasing with a background colour, the cursor in the text.
EDITOR = (
    b"\x1b[?1049h\x1b[22;0;0t\x1b[?1h\x1b=\x1b[?1002h\x1b[?1006h\x1b[?2004h"
    b"\x1b[H\x1b[2J\x1b[1;23r"
    + b"".join(b"\x1b[%d;1H\x1b[34m~\x1b[0m" % row for row in range(2, 24))
    + b"\x1b[1;1Hdef main():"
    b"\x1b[24;1H\x1b[44;37m\x1b[K NORMAL \x1b[0m\x1b[44m  src/main.py\x1b[0m"
    b"\x1b[1;5H"
)


def shell_lines(count: int) -> bytes:
    """A shell scrolling ``count`` numbered lines, some coloured, then a prompt."""
    parts = []
    for i in range(count):
        if i % 7 == 0:
            parts.append(b"\x1b[32mok\x1b[0m line %d\r\n" % i)
        else:
            parts.append(b"line %d of output\r\n" % i)
    parts.append(b"\x1b[1;34m~/project\x1b[0m $ ")
    return b"".join(parts)
