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
_LINE_BREAKS = re.compile(r"\r+\n?")
# Every C0 and C1 control except tab and newline (carriage returns are gone by then).
_DROP = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)])


def plain_text(text: str) -> str:
    """``text`` without escape sequences and control characters (``\\r`` → ``\\n``).

    Tens of MB/s on plain output: the regular expressions run only when their
    characters occur (this runs over every byte a session writes, when it is indexed).
    """
    if "\x1b" in text or "\x9b" in text:
        text = _ESCAPES.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            text = _LINE_BREAKS.sub("\n", text)
    return text.translate(_DROP)
