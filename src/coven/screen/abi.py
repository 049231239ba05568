"""The C ABI of libghostty-vt as this package uses it: constants, struct layouts, the
packed cell format, and loading the shared library with ctypes prototypes.

The library ships inside the ``pyghostty`` wheel (``pyghostty/_lib/``). We declare the few
functions we call ourselves instead of importing pyghostty's cffi binding, which parses
a 3,500-line declaration file on import (about 0.2 s per process); ctypes loads in a
millisecond. Everything here is the pinned pyghostty release's layout;
``tests/unit/test_screen_native.py`` checks it against pyghostty's declarations, so an
upgrade that moves a field fails a test instead of corrupting memory.
"""

from __future__ import annotations

import ctypes
import importlib.util
import sys
import threading
from pathlib import Path
from typing import Any

import msgspec

# GhosttyResult
SUCCESS = 0
OUT_OF_SPACE = -3
NO_VALUE = -4

# GhosttyTerminalOption
OPT_SCROLLBACK_MAX_BYTES = 27
OPT_SCROLLBACK_MAX_LINES = 28

# GhosttyTerminalData (and the C type each one writes)
DATA_COLS = 1  # uint16
DATA_ROWS = 2  # uint16
DATA_CURSOR_X = 3  # uint16
DATA_CURSOR_Y = 4  # uint16
DATA_CURSOR_PENDING_WRAP = 5  # bool
DATA_ACTIVE_SCREEN = 6  # enum (int)
DATA_CURSOR_VISIBLE = 7  # bool
DATA_KITTY_KEYBOARD_FLAGS = 8  # uint8
DATA_TOTAL_ROWS = 14  # size_t
DATA_SCROLLBACK_ROWS = 15  # size_t
DATA_MODE = 37  # GhosttyTerminalModeConfig (in/out)

SCREEN_ALTERNATE = 1

# GhosttyPointTag
POINT_ACTIVE = 0
POINT_SCREEN = 2

# GhosttyFormatterFormat
FORMAT_PLAIN = 0
FORMAT_VT = 1

# GhosttyRenderStateData / GhosttyRenderStateRowData
RS_DATA_ROW_ITERATOR = 4
RS_ROW_CELLS_RAW = 5

# GhosttyStyleColorTag
STYLE_COLOR_PALETTE = 1
STYLE_COLOR_RGB = 2

# GhosttyTerminalScrollViewportTag
SCROLL_BOTTOM = 1
SCROLL_ROW = 3

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


class Style(msgspec.Struct, frozen=True):
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


class PointValue(ctypes.Structure):
    # C declares a union of a PointCoordinate and 16 bytes of padding. ctypes cannot pass
    # a struct holding a union by value, so this twin has the union's size and alignment
    # and the coordinate at the same offsets (the test checks it).
    _fields_ = (("x", ctypes.c_uint16), ("y", ctypes.c_uint32), ("_pad", ctypes.c_uint64))


class Point(ctypes.Structure):
    _fields_ = (("tag", ctypes.c_int), ("value", PointValue))


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


class StyleColorValue(ctypes.Union):
    _fields_ = (("palette", ctypes.c_uint8), ("rgb", ColorRgb), ("_pad", ctypes.c_uint64))


class StyleColor(ctypes.Structure):
    _fields_ = (("tag", ctypes.c_int), ("value", StyleColorValue))


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


class ScrollViewportValue(ctypes.Structure):
    # Twin of a union of intptr_t/size_t and 16 bytes of padding (see PointValue).
    _fields_ = (("row", ctypes.c_size_t), ("_pad", ctypes.c_uint64))


class ScrollViewport(ctypes.Structure):
    _fields_ = (("tag", ctypes.c_int), ("value", ScrollViewportValue))


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


def check(result: int, what: str) -> None:
    if result != SUCCESS:
        raise RuntimeError(f"libghostty-vt: {what} failed ({result})")


def sized(struct: ctypes.Structure) -> None:
    """Fill the ``size`` field of a struct and its nested structs (the library's ABI
    convention for extensible structs)."""
    for field in struct._fields_:
        name, ctype = field[0], field[1]
        if name == "size":
            setattr(struct, name, ctypes.sizeof(struct))
        elif isinstance(ctype, type) and issubclass(ctype, ctypes.Structure):
            sized(getattr(struct, name))
