"""``plain_text``: terminal output as the words a person reads (what search indexes)."""

from __future__ import annotations

import pytest

from coven.screen.plain import plain_text


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("plain words\n", "plain words\n"),
        ("\x1b[1;31mred\x1b[0m text", "red text"),
        ("line\r\nnext\r\n", "line\nnext\n"),
        ("50%\r100%\r\n", "50%\n100%\n"),
        ("\x1b]0;window title\x07prompt$ ", "prompt$ "),
        ("\x1b]8;;https://x.invalid\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1bP+q544e\x1b\\after", "after"),
        ("\x1b(Bcharset \x1b=keypad", "charset keypad"),
        ("\x1b[?1049h\x1b[2J\x1b[Hscreen", "screen"),
        ("bell\x07 nul\x00 del\x7f tab\tkept", "bell nul del tab\tkept"),
        ("cut off \x1b[3", "cut off "),
        ("ünïcödé ✓", "ünïcödé ✓"),
    ],
)
def test_plain_text(raw: str, plain: str) -> None:
    assert plain_text(raw) == plain


def test_plain_text_is_idempotent() -> None:
    raw = "\x1b[32mok\x1b[0m\r\n\x1b]0;t\x07done\r"
    once = plain_text(raw)
    assert plain_text(once) == once
