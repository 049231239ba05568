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
from array import array

from .abi import (
    FORMAT_VT,
    POINT_ACTIVE,
    WIDE_SPACER_HEAD,
    WIDE_SPACER_TAIL,
    Color,
    Style,
    cell_wide,
)
from .modes import TerminalModes, enable_sequence
from .native import NativeTerminal

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
# Byte tables for RowEncoder._plain: a cell's lowest byte holds its content tag (2 bits)
# and code point bits 0-5; the next byte code point bits 6-13.
_TAG = bytes(i & 3 for i in range(256))
_LOW_SIX = bytes(i >> 2 for i in range(256))
_SEVENTH = bytes((i & 1) << 6 for i in range(256))
_GAP = re.compile(rb"\0+")


def _move(gap: re.Match[bytes]) -> bytes:
    """Unwritten cells: move over them, as the application did."""
    width = gap.end() - gap.start()
    return f"\x1b[{width}C".encode() if width > 1 else b"\x1b[C"


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


class RowEncoder:
    """Encodes rows of packed cells read from ``emulator`` into text with SGR colours.

    The per-cell loop is the cost of a render (a 1,000-line history at 200 columns is
    200,000 cells), so fields are decoded inline with shifts rather than through the
    ``native.cell_*`` helpers, output is built as ``str`` pieces, and a style is looked
    up (a few foreign calls) once per storage page and style id."""

    def __init__(self, emulator: NativeTerminal) -> None:
        self._emulator = emulator
        self._sgr: dict[tuple[int, int], str] = {}

    def _style(self, page: int, style_id: int, x: int, y: int) -> str:
        key = (page, style_id)
        found = self._sgr.get(key)
        if found is None:
            found = sgr(self._emulator.style(x, y)).decode()
            self._sgr[key] = found
        return found

    def encode(
        self,
        cells: array[int],
        y: int,
        start: int = 0,
        end: int | None = None,
        *,
        gaps: bool = False,
    ) -> str:
        """Cells ``start``..``end`` of screen row ``y`` printed from column ``start``, the
        pen reset at the end. Unwritten cells are skipped with cursor-forward (exact), or
        with ``gaps`` printed as default blanks (for text); trailing ones are left out.
        Background-only cells are erased with their colour (ECH), or printed as coloured
        blanks with ``gaps``."""
        stop = len(cells) if end is None else min(end, len(cells))
        while stop > start and not cells[stop - 1]:
            stop -= 1
        if stop <= start:
            return ""
        if start == 0:
            fast = self._plain(cells[:stop], y, gaps)
            if fast is not None:
                return fast
        out: list[str] = []
        append = out.append
        page = -1
        pen = 0  # style id in effect; -1 after a background-only run
        gap = 0
        x = start
        while x < stop:
            cell = cells[x]
            if not cell:
                gap += 1
                x += 1
                continue
            if gap:
                if not gaps:
                    append(f"\x1b[{gap}C" if gap > 1 else "\x1b[C")
                else:
                    if pen:
                        append("\x1b[0m")
                        pen = 0
                    append(" " * gap)
                gap = 0
            if cell & 2:  # content tag 2 or 3: background colour only
                run = x + 1
                while run < stop and cells[run] == cell:
                    run += 1
                if cell & 1:
                    colour: Color = ((cell >> 2) & 0xFF, (cell >> 10) & 0xFF, (cell >> 18) & 0xFF)
                else:
                    colour = ((cell >> 2) & 0xFF,)
                append(sgr(Style(bg=colour)).decode())
                n = run - x
                append(" " * n if gaps else f"\x1b[{n}X\x1b[{n}C")
                pen = -1
                x = run
                continue
            meta = cell >> 26
            wide = (meta >> 16) & 3
            if wide == WIDE_SPACER_HEAD:
                # The blank left where a wide character did not fit: a terminal leaves
                # it unstyled, whatever pen the emulator filed it under.
                if pen:
                    append("\x1b[0m")
                    pen = 0
                append(" ")
                x += 1
                continue
            style_id = meta & 0xFFFF
            if style_id != pen:
                if style_id:
                    if page < 0:
                        page = self._emulator.page_of(y)
                    append(self._style(page, style_id, x, y))
                else:
                    append("\x1b[0m")
                pen = style_id
            if wide == WIDE_SPACER_TAIL:
                x += 1
                continue
            if cell & 1:  # a grapheme cluster: more than one code point
                append(self._emulator.grapheme(x, y))
            else:
                codepoint = (cell >> 2) & 0x1FFFFF
                append(chr(codepoint) if codepoint else " ")
            x += 1
        if pen:
            append("\x1b[0m")
        return "".join(out)

    def _plain(self, cells: array[int], y: int, gaps: bool) -> str | None:
        """The common row -- narrow ASCII characters in a single style, maybe with
        unwritten gaps -- encoded without a per-cell loop: the cells' bytes are split into
        per-byte streams and the characters reassembled with C-speed byte operations.
        None for any other row."""
        raw = cells.tobytes()
        b0, b1, b2 = raw[0::8], raw[1::8], raw[2::8]
        count = len(b0)
        b3, b4, b5 = raw[3::8], raw[4::8], raw[5::8]
        if (
            b2.count(0) != count  # code point above U+3FFF, or a colour
            or b1.translate(None, b"\x00\x01")  # code point above U+007F
            or b0.translate(_TAG).count(0) != count  # a grapheme or background-only cell
            or b3.count(b3[0]) != count  # style id, width class ...
            or b4.count(b4[0]) != count
            or b5.count(b5[0]) != count
            or b5[0] & 0x0C  # a wide character
        ):
            return None
        chars = (
            int.from_bytes(b0.translate(_LOW_SIX), "big")
            | int.from_bytes(b1.translate(_SEVENTH), "big")
        ).to_bytes(count, "big")
        style_id = (b3[0] >> 2) | (b4[0] << 6) | ((b5[0] & 3) << 14)
        if style_id:
            # Blank cells carry the style: print them as spaces in it.
            body = chars.replace(b"\0", b" ").decode("ascii")
            return self._style(self._emulator.page_of(y), style_id, 0, y) + body + "\x1b[0m"
        if gaps:
            return chars.replace(b"\0", b" ").decode("ascii")
        return _GAP.sub(_move, chars).decode("ascii")

    def text(self, cells: array[int], y: int) -> str:
        """The characters of screen row ``y``, trailing blanks trimmed."""
        chars: list[str] = []
        append = chars.append
        for x, cell in enumerate(cells):
            meta = cell >> 26
            if (meta >> 16) & 3 == WIDE_SPACER_TAIL:
                continue
            if cell & 2:
                append(" ")
            elif cell & 1:
                append(self._emulator.grapheme(x, y))
            else:
                codepoint = (cell >> 2) & 0x1FFFFF
                append(chr(codepoint) if codepoint else " ")
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
    encoder = RowEncoder(emulator)
    printed = [
        encoder.encode(cells, first + i) + "\r\n"
        for i, cells in enumerate(emulator.read_rows(first, count))
    ]
    return "".join(printed).encode() + _cup(rows, 1) + b"\n" * min(count, rows - 1)


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
    first = emulator.total_rows - rows
    screen = emulator.read_rows(first, rows)
    encoder = RowEncoder(emulator)
    drawn: list[str] = []
    for y, cells in enumerate(screen):
        encoded = encoder.encode(cells, first + y)
        if encoded:
            drawn.append(f"\x1b[{y + 1};1H{encoded}")
    out += "".join(drawn).encode()
    out += region
    top = 0
    if emulator.mode(6):  # DECOM, origin mode: addressing relative to the scroll region
        match = _REGION.search(region)
        top = int(match.group(1)) - 1 if match else 0
        out += b"\x1b[?6h"
    x, y = emulator.cursor
    if emulator.pending_wrap and modes.autowrap and x == cols - 1 and y < len(screen):
        # Reprint the last cell so the terminal, too, wraps before the next character.
        cells = screen[y]
        start = x - 1 if x > 0 and cell_wide(cells[x]) == WIDE_SPACER_TAIL else x
        last = encoder.encode(cells, first + y, start, x + 1) or " "
        out += _cup(y - top + 1, start + 1) + last.encode()
    else:
        out += _cup(y - top + 1, x + 1)
    out += pen
    out += enable_sequence(modes)
    return bytes(out)


def render_text(emulator: NativeTerminal, *, ansi: bool, history: int = 0) -> str:
    _, rows = emulator.size
    kept = min(history, emulator.scrollback_rows)
    first = emulator.total_rows - rows - kept
    encoder = RowEncoder(emulator)
    found = emulator.read_rows(first, rows + kept)
    if ansi:
        lines = [encoder.encode(cells, first + y, gaps=True) for y, cells in enumerate(found)]
    else:
        lines = [encoder.text(cells, first + y) for y, cells in enumerate(found)]
    return "\n".join(lines)
