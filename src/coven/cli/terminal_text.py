"""Text that others wrote, made safe to show on a terminal (standard library only).

Titles, labels and agents' questions come from prompts, API clients, the cockpit and
agents themselves (a familiar names the sessions it starts). Shown raw, an escape
sequence in one could clear the screen, retitle the window or write the clipboard of
whoever lists the sessions. ``coven attach``'s first screen uses this before anything
else is imported, so it stays small.
"""

from __future__ import annotations

import re

# What click drops off a terminal (CSI), plus OSC strings (a window title, a clipboard
# write, a hyperlink) and every other escape (ESC, intermediates, one final byte: a
# reset, a charset); a lone ESC is left for the control-character pass.
_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]*[0-~]")


def one_line(text: str) -> str:
    """Text someone else wrote (a title, a label, an agent's question) as a terminal may
    show it: on one line, and unable to drive the terminal. Escape sequences are dropped
    (as click drops colours off a terminal), line breaks and tabs become spaces, and any
    other control character (a lone ESC, C1 codes such as the 8-bit CSI) becomes U+FFFD.
    A title an agent set must not clear the screen or write the clipboard of whoever
    lists the sessions."""
    if text.isprintable():
        return text
    text = _ESCAPE.sub("", text)
    return "".join(ch if ch.isprintable() else " " if ch in "\r\n\t" else "\ufffd" for ch in text)
