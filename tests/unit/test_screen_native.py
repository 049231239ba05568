"""coven.screen.native: our ctypes binding of libghostty-vt matches the library's ABI.

pyghostty's cffi declarations are generated from the library's headers at the pinned
revision; ours are written by hand. These tests fail, instead of memory being corrupted,
when an upgrade moves a field or renumbers an enum.
"""

from __future__ import annotations

import ctypes
import importlib.util
import threading
import time

import pytest
from pyghostty._ffi import ffi, lib

from coven.screen import abi, native

STRUCTS = {
    "GhosttyPointCoordinate": abi.PointCoordinate,
    "GhosttyPoint": abi.Point,
    "GhosttyGridRef": abi.GridRef,
    "GhosttySelection": abi.Selection,
    "GhosttyFormatterScreenExtra": abi.FormatterScreenExtra,
    "GhosttyFormatterTerminalExtra": abi.FormatterTerminalExtra,
    "GhosttyFormatterTerminalOptions": abi.FormatterTerminalOptions,
    "GhosttyTerminalModeConfig": abi.TerminalModeConfig,
    "GhosttyCellsView": abi.CellsView,
    "GhosttyColorRgb": abi.ColorRgb,
    "GhosttyStyleColor": abi.StyleColor,
    "GhosttyStyle": abi.StyleStruct,
    "GhosttyTerminalScrollViewport": abi.ScrollViewport,
}


@pytest.mark.parametrize("name", sorted(STRUCTS))
def test_struct_layouts_match_the_library_headers(name: str) -> None:
    ours = STRUCTS[name]
    assert ctypes.sizeof(ours) == ffi.sizeof(name)
    assert ctypes.alignment(ours) == ffi.alignof(name)
    theirs = dict(ffi.typeof(name).fields)
    for field in ours._fields_:
        field_name = field[0]
        if field_name == "_pad":
            continue
        assert field_name in theirs, field_name
        assert getattr(ours, field_name).offset == theirs[field_name].offset, field_name


def test_the_union_twins_have_the_unions_layout() -> None:
    # Unions passed by value are replaced by structs of the same size and alignment.
    assert ctypes.sizeof(abi.PointValue) == ffi.sizeof("GhosttyPointValue")
    coordinate = dict(ffi.typeof("GhosttyPointCoordinate").fields)
    assert abi.PointValue.x.offset == coordinate["x"].offset
    assert abi.PointValue.y.offset == coordinate["y"].offset
    viewport = "GhosttyTerminalScrollViewportValue"
    assert ctypes.sizeof(abi.ScrollViewportValue) == ffi.sizeof(viewport)
    assert ctypes.alignment(abi.ScrollViewportValue) == ffi.alignof(viewport)
    assert ctypes.sizeof(abi.StyleColorValue) == ffi.sizeof("GhosttyStyleColorValue")


def test_enum_values_match_the_library_headers() -> None:
    expected = {
        "SUCCESS": lib.GHOSTTY_SUCCESS,
        "OUT_OF_SPACE": lib.GHOSTTY_OUT_OF_SPACE,
        "OPT_SCROLLBACK_MAX_BYTES": lib.GHOSTTY_TERMINAL_OPT_SCROLLBACK_MAX_BYTES,
        "OPT_SCROLLBACK_MAX_LINES": lib.GHOSTTY_TERMINAL_OPT_SCROLLBACK_MAX_LINES,
        "DATA_COLS": lib.GHOSTTY_TERMINAL_DATA_COLS,
        "DATA_ROWS": lib.GHOSTTY_TERMINAL_DATA_ROWS,
        "DATA_CURSOR_X": lib.GHOSTTY_TERMINAL_DATA_CURSOR_X,
        "DATA_CURSOR_Y": lib.GHOSTTY_TERMINAL_DATA_CURSOR_Y,
        "DATA_CURSOR_PENDING_WRAP": lib.GHOSTTY_TERMINAL_DATA_CURSOR_PENDING_WRAP,
        "DATA_ACTIVE_SCREEN": lib.GHOSTTY_TERMINAL_DATA_ACTIVE_SCREEN,
        "DATA_CURSOR_VISIBLE": lib.GHOSTTY_TERMINAL_DATA_CURSOR_VISIBLE,
        "DATA_KITTY_KEYBOARD_FLAGS": lib.GHOSTTY_TERMINAL_DATA_KITTY_KEYBOARD_FLAGS,
        "DATA_TOTAL_ROWS": lib.GHOSTTY_TERMINAL_DATA_TOTAL_ROWS,
        "DATA_SCROLLBACK_ROWS": lib.GHOSTTY_TERMINAL_DATA_SCROLLBACK_ROWS,
        "DATA_MODE": lib.GHOSTTY_TERMINAL_DATA_MODE,
        "SCREEN_ALTERNATE": lib.GHOSTTY_TERMINAL_SCREEN_ALTERNATE,
        "POINT_ACTIVE": lib.GHOSTTY_POINT_TAG_ACTIVE,
        "POINT_SCREEN": lib.GHOSTTY_POINT_TAG_SCREEN,
        "FORMAT_PLAIN": lib.GHOSTTY_FORMATTER_FORMAT_PLAIN,
        "FORMAT_VT": lib.GHOSTTY_FORMATTER_FORMAT_VT,
        "RS_DATA_ROW_ITERATOR": lib.GHOSTTY_RENDER_STATE_DATA_ROW_ITERATOR,
        "RS_ROW_CELLS_RAW": lib.GHOSTTY_RENDER_STATE_ROW_DATA_CELLS_RAW,
        "STYLE_COLOR_PALETTE": lib.GHOSTTY_STYLE_COLOR_PALETTE,
        "STYLE_COLOR_RGB": lib.GHOSTTY_STYLE_COLOR_RGB,
        "SCROLL_BOTTOM": lib.GHOSTTY_SCROLL_VIEWPORT_BOTTOM,
        "SCROLL_ROW": lib.GHOSTTY_SCROLL_VIEWPORT_ROW,
        "CONTENT_CODEPOINT": lib.GHOSTTY_CELL_CONTENT_CODEPOINT,
        "CONTENT_GRAPHEME": lib.GHOSTTY_CELL_CONTENT_CODEPOINT_GRAPHEME,
        "CONTENT_BG_PALETTE": lib.GHOSTTY_CELL_CONTENT_BG_COLOR_PALETTE,
        "CONTENT_BG_RGB": lib.GHOSTTY_CELL_CONTENT_BG_COLOR_RGB,
        "WIDE_NARROW": lib.GHOSTTY_CELL_WIDE_NARROW,
        "WIDE_WIDE": lib.GHOSTTY_CELL_WIDE_WIDE,
        "WIDE_SPACER_TAIL": lib.GHOSTTY_CELL_WIDE_SPACER_TAIL,
        "WIDE_SPACER_HEAD": lib.GHOSTTY_CELL_WIDE_SPACER_HEAD,
    }
    assert {name: getattr(abi, name) for name in expected} == expected


def _get(cell: int, key: int, ctype: str) -> int:
    out = ffi.new(ctype + "*")
    assert lib.ghostty_cell_get(cell, key, out) == 0
    return int(out[0])


def test_decoded_cell_fields_agree_with_the_librarys_getters() -> None:
    """render.py decodes packed cells itself; for every kind of cell -- text, wide
    character and its spacer, grapheme cluster, styled text, palette and RGB
    background-only, the spacer left where a wide character wrapped -- each field must
    equal what ghostty_cell_get says."""
    term = native.NativeTerminal(12, 4, 1 << 20)
    term.write(
        b"\x1b[?2027ha\xe6\x97\xa5\xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd\x1b[1;4;38;2;9;8;7mb"
        b"\x1b[0;41m\x1b[2X\x1b[2C\x1b[48;2;1;2;3m\x1b[2X\x1b[0m\r\n"
        b"0123456789x\xe6\x97\xa5"
    )
    rows = term.read_rows(0, 2)
    tags, wides = set(), set()
    for row in rows:
        for cell in row:
            tag = _get(cell, lib.GHOSTTY_CELL_DATA_CONTENT_TAG, "GhosttyCellContentTag")
            wide = _get(cell, lib.GHOSTTY_CELL_DATA_WIDE, "GhosttyCellWide")
            assert abi.cell_tag(cell) == tag
            assert abi.cell_wide(cell) == wide
            style_id = _get(cell, lib.GHOSTTY_CELL_DATA_STYLE_ID, "GhosttyStyleId")
            assert abi.cell_style_id(cell) == style_id
            if tag in (abi.CONTENT_CODEPOINT, abi.CONTENT_GRAPHEME):
                codepoint = _get(cell, lib.GHOSTTY_CELL_DATA_CODEPOINT, "uint32_t")
                assert abi.cell_codepoint(cell) == codepoint
            elif tag == abi.CONTENT_BG_PALETTE:
                index = _get(cell, lib.GHOSTTY_CELL_DATA_COLOR_PALETTE, "GhosttyColorPaletteIndex")
                assert abi.cell_palette(cell) == index
            else:
                rgb = ffi.new("GhosttyColorRgb*")
                assert lib.ghostty_cell_get(cell, lib.GHOSTTY_CELL_DATA_COLOR_RGB, rgb) == 0
                assert abi.cell_rgb(cell) == (rgb.r, rgb.g, rgb.b)
            tags.add(tag)
            wides.add(wide)
    assert tags == {0, 1, 2, 3}
    assert wides == {0, 1, 2, 3}
    assert term.grapheme(3, 0) == "\U0001f44d\U0001f3fd"
    assert term.style(5, 0) == abi.Style(fg=(9, 8, 7), bold=True, underline=1)
    assert term.page_of(0) == term.page_of(1) != 0


def test_history_rows_are_read_and_the_view_returns_to_the_screen() -> None:
    term = native.NativeTerminal(20, 4, 1 << 20)
    term.write(b"".join(b"\r\nline %d" % i for i in range(30)))
    history = term.read_rows(term.total_rows - 4 - 5, 5)
    assert "".join(chr(abi.cell_codepoint(c)) for c in history[-1][:7]) == "line 25"
    screen = term.read_rows(term.scrollback_rows, 4)
    assert "".join(chr(abi.cell_codepoint(c)) for c in screen[-1][:7]) == "line 29"
    both = term.read_rows(term.total_rows - 4 - 5, 9)  # scrollback and screen at once
    texts = ["".join(chr(abi.cell_codepoint(c)) for c in row[:7]) for row in both]
    assert texts == [f"line {i}" for i in range(21, 30)]


def test_a_missing_library_is_reported_in_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(abi.EmulatorUnavailable, match="pyghostty package is not installed"):
        abi.library_path()


def test_parsing_releases_the_gil() -> None:
    """A long write must not stop the daemon's other threads (the PTY reader)."""
    term = native.NativeTerminal(80, 24, 1 << 20)
    flood = b"\x1b[31mred\x1b[0m and plain words on a line\r\n" * 400_000  # ~16 MiB
    ticks = 0
    stop = threading.Event()

    def spin() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0)

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        time.sleep(0.01)
        before = ticks
        term.write(flood)
        during = ticks - before
    finally:
        stop.set()
        spinner.join(5)
    assert during > 100
