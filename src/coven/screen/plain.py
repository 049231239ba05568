"""Terminal output as plain text: what a person would read, for search and summaries.

Pure string work, no terminal model: escape sequences (CSI, OSC, DCS and the other
string controls, two-character escapes) are removed, carriage returns become line
breaks and every other C0/C1 control character is dropped, so the result holds
only printable text, spaces, tabs and newlines. A sequence cut off at the end of
``text`` is dropped too (the next chunk's remainder then shows as text: callers
that can, strip whole streams).
"""

from __future__ import annotations

import re

_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI (final byte optional: a cut-off sequence)
    r"|\x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC, DCS, SOS, PM, APC strings
    r"|\x1b[ -/]*[0-~]?"  # other escapes (charset selection, keypad modes, ...)
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"\r+\n?")


def plain_text(text: str) -> str:
    """``text`` without escape sequences and control characters (``\\r`` → ``\\n``)."""
    text = _ESCAPES.sub("", text)
    text = _LINE_BREAKS.sub("\n", text)
    return _CONTROLS.sub("", text)
