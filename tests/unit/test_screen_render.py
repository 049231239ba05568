"""coven.screen.render: cells encoded back into bytes mean what they meant."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from coven.screen import abi, native
from coven.screen.abi import Style
from coven.screen.render import RowEncoder, sgr
from tests.support import vt

STYLES = [
    Style(),
    Style(bold=True, italic=True, faint=True, blink=True, inverse=True),
    Style(invisible=True, strikethrough=True, overline=True),
    *(Style(underline=kind) for kind in range(1, 6)),
    Style(fg=(1,), bg=(4,)),
    Style(fg=(9,), bg=(15,)),
    Style(fg=(208,), bg=(16,), underline=1, underline_color=(196,)),
    Style(fg=(1, 2, 3), bg=(250, 128, 0), underline=3, underline_color=(9, 9, 9)),
]


@pytest.mark.parametrize("style", STYLES, ids=repr)
def test_sgr_sets_exactly_the_style(style: Style) -> None:
    term = vt.reference(10, 2)
    term.feed(b"\x1b[1;3;4;9m" + sgr(style) + b"x")  # from a busy pen: sgr resets first
    seen = term.style(0, 0)
    assert seen == {
        "bold": style.bold,
        "italic": style.italic,
        "faint": style.faint,
        "blink": style.blink,
        "inverse": style.inverse,
        "invisible": style.invisible,
        "strikethrough": style.strikethrough,
        "overline": style.overline,
        "underline": style.underline,
        "fg": _colour(style.fg),
        "bg": _colour(style.bg),
        "underline_color": _colour(style.underline_color),
    }


def _colour(colour: abi.Color) -> object:
    if colour is None:
        return None
    if len(colour) == 1:
        return ("palette", colour[0])
    return ("rgb", colour)


# Rows of short pieces: ASCII words, gaps made by cursor-forward, colours, wide and
# combining characters, background-only erases.
PIECES = [
    b"word",
    b"a",
    b" ",
    b"\x1b[3C",
    b"\x1b[C",
    b"\x1b[31m",
    b"\x1b[1;44m",
    b"\x1b[0m",
    b"\x1b[38;2;1;2;3m",
    "é".encode(),
    "日本".encode(),
    "e\u0301".encode(),
    b"\x1b[45m\x1b[2X\x1b[2C",
]


@settings(max_examples=200, deadline=None)
@given(pieces=st.lists(st.sampled_from(PIECES), max_size=20))
# A coloured wide character that does not fit wraps and leaves a blank: drawn unstyled.
@example(pieces=[b"word"] * 9 + [b"a", b"\x1b[1;44m", "日本".encode()])
def test_the_fast_path_for_plain_rows_agrees_with_the_per_cell_path(pieces: list[bytes]) -> None:
    cols = 40
    line = b"".join(pieces)
    term = native.NativeTerminal(cols, 2, 1 << 20)
    term.write(line)
    (cells,) = term.read_rows(term.scrollback_rows, 1)
    encoder = RowEncoder(term)
    fast = encoder.encode(cells, term.scrollback_rows)
    slow_encoder = RowEncoder(term)
    slow_encoder._plain = lambda *args: None  # type: ignore[method-assign]
    slow = slow_encoder.encode(cells, term.scrollback_rows)
    direct = vt.replay(line, cols, 2)
    for encoded in (fast, slow):
        replayed = vt.replay(encoded.encode(), cols, 2)
        assert vt.cells(replayed)[0] == vt.cells(direct)[0]


def test_a_plain_row_takes_the_fast_path() -> None:
    term = native.NativeTerminal(40, 2, 1 << 20)
    term.write(b"\x1b[32mall green\x1b[0m\r\nplain and\x1b[3Cgapped")
    green, plain = term.read_rows(0, 2)
    encoder = RowEncoder(term)
    assert encoder._plain(green[:9], 0, False) == "\x1b[0;32mall green\x1b[0m"
    assert encoder._plain(plain[:18], 1, False) == "plain and\x1b[3Cgapped"
    assert encoder._plain(plain[:18], 1, True) == "plain and   gapped"
    assert encoder._plain(green, 0, False) is None  # green text, then unwritten cells
