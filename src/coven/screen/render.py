"""Turning the emulator's state into bytes for a terminal, and into text.

Cells are encoded here from the library's raw rows rather than by its formatter: the
formatter prints the unwritten cells between two words in the previous word's colours
and drops cells that hold only a background colour, both of which agent and editor
screens are full of. The formatter still provides the extras it gets right (tab stops,
scroll region, the cursor's pen and character sets). The order of the snapshot matters:
cells are drawn with origin mode off and autowrap on, DECSTBM and DECOM move the cursor,
cursor visibility comes last so the redraw does not flicker.
"""

from __future__ import annotations

import re

from .modes import TerminalModes, enable_sequence
from .native import (
    CONTENT_BG_PALETTE,
    CONTENT_BG_RGB,
    CONTENT_GRAPHEME,
    DEFAULT_STYLE,
    FORMAT_VT,
    POINT_ACTIVE,
    WIDE_SPACER_HEAD,
    WIDE_SPACER_TAIL,
    Color,
    NativeTerminal,
    Row,
    Style,
    cell_codepoint,
    cell_palette,
    cell_rgb,
    cell_style_id,
    cell_tag,
    cell_wide,
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
_UNDERLINES = {1: "4", 2: "4:2", 3: "4:3", 4: "4:4", 5: "4:5"}


def _cup(row: int, col: int) -> bytes:
    return f"\x1b[{row};{col}H".encode()


def _colour(color: Color, base: int, bright: int | None, extended: int) -> str:
    if color is None:
        return ""
    if len(color) == 1:
        index = color[0]
        if bright is not None and index < 8:
            return f";{base + index}"
        if bright is not None and index < 16:
            return f";{bright + index - 8}"
        return f";{extended};5;{index}"
    r, g, b = color
    return f";{extended};2;{r};{g};{b}"


def sgr(style: Style) -> bytes:
    """The SGR sequence that sets exactly ``style`` (from a reset)."""
    params = "0"
    for on, code in (
        (style.bold, ";1"),
        (style.faint, ";2"),
        (style.italic, ";3"),
        (style.blink, ";5"),
        (style.inverse, ";7"),
        (style.invisible, ";8"),
        (style.strikethrough, ";9"),
        (style.overline, ";53"),
    ):
        if on:
            params += code
    if style.underline:
        params += ";" + _UNDERLINES.get(style.underline, "4")
    params += _colour(style.fg, 30, 90, 38)
    params += _colour(style.bg, 40, 100, 48)
    params += _colour(style.underline_color, 0, None, 58)
    return f"\x1b[{params}m".encode()


def encode_row(row: Row, start: int = 0, end: int | None = None, *, gaps: str = "move") -> bytes:
    """Cells ``start``..``end`` of ``row`` as bytes printed from column ``start``, with
    the pen reset at the end. Unwritten cells are skipped with cursor-forward (``gaps=
    "move"``, exact) or printed as default blanks (``"spaces"``, for text); trailing ones
    are left out. Background-only cells are erased with their colour (ECH)."""
    cells = row.cells
    stop = len(cells) if end is None else min(end, len(cells))
    while stop > start and not cells[stop - 1]:
        stop -= 1
    out = bytearray()
    pen: Style | None = DEFAULT_STYLE
    gap = 0
    x = start
    while x < stop:
        cell = cells[x]
        if not cell:
            gap += 1
            x += 1
            continue
        if gap:
            if gaps == "move":
                out += f"\x1b[{gap}C".encode() if gap > 1 else b"\x1b[C"
            else:
                if pen != DEFAULT_STYLE:
                    out += b"\x1b[0m"
                    pen = DEFAULT_STYLE
                out += b" " * gap
            gap = 0
        tag = cell_tag(cell)
        if tag >= CONTENT_BG_PALETTE:
            run = x + 1
            while run < stop and cells[run] == cell:
                run += 1
            colour: Color = (cell_palette(cell),) if tag == CONTENT_BG_PALETTE else cell_rgb(cell)
            background = Style(bg=colour)
            out += sgr(background)
            if gaps == "move":
                out += f"\x1b[{run - x}X\x1b[{run - x}C".encode()
            else:
                out += b" " * (run - x)
            pen = background
            x = run
            continue
        wide = cell_wide(cell)
        if wide == WIDE_SPACER_TAIL:
            x += 1
            continue
        style = row.styles.get(cell_style_id(cell), DEFAULT_STYLE)
        if style != pen:
            out += sgr(style)
            pen = style
        if wide == WIDE_SPACER_HEAD:
            text = " "
        elif tag == CONTENT_GRAPHEME:
            text = row.graphemes.get(x, " ")
        else:
            codepoint = cell_codepoint(cell)
            text = chr(codepoint) if codepoint else " "
        out += text.encode("utf-8", "surrogatepass")
        x += 1
    if pen != DEFAULT_STYLE:
        out += b"\x1b[0m"
    return bytes(out)


def row_text(row: Row) -> str:
    """The characters of ``row``, trailing blanks trimmed."""
    chars: list[str] = []
    for x, cell in enumerate(row.cells):
        if cell_wide(cell) == WIDE_SPACER_TAIL:
            continue
        tag = cell_tag(cell)
        if tag == CONTENT_GRAPHEME:
            chars.append(row.graphemes.get(x, " "))
        elif tag in (CONTENT_BG_PALETTE, CONTENT_BG_RGB):
            chars.append(" ")
        else:
            codepoint = cell_codepoint(cell)
            chars.append(chr(codepoint) if codepoint else " ")
    return "".join(chars).rstrip(" ")


def _suffix(full: bytes, content: bytes) -> bytes:
    """What the formatter appended to ``content`` when asked for an extra."""
    if not full.startswith(content):
        raise RuntimeError("libghostty-vt formatter output changed shape")
    return full[len(content) :]


def _extras(emulator: NativeTerminal) -> tuple[bytes, bytes, bytes]:
    """Tab stops (ending with the cursor at home), DECSTBM, and the cursor's pen,
    hyperlink and character sets, as the library's formatter writes them."""
    plain = emulator.format(emit=FORMAT_VT, tag=POINT_ACTIVE, top=0, bottom=0)
    tabs = emulator.format(emit=FORMAT_VT, tag=POINT_ACTIVE, top=0, bottom=0, tabstops=True)
    if not tabs.endswith(plain):
        raise RuntimeError("libghostty-vt formatter output changed shape")
    region = emulator.format(
        emit=FORMAT_VT, tag=POINT_ACTIVE, top=0, bottom=0, scrolling_region=True
    )
    pen = emulator.format(emit=FORMAT_VT, tag=POINT_ACTIVE, top=0, bottom=0, pen=True)
    return tabs[: len(tabs) - len(plain)], _suffix(region, plain), _suffix(pen, plain)


def _history(emulator: NativeTerminal, rows: int, lines: int) -> bytes:
    """The last ``lines`` scrollback rows, printed and then scrolled off the screen so they
    land in the terminal's own scrollback and leave the screen blank."""
    count = min(lines, emulator.scrollback_rows)
    if count <= 0:
        return b""
    first = emulator.total_rows - rows - count
    out = bytearray()
    for row in emulator.read_history(first, count):
        out += encode_row(row) + b"\r\n"
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
    tabs, region, pen = _extras(emulator)
    out += tabs
    screen = emulator.read_viewport()
    for y, row in enumerate(screen):
        encoded = encode_row(row)
        if encoded:
            out += _cup(y + 1, 1) + encoded
    out += region
    top = 0
    if modes.origin:
        match = _REGION.search(region)
        top = int(match.group(1)) - 1 if match else 0
        out += b"\x1b[?6h"
    x, y = emulator.cursor
    if emulator.pending_wrap and modes.autowrap and x == cols - 1 and y < len(screen):
        # Reprint the last cell so the terminal, too, wraps before the next character.
        row = screen[y]
        start = x - 1 if x > 0 and cell_wide(row.cells[x]) == WIDE_SPACER_TAIL else x
        out += _cup(y - top + 1, start + 1) + (encode_row(row, start, x + 1) or b" ")
    else:
        out += _cup(y - top + 1, x + 1)
    out += pen
    out += enable_sequence(modes)
    return bytes(out)


def render_text(emulator: NativeTerminal, *, ansi: bool) -> str:
    screen = emulator.read_viewport()
    if ansi:
        lines = [encode_row(row, gaps="spaces").decode("utf-8", "replace") for row in screen]
    else:
        lines = [row_text(row) for row in screen]
    return "\n".join(lines)
