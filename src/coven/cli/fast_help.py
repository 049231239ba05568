"""``coven --help`` without click: the same bytes, a fraction of the start-up.

click's import alone is most of what ``coven --help`` cost (about 40 of 62 ms of CPU).
This prints the top-level help from ``coven.cli.commands`` the way click lays it
out (``HelpFormatter``: 78 columns on a terminal of 80 or more or off a terminal, a
two-column list with the second column at the longest term plus two, text
wrapped without replacing whitespace). On a narrower terminal it declines, and
click answers. ``tests/e2e/test_cli_fast_path.py`` compares the two byte for byte.
"""

from __future__ import annotations

import os
import sys
import textwrap

from coven.cli.commands import COMMANDS, HOST_HELP, INLINE_HELP, ROOT_HELP

WIDTH = 78  # click's width for a terminal of 80 columns or more
_INDENT = 2
_COL_MAX = 30
_COL_SPACING = 2
_OPTIONS = (
    ("-V, --version", "Show the version and exit."),
    ("--host HOST", HOST_HELP),
    ("-h, --help", "Show this message and exit."),
)


def render() -> str | None:
    """The top-level help as click prints it (without the final newline), or ``None``."""
    if max(min(_columns(), 80) - 2, 50) != WIDTH:
        return None
    commands = {name: entry.help for name, entry in COMMANDS.items() if not entry.hidden}
    commands.update(INLINE_HELP)
    rows = sorted(commands.items())
    limit = WIDTH - 6 - max(len(name) for name, _ in rows)
    if any(len(text) > limit for _, text in rows):
        return None  # click would shorten it: leave that to click
    lines = ["Usage: coven [OPTIONS] COMMAND [ARGS]...", ""]
    lines += [" " * _INDENT + line for line in _wrap(ROOT_HELP, WIDTH - _INDENT)]
    lines += ["", "Options:", *_definitions(_OPTIONS), "", "Commands:", *_definitions(rows)]
    return "\n".join(lines)


def _columns() -> int:
    """``shutil.get_terminal_size().columns``, which click uses (shutil itself would
    load the compression modules): $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.TextWrapper(width, replace_whitespace=False).wrap(text.expandtabs())


def _definitions(rows: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> list[str]:
    first = min(max(len(term) for term, _ in rows), _COL_MAX) + _COL_SPACING
    out: list[str] = []
    for term, text in rows:
        head = " " * _INDENT + term
        if len(term) <= first - _COL_SPACING:
            head += " " * (first - len(term))
        else:
            out.append(head)
            head = " " * (first + _INDENT)
        wrapped = _wrap(text, max(WIDTH - first - 2, 10))
        out.append(head + wrapped[0])
        out += [" " * (first + _INDENT) + line for line in wrapped[1:]]
    return out
