"""Per-session streaming redaction that catches secrets split across reads.

``feed`` releases only text that no later input could turn into (part of) a
secret: the trailing unfinished line is held, and a match that straddles the
release point is held from where it began (so a name like ``password=`` stays
with its value and an open PEM block stays whole). Because every built-in rule
except PEM blocks stays within one line, what is released is redacted exactly
as ``redact_text`` would redact the whole stream.

Bounds: the held tail is at most ``TAIL_MAX`` characters (``PEM_MAX`` while it
starts with an open PEM block). Past the bound the redactor keeps only
``CONTEXT`` characters (cutting at whitespace when it can), and if a match
still straddles it, redacts and releases everything; an open PEM block released
that way is swallowed up to its END marker.
"""

from __future__ import annotations

from coven.redaction.patterns import PEM_BEGIN, PEM_END, Hit, apply_hits
from coven.redaction.redactor import _DEFAULT, Redactor

TAIL_MAX = 8 * 1024
PEM_MAX = 64 * 1024
CONTEXT = 1024

_PEM_BEGIN = PEM_BEGIN
_PEM_END = PEM_END
# Longest possible split END marker we must keep while swallowing a block.
_PEM_END_TAIL = 96


def _settle(cut: int, hits: list[Hit], size: int) -> int:
    """Move ``cut`` back until no hit's match straddles it.

    A hit reaching the end of the buffer (``size``) counts as straddling: more
    input could extend it (an open PEM block swallows the trailing newline).
    """
    moved = True
    while moved:
        moved = False
        for hit in hits:
            if hit.origin < cut and (cut < hit.end or hit.end >= size):
                cut = min(hit.origin, hit.start)
                moved = True
    return cut


class StreamRedactor:
    """Redacts one session's output stream chunk by chunk.

    Concatenating every ``feed`` result and the final ``flush`` gives the
    redacted stream; for text without secrets it is the input, unchanged.
    Not thread-safe: one instance per session, used from one thread.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        self._redactor = redactor or _DEFAULT
        self._held = ""
        self._swallowing_pem = False

    @property
    def held(self) -> int:
        """How many characters are held back, waiting for more input."""
        return len(self._held)

    def feed(self, text: str) -> str:
        """Add ``text``; return the (redacted) text that is now safe to store."""
        buf = self._held + text
        if self._swallowing_pem:
            end = _PEM_END.search(buf)
            if end is None:
                self._held = buf[-_PEM_END_TAIL:]
                return ""
            self._swallowing_pem = False
            buf = buf[end.end() :]
        if not buf:
            self._held = ""
            return ""
        hits = self._redactor.hits(buf)
        cut = _settle(max(buf.rfind("\n"), buf.rfind("\r")) + 1, hits, len(buf))
        limit = PEM_MAX if _PEM_BEGIN.match(buf, cut) else TAIL_MAX
        if len(buf) - cut > limit:
            cut = self._overflow_cut(buf, cut, hits, limit)
        self._held = buf[cut:]
        return apply_hits(buf, hits, cut)

    def _overflow_cut(self, buf: str, cut: int, hits: list[Hit], limit: int) -> int:
        target = len(buf) - CONTEXT
        space = max(buf.rfind(" ", cut, target), buf.rfind("\t", cut, target))
        new_cut = _settle(space + 1 if space >= 0 else target, hits, len(buf))
        if len(buf) - new_cut <= limit:
            return new_cut
        # A match straddles everything we could keep: redact it all and let go.
        # If that cut through an open PEM block, swallow the rest of the block.
        begins = list(_PEM_BEGIN.finditer(buf))
        last_begin = begins[-1] if begins else None
        if last_begin is not None and _PEM_END.search(buf, last_begin.end()) is None:
            self._swallowing_pem = True
        return len(buf)

    def flush(self) -> str:
        """Release everything held (redacted); the redactor is then empty."""
        buf, self._held = self._held, ""
        if self._swallowing_pem:
            self._swallowing_pem = False
            return ""
        return self._redactor.text(buf)
