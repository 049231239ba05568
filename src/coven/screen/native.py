"""libghostty-vt, Ghostty's terminal emulator core, bound with ctypes: the only code here
that touches the native library.

The shared library ships inside the ``pyghostty`` wheel (``pyghostty/_lib/``). We bind
the few functions we use with ctypes instead of importing pyghostty's own cffi binding:
that binding parses a 3,500-line C declaration file on import (about 0.2 s per process),
ctypes loads in a millisecond. The struct layouts and enum values below are those of the
pinned pyghostty release; ``tests/unit/test_screen_native.py`` checks them against
pyghostty's declarations, so an upgrade that moves a field fails a test instead of
corrupting memory.

ctypes releases the GIL around every foreign call, so a long ``write`` (the parser runs
at roughly 60-400 MiB/s depending on the output) does not stop other Python threads.

Not thread-safe: one thread at a time per ``NativeTerminal`` (``ScreenModel`` serialises).
"""

from __future__ import annotations

import ctypes
import importlib.util
import sys
import threading
import weakref
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# GhosttyResult
_SUCCESS = 0
_OUT_OF_SPACE = -3
_NO_VALUE = -4

# GhosttyTerminalOption
_OPT_SCROLLBACK_MAX_BYTES = 27
_OPT_SCROLLBACK_MAX_LINES = 28

# GhosttyTerminalData (and the C type each one writes)
_DATA_COLS = 1  # uint16
_DATA_ROWS = 2  # uint16
_DATA_CURSOR_X = 3  # uint16
_DATA_CURSOR_Y = 4  # uint16
_DATA_CURSOR_PENDING_WRAP = 5  # bool
_DATA_ACTIVE_SCREEN = 6  # enum (int)
_DATA_CURSOR_VISIBLE = 7  # bool
_DATA_KITTY_KEYBOARD_FLAGS = 8  # uint8
_DATA_TOTAL_ROWS = 14  # size_t
_DATA_SCROLLBACK_ROWS = 15  # size_t
_DATA_MODE = 37  # GhosttyTerminalModeConfig (in/out)

_SCREEN_ALTERNATE = 1

# GhosttyPointTag
POINT_ACTIVE = 0
POINT_SCREEN = 2

# GhosttyFormatterFormat
FORMAT_PLAIN = 0
FORMAT_VT = 1

# GhosttyRenderStateData / GhosttyRenderStateRowData
_RS_DATA_ROW_ITERATOR = 4
_RS_ROW_CELLS_RAW = 5

# GhosttyStyleColorTag
_STYLE_COLOR_PALETTE = 1
_STYLE_COLOR_RGB = 2

# GhosttyTerminalScrollViewportTag
_SCROLL_BOTTOM = 1
_SCROLL_ROW = 3

# A cell is a packed 64-bit value (the library's GhosttyCell); its fields, lowest bits
# first: content tag (2 bits), content (24: a code point, a palette index or an RGB
# colour), style id (16), width class (2). Decoding it here saves a foreign call per cell;
# the native test checks every field against the library's own getters.
CONTENT_CODEPOINT = 0
CONTENT_GRAPHEME = 1
CONTENT_BG_PALETTE = 2
CONTENT_BG_RGB = 3
WIDE_NARROW = 0
WIDE_WIDE = 1
WIDE_SPACER_TAIL = 2
WIDE_SPACER_HEAD = 3


def cell_tag(cell: int) -> int:
    return cell & 3


def cell_codepoint(cell: int) -> int:
    return (cell >> 2) & 0x1FFFFF


def cell_palette(cell: int) -> int:
    return (cell >> 2) & 0xFF


def cell_rgb(cell: int) -> tuple[int, int, int]:
    return ((cell >> 2) & 0xFF, (cell >> 10) & 0xFF, (cell >> 18) & 0xFF)


def cell_style_id(cell: int) -> int:
    return (cell >> 26) & 0xFFFF


def cell_wide(cell: int) -> int:
    return (cell >> 42) & 3


# A colour: None (default), (palette index,) or (r, g, b).
Color = tuple[int] | tuple[int, int, int] | None


@dataclass(frozen=True, slots=True)
class Style:
    fg: Color = None
    bg: Color = None
    underline_color: Color = None
    bold: bool = False
    italic: bool = False
    faint: bool = False
    blink: bool = False
    inverse: bool = False
    invisible: bool = False
    strikethrough: bool = False
    overline: bool = False
    underline: int = 0  # 0 none, 1 single, 2 double, 3 curly, 4 dotted, 5 dashed


DEFAULT_STYLE = Style()


class EmulatorUnavailable(RuntimeError):
    """libghostty-vt could not be loaded (no ``pyghostty`` wheel for this platform)."""


class PointCoordinate(ctypes.Structure):
    _fields_ = (("x", ctypes.c_uint16), ("y", ctypes.c_uint32))


class _PointValue(ctypes.Structure):
    # C declares a union of a PointCoordinate and 16 bytes of padding. ctypes cannot pass
    # a struct holding a union by value, so this twin has the union's size and alignment
    # and the coordinate at the same offsets (the test checks it).
    _fields_ = (("x", ctypes.c_uint16), ("y", ctypes.c_uint32), ("_pad", ctypes.c_uint64))


class Point(ctypes.Structure):
    _fields_ = (("tag", ctypes.c_int), ("value", _PointValue))


class GridRef(ctypes.Structure):
    _fields_ = (
        ("size", ctypes.c_size_t),
        ("node", ctypes.c_void_p),
        ("x", ctypes.c_uint16),
        ("y", ctypes.c_uint16),
    )


class Selection(ctypes.Structure):
    _fields_ = (
        ("size", ctypes.c_size_t),
        ("start", GridRef),
        ("end", GridRef),
        ("rectangle", ctypes.c_bool),
    )


class FormatterScreenExtra(ctypes.Structure):
    _fields_ = (
        ("size", ctypes.c_size_t),
        ("cursor", ctypes.c_bool),
        ("style", ctypes.c_bool),
        ("hyperlink", ctypes.c_bool),
        ("protection", ctypes.c_bool),
        ("kitty_keyboard", ctypes.c_bool),
        ("charsets", ctypes.c_bool),
    )


class FormatterTerminalExtra(ctypes.Structure):
    _fields_ = (
        ("size", ctypes.c_size_t),
        ("palette", ctypes.c_bool),
        ("modes", ctypes.c_bool),
        ("scrolling_region", ctypes.c_bool),
        ("tabstops", ctypes.c_bool),
        ("pwd", ctypes.c_bool),
        ("keyboard", ctypes.c_bool),
        ("screen", FormatterScreenExtra),
    )


class FormatterTerminalOptions(ctypes.Structure):
    _fields_ = (
        ("size", ctypes.c_size_t),
        ("emit", ctypes.c_int),
        ("unwrap", ctypes.c_bool),
        ("trim", ctypes.c_bool),
        ("extra", FormatterTerminalExtra),
        ("selection", ctypes.POINTER(Selection)),
    )


class TerminalModeConfig(ctypes.Structure):
    _fields_ = (("mode", ctypes.c_uint16), ("value", ctypes.c_bool))


class CellsView(ctypes.Structure):
    _fields_ = (("ptr", ctypes.c_void_p), ("len", ctypes.c_size_t))


class ColorRgb(ctypes.Structure):
    _fields_ = (("r", ctypes.c_uint8), ("g", ctypes.c_uint8), ("b", ctypes.c_uint8))


class _StyleColorValue(ctypes.Union):
    _fields_ = (("palette", ctypes.c_uint8), ("rgb", ColorRgb), ("_pad", ctypes.c_uint64))


class StyleColor(ctypes.Structure):
    _fields_ = (("tag", ctypes.c_int), ("value", _StyleColorValue))


class StyleStruct(ctypes.Structure):
    _fields_ = (
        ("size", ctypes.c_size_t),
        ("fg_color", StyleColor),
        ("bg_color", StyleColor),
        ("underline_color", StyleColor),
        ("bold", ctypes.c_bool),
        ("italic", ctypes.c_bool),
        ("faint", ctypes.c_bool),
        ("blink", ctypes.c_bool),
        ("inverse", ctypes.c_bool),
        ("invisible", ctypes.c_bool),
        ("strikethrough", ctypes.c_bool),
        ("overline", ctypes.c_bool),
        ("underline", ctypes.c_int),
    )


class _ScrollViewportValue(ctypes.Structure):
    # Twin of a union of intptr_t/size_t and 16 bytes of padding (see _PointValue).
    _fields_ = (("row", ctypes.c_size_t), ("_pad", ctypes.c_uint64))


class ScrollViewport(ctypes.Structure):
    _fields_ = (("tag", ctypes.c_int), ("value", _ScrollViewportValue))


_SIGNATURES: dict[str, tuple[Any, tuple[Any, ...]]] = {
    "ghostty_terminal_new": (
        ctypes.c_int,
        (ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_uint16, ctypes.c_uint16),
    ),
    "ghostty_terminal_free": (None, (ctypes.c_void_p,)),
    "ghostty_terminal_vt_write": (None, (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t)),
    "ghostty_terminal_resize": (
        ctypes.c_int,
        (ctypes.c_void_p, ctypes.c_uint16, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint32),
    ),
    "ghostty_terminal_set": (ctypes.c_int, (ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)),
    "ghostty_terminal_get": (ctypes.c_int, (ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)),
    "ghostty_terminal_grid_ref": (
        ctypes.c_int,
        (ctypes.c_void_p, Point, ctypes.POINTER(GridRef)),
    ),
    "ghostty_formatter_terminal_new": (
        ctypes.c_int,
        (
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.c_void_p,
            FormatterTerminalOptions,
        ),
    ),
    "ghostty_formatter_format_buf": (
        ctypes.c_int,
        (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)),
    ),
    "ghostty_formatter_free": (None, (ctypes.c_void_p,)),
    "ghostty_render_state_new": (ctypes.c_int, (ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p))),
    "ghostty_render_state_free": (None, (ctypes.c_void_p,)),
    "ghostty_render_state_update": (ctypes.c_int, (ctypes.c_void_p, ctypes.c_void_p)),
    "ghostty_render_state_get": (ctypes.c_int, (ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)),
    "ghostty_render_state_row_iterator_new": (
        ctypes.c_int,
        (ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)),
    ),
    "ghostty_render_state_row_iterator_free": (None, (ctypes.c_void_p,)),
    "ghostty_render_state_row_iterator_next": (ctypes.c_bool, (ctypes.c_void_p,)),
    "ghostty_grid_ref_style": (
        ctypes.c_int,
        (ctypes.POINTER(GridRef), ctypes.POINTER(StyleStruct)),
    ),
    "ghostty_grid_ref_graphemes": (
        ctypes.c_int,
        (
            ctypes.POINTER(GridRef),
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.POINTER(ctypes.c_size_t),
        ),
    ),
    "ghostty_terminal_scroll_viewport": (None, (ctypes.c_void_p, ScrollViewport)),
    "ghostty_render_state_row_get": (
        ctypes.c_int,
        (ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p),
    ),
}

_lib: ctypes.CDLL | None = None
_lib_lock = threading.Lock()


def library_path() -> Path:
    """Where the pinned pyghostty wheel keeps libghostty-vt (found without importing it)."""
    spec = importlib.util.find_spec("pyghostty")
    if spec is None or spec.origin is None:
        raise EmulatorUnavailable("the pyghostty package is not installed")
    name = "libghostty-vt.dylib" if sys.platform == "darwin" else "libghostty-vt.so"
    path = Path(spec.origin).parent / "_lib" / name
    if not path.is_file():
        raise EmulatorUnavailable(f"libghostty-vt is missing from the pyghostty package: {path}")
    return path


def load() -> ctypes.CDLL:
    """The loaded library with our prototypes; loads it on first use (thread-safe)."""
    global _lib
    with _lib_lock:
        if _lib is None:
            try:
                lib = ctypes.CDLL(str(library_path()))
            except OSError as exc:
                raise EmulatorUnavailable(f"cannot load libghostty-vt: {exc}") from exc
            for name, (restype, argtypes) in _SIGNATURES.items():
                fn = getattr(lib, name)
                fn.restype = restype
                fn.argtypes = argtypes
            _lib = lib
        return _lib


def _check(result: int, what: str) -> None:
    if result != _SUCCESS:
        raise RuntimeError(f"libghostty-vt: {what} failed ({result})")


def _sized(struct: ctypes.Structure) -> None:
    """Fill the ``size`` field of a struct and its nested structs (the library's ABI
    convention for extensible structs)."""
    for field in struct._fields_:
        name, ctype = field[0], field[1]
        if name == "size":
            setattr(struct, name, ctypes.sizeof(struct))
        elif isinstance(ctype, type) and issubclass(ctype, ctypes.Structure):
            _sized(getattr(struct, name))


class NativeTerminal:
    """One headless terminal: feed it bytes, read its state, render rows as VT or text."""

    def __init__(self, cols: int, rows: int, scrollback_bytes: int) -> None:
        self._lib = load()
        handle = ctypes.c_void_p()
        _check(self._lib.ghostty_terminal_new(None, ctypes.byref(handle), cols, rows), "new")
        self._handle: int = handle.value or 0
        self._finalizer = weakref.finalize(self, self._lib.ghostty_terminal_free, self._handle)
        _check(
            self._lib.ghostty_terminal_set(self._handle, _OPT_SCROLLBACK_MAX_LINES, None), "lines"
        )
        self.set_scrollback_bytes(scrollback_bytes)

    def close(self) -> None:
        self._finalizer()

    def write(self, data: bytes) -> None:
        if data:
            self._lib.ghostty_terminal_vt_write(self._handle, data, len(data))

    def resize(self, cols: int, rows: int) -> None:
        _check(self._lib.ghostty_terminal_resize(self._handle, cols, rows, 8, 16), "resize")

    def set_scrollback_bytes(self, limit: int) -> None:
        """Bound the scrollback by bytes only: the library's line limit prunes line by line
        and costs up to ten times more per scrolled line than the byte limit, which drops
        whole pages."""
        value = ctypes.c_size_t(limit)
        _check(
            self._lib.ghostty_terminal_set(
                self._handle, _OPT_SCROLLBACK_MAX_BYTES, ctypes.byref(value)
            ),
            "scrollback",
        )

    def _get(self, key: int, out: Any) -> Any:
        _check(self._lib.ghostty_terminal_get(self._handle, key, ctypes.byref(out)), "get")
        return out.value

    @property
    def size(self) -> tuple[int, int]:
        cols: int = self._get(_DATA_COLS, ctypes.c_uint16())
        rows: int = self._get(_DATA_ROWS, ctypes.c_uint16())
        return cols, rows

    @property
    def cursor(self) -> tuple[int, int]:
        """Cursor column and row in the active area, 0-based."""
        x: int = self._get(_DATA_CURSOR_X, ctypes.c_uint16())
        y: int = self._get(_DATA_CURSOR_Y, ctypes.c_uint16())
        return x, y

    @property
    def pending_wrap(self) -> bool:
        return bool(self._get(_DATA_CURSOR_PENDING_WRAP, ctypes.c_bool()))

    @property
    def alt_screen(self) -> bool:
        return bool(self._get(_DATA_ACTIVE_SCREEN, ctypes.c_int()) == _SCREEN_ALTERNATE)

    @property
    def cursor_visible(self) -> bool:
        return bool(self._get(_DATA_CURSOR_VISIBLE, ctypes.c_bool()))

    @property
    def kitty_keyboard_flags(self) -> int:
        flags: int = self._get(_DATA_KITTY_KEYBOARD_FLAGS, ctypes.c_uint8())
        return flags

    @property
    def total_rows(self) -> int:
        rows: int = self._get(_DATA_TOTAL_ROWS, ctypes.c_size_t())
        return rows

    @property
    def scrollback_rows(self) -> int:
        rows: int = self._get(_DATA_SCROLLBACK_ROWS, ctypes.c_size_t())
        return rows

    def mode(self, number: int, *, ansi: bool = False) -> bool:
        """Whether DEC private mode ``number`` (or ANSI mode, with ``ansi``) is set."""
        config = TerminalModeConfig((number & 0x7FFF) | (int(ansi) << 15), False)
        _check(
            self._lib.ghostty_terminal_get(self._handle, _DATA_MODE, ctypes.byref(config)), "mode"
        )
        return bool(config.value)

    def _ref(self, tag: int, x: int, y: int) -> GridRef:
        ref = GridRef()
        _sized(ref)
        point = Point(tag, _PointValue(x, y, 0))
        _check(self._lib.ghostty_terminal_grid_ref(self._handle, point, ctypes.byref(ref)), "ref")
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
        _sized(selection)
        selection.start = self._ref(tag, left, top)
        selection.end = self._ref(tag, cols - 1 if right is None else right, bottom)
        options = FormatterTerminalOptions()
        _sized(options)
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
        _check(
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
                if result == _OUT_OF_SPACE and written.value > capacity:
                    capacity = written.value
                    continue
                _check(result, "format")
                return buf.raw[: written.value]
        finally:
            self._lib.ghostty_formatter_free(formatter)

    def _read_viewport(self, state: int, rows_handle: int) -> list[array[int]]:
        """The packed cells of each row in the viewport, top to bottom (one copy per row,
        no per-cell foreign calls)."""
        lib = self._lib
        _check(lib.ghostty_render_state_update(state, self._handle), "render update")
        iterator = ctypes.c_void_p(rows_handle)
        _check(
            lib.ghostty_render_state_get(state, _RS_DATA_ROW_ITERATOR, ctypes.byref(iterator)),
            "row iterator",
        )
        view = CellsView()
        out: list[array[int]] = []
        while lib.ghostty_render_state_row_iterator_next(iterator):
            _check(
                lib.ghostty_render_state_row_get(iterator, _RS_ROW_CELLS_RAW, ctypes.byref(view)),
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
                _check(create(None, ctypes.byref(handle)), "render state")
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
                    self._scroll_viewport(_SCROLL_ROW, wanted)
                    viewport = self._read_viewport(state, rows_handle)
                    # The library never scrolls past the active area: near the end the
                    # viewport starts above the row asked for.
                    skip = wanted - min(wanted, active)
                    out.extend(viewport[skip : skip + min(rows - skip, count - len(out))])
            finally:
                self._scroll_viewport(_SCROLL_BOTTOM, 0)
            return out
        finally:
            if len(handles) > 1:
                lib.ghostty_render_state_row_iterator_free(handles[1])
            if handles:
                lib.ghostty_render_state_free(handles[0])

    def _scroll_viewport(self, tag: int, row: int) -> None:
        self._lib.ghostty_terminal_scroll_viewport(
            self._handle, ScrollViewport(tag, _ScrollViewportValue(row, 0))
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
        _sized(style)
        _check(self._lib.ghostty_grid_ref_style(ctypes.byref(ref), ctypes.byref(style)), "style")
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
        if result == _OUT_OF_SPACE:
            points = (ctypes.c_uint32 * count.value)()
            result = self._lib.ghostty_grid_ref_graphemes(
                ctypes.byref(ref), points, len(points), ctypes.byref(count)
            )
        _check(result, "graphemes")
        return "".join(chr(points[i]) for i in range(count.value))


def _color(color: StyleColor) -> Color:
    if color.tag == _STYLE_COLOR_PALETTE:
        return (color.value.palette,)
    if color.tag == _STYLE_COLOR_RGB:
        rgb = color.value.rgb
        return (rgb.r, rgb.g, rgb.b)
    return None
