"""libghostty-vt, Ghostty's terminal emulator core: one headless terminal, fed bytes,
read back as rows of packed cells (the only code here that calls the native library;
its ABI is declared in ``abi.py``).

ctypes releases the GIL around every foreign call, so a long ``write`` (the parser runs
at roughly 60-400 MiB/s depending on the output) does not stop other Python threads.

Not thread-safe: one thread at a time per ``NativeTerminal`` (``ScreenModel`` serialises).
"""

from __future__ import annotations

import ctypes
import weakref
from array import array
from typing import Any

from .abi import (
    DATA_ACTIVE_SCREEN,
    DATA_COLS,
    DATA_CURSOR_PENDING_WRAP,
    DATA_CURSOR_VISIBLE,
    DATA_CURSOR_X,
    DATA_CURSOR_Y,
    DATA_KITTY_KEYBOARD_FLAGS,
    DATA_MODE,
    DATA_ROWS,
    DATA_SCROLLBACK_ROWS,
    DATA_TOTAL_ROWS,
    OPT_SCROLLBACK_MAX_BYTES,
    OPT_SCROLLBACK_MAX_LINES,
    OUT_OF_SPACE,
    POINT_SCREEN,
    RS_DATA_ROW_ITERATOR,
    RS_ROW_CELLS_RAW,
    SCREEN_ALTERNATE,
    SCROLL_BOTTOM,
    SCROLL_ROW,
    STYLE_COLOR_PALETTE,
    STYLE_COLOR_RGB,
    CellsView,
    Color,
    FormatterTerminalOptions,
    GridRef,
    Point,
    PointValue,
    ScrollViewport,
    ScrollViewportValue,
    Selection,
    Style,
    StyleColor,
    StyleStruct,
    TerminalModeConfig,
    check,
    load,
    sized,
)


class NativeTerminal:
    """One headless terminal: feed it bytes, read its state, render rows as VT or text."""

    def __init__(self, cols: int, rows: int, scrollback_bytes: int) -> None:
        self._lib = load()
        handle = ctypes.c_void_p()
        check(self._lib.ghostty_terminal_new(None, ctypes.byref(handle), cols, rows), "new")
        self._handle: int = handle.value or 0
        self._finalizer = weakref.finalize(self, self._lib.ghostty_terminal_free, self._handle)
        check(self._lib.ghostty_terminal_set(self._handle, OPT_SCROLLBACK_MAX_LINES, None), "lines")
        self.set_scrollback_bytes(scrollback_bytes)

    def close(self) -> None:
        self._finalizer()

    def write(self, data: bytes) -> None:
        if data:
            self._lib.ghostty_terminal_vt_write(self._handle, data, len(data))

    def resize(self, cols: int, rows: int) -> None:
        check(self._lib.ghostty_terminal_resize(self._handle, cols, rows, 8, 16), "resize")

    def set_scrollback_bytes(self, limit: int) -> None:
        """Bound the scrollback by bytes only: the library's line limit prunes line by line
        and costs up to ten times more per scrolled line than the byte limit, which drops
        whole pages."""
        value = ctypes.c_size_t(limit)
        check(
            self._lib.ghostty_terminal_set(
                self._handle, OPT_SCROLLBACK_MAX_BYTES, ctypes.byref(value)
            ),
            "scrollback",
        )

    def _get(self, key: int, out: Any) -> Any:
        check(self._lib.ghostty_terminal_get(self._handle, key, ctypes.byref(out)), "get")
        return out.value

    @property
    def size(self) -> tuple[int, int]:
        cols: int = self._get(DATA_COLS, ctypes.c_uint16())
        rows: int = self._get(DATA_ROWS, ctypes.c_uint16())
        return cols, rows

    @property
    def cursor(self) -> tuple[int, int]:
        """Cursor column and row in the active area, 0-based."""
        x: int = self._get(DATA_CURSOR_X, ctypes.c_uint16())
        y: int = self._get(DATA_CURSOR_Y, ctypes.c_uint16())
        return x, y

    @property
    def pending_wrap(self) -> bool:
        return bool(self._get(DATA_CURSOR_PENDING_WRAP, ctypes.c_bool()))

    @property
    def alt_screen(self) -> bool:
        return bool(self._get(DATA_ACTIVE_SCREEN, ctypes.c_int()) == SCREEN_ALTERNATE)

    @property
    def cursor_visible(self) -> bool:
        return bool(self._get(DATA_CURSOR_VISIBLE, ctypes.c_bool()))

    @property
    def kitty_keyboard_flags(self) -> int:
        flags: int = self._get(DATA_KITTY_KEYBOARD_FLAGS, ctypes.c_uint8())
        return flags

    @property
    def total_rows(self) -> int:
        rows: int = self._get(DATA_TOTAL_ROWS, ctypes.c_size_t())
        return rows

    @property
    def scrollback_rows(self) -> int:
        rows: int = self._get(DATA_SCROLLBACK_ROWS, ctypes.c_size_t())
        return rows

    def mode(self, number: int, *, ansi: bool = False) -> bool:
        """Whether DEC private mode ``number`` (or ANSI mode, with ``ansi``) is set."""
        config = TerminalModeConfig((number & 0x7FFF) | (int(ansi) << 15), False)
        check(self._lib.ghostty_terminal_get(self._handle, DATA_MODE, ctypes.byref(config)), "mode")
        return bool(config.value)

    def _ref(self, tag: int, x: int, y: int) -> GridRef:
        ref = GridRef()
        sized(ref)
        point = Point(tag, PointValue(x, y, 0))
        check(self._lib.ghostty_terminal_grid_ref(self._handle, point, ctypes.byref(ref)), "ref")
        return ref

    def format(
        self,
        *,
        emit: int,
        tag: int,
        top: int,
        bottom: int,
        left: int = 0,
        right: int | None = None,
        scrolling_region: bool = False,
        tabstops: bool = False,
        pen: bool = False,
    ) -> bytes:
        """Rows ``top``..``bottom`` (inclusive, coordinates of ``tag``; columns ``left``..
        ``right``, default all) rendered by the library's formatter, rows joined by CRLF
        (VT) or LF (plain), trailing blanks trimmed. ``scrolling_region`` appends DECSTBM, ``tabstops`` prepends the tab stops
        (ending with the cursor at home), ``pen`` appends the cursor's SGR pen, hyperlink and
        character sets."""
        cols, _ = self.size
        selection = Selection()
        sized(selection)
        selection.start = self._ref(tag, left, top)
        selection.end = self._ref(tag, cols - 1 if right is None else right, bottom)
        options = FormatterTerminalOptions()
        sized(options)
        options.emit = emit
        options.unwrap = False
        options.trim = True
        options.extra.scrolling_region = scrolling_region
        options.extra.tabstops = tabstops
        options.extra.screen.style = pen
        options.extra.screen.hyperlink = pen
        options.extra.screen.charsets = pen
        options.selection = ctypes.pointer(selection)
        formatter = ctypes.c_void_p()
        check(
            self._lib.ghostty_formatter_terminal_new(
                None, ctypes.byref(formatter), self._handle, options
            ),
            "formatter",
        )
        try:
            capacity = (bottom - top + 1) * (cols * 4 + 64) + 4096
            while True:
                buf = ctypes.create_string_buffer(capacity)
                written = ctypes.c_size_t()
                result = self._lib.ghostty_formatter_format_buf(
                    formatter, buf, capacity, ctypes.byref(written)
                )
                if result == OUT_OF_SPACE and written.value > capacity:
                    capacity = written.value
                    continue
                check(result, "format")
                return buf.raw[: written.value]
        finally:
            self._lib.ghostty_formatter_free(formatter)

    def _read_viewport(self, state: int, rows_handle: int) -> list[array[int]]:
        """The packed cells of each row in the viewport, top to bottom (one copy per row,
        no per-cell foreign calls)."""
        lib = self._lib
        check(lib.ghostty_render_state_update(state, self._handle), "render update")
        iterator = ctypes.c_void_p(rows_handle)
        check(
            lib.ghostty_render_state_get(state, RS_DATA_ROW_ITERATOR, ctypes.byref(iterator)),
            "row iterator",
        )
        view = CellsView()
        out: list[array[int]] = []
        while lib.ghostty_render_state_row_iterator_next(iterator):
            check(
                lib.ghostty_render_state_row_get(iterator, RS_ROW_CELLS_RAW, ctypes.byref(view)),
                "raw cells",
            )
            cells = array("Q")
            if view.len:
                cells.frombytes(ctypes.string_at(view.ptr, view.len * 8))
            out.append(cells)
        return out

    def read_rows(self, first: int, count: int) -> list[array[int]]:
        """Packed cells of ``count`` rows from row ``first`` of the whole screen (0 = the
        oldest scrollback row; the active area starts at ``scrollback_rows``). Rows in
        the scrollback are read by scrolling the viewport there and back.

        Reads go through a render state, a renderer's copy of the screen that costs about
        four times the terminal's own memory; it lives only for the call, so an idle
        session keeps just the terminal (~40-60 KiB at 80x24-120x40)."""
        lib = self._lib
        handles: list[int] = []
        try:
            for create in (
                lib.ghostty_render_state_new,
                lib.ghostty_render_state_row_iterator_new,
            ):
                handle = ctypes.c_void_p()
                check(create(None, ctypes.byref(handle)), "render state")
                handles.append(handle.value or 0)
            state, rows_handle = handles
            rows = self.size[1]
            active = self.scrollback_rows
            if first >= active:
                viewport = self._read_viewport(state, rows_handle)
                return viewport[first - active : first - active + count]
            out: list[array[int]] = []
            try:
                while len(out) < count:
                    wanted = first + len(out)
                    self._scroll_viewport(SCROLL_ROW, wanted)
                    viewport = self._read_viewport(state, rows_handle)
                    # The library never scrolls past the active area: near the end the
                    # viewport starts above the row asked for.
                    skip = wanted - min(wanted, active)
                    out.extend(viewport[skip : skip + min(rows - skip, count - len(out))])
            finally:
                self._scroll_viewport(SCROLL_BOTTOM, 0)
            return out
        finally:
            if len(handles) > 1:
                lib.ghostty_render_state_row_iterator_free(handles[1])
            if handles:
                lib.ghostty_render_state_free(handles[0])

    def _scroll_viewport(self, tag: int, row: int) -> None:
        self._lib.ghostty_terminal_scroll_viewport(
            self._handle, ScrollViewport(tag, ScrollViewportValue(row, 0))
        )

    def page_of(self, y: int) -> int:
        """The storage page holding screen row ``y``: style ids of cells are only
        meaningful within one page."""
        node: int = self._ref(POINT_SCREEN, 0, y).node or 0
        return node

    def style(self, x: int, y: int) -> Style:
        """The style of the cell at column ``x`` of screen row ``y``."""
        ref = self._ref(POINT_SCREEN, x, y)
        style = StyleStruct()
        sized(style)
        check(self._lib.ghostty_grid_ref_style(ctypes.byref(ref), ctypes.byref(style)), "style")
        return Style(
            fg=_color(style.fg_color),
            bg=_color(style.bg_color),
            underline_color=_color(style.underline_color),
            bold=style.bold,
            italic=style.italic,
            faint=style.faint,
            blink=style.blink,
            inverse=style.inverse,
            invisible=style.invisible,
            strikethrough=style.strikethrough,
            overline=style.overline,
            underline=style.underline,
        )

    def grapheme(self, x: int, y: int) -> str:
        """The full text of the cell at column ``x`` of screen row ``y`` (a base
        character and what combines with it)."""
        ref = self._ref(POINT_SCREEN, x, y)
        points = (ctypes.c_uint32 * 32)()
        count = ctypes.c_size_t()
        result = self._lib.ghostty_grid_ref_graphemes(
            ctypes.byref(ref), points, len(points), ctypes.byref(count)
        )
        if result == OUT_OF_SPACE:
            points = (ctypes.c_uint32 * count.value)()
            result = self._lib.ghostty_grid_ref_graphemes(
                ctypes.byref(ref), points, len(points), ctypes.byref(count)
            )
        check(result, "graphemes")
        return "".join(chr(points[i]) for i in range(count.value))


def _color(color: StyleColor) -> Color:
    if color.tag == STYLE_COLOR_PALETTE:
        return (color.value.palette,)
    if color.tag == STYLE_COLOR_RGB:
        rgb = color.value.rgb
        return (rgb.r, rgb.g, rgb.b)
    return None
