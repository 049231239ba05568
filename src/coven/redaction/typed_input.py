"""Redaction of typed input: hold it until it can be judged, then store it whole.

A secret typed one key at a time arrives as many tiny inputs. Redacting each on
its own stores the prefix in clear (``sk-proj-ABCDEFGHIJKLMN`` is too short to
look like a key until the rest arrives), while the same secret pasted at once is
hidden. So typed text is held and released only at points where no later key
can change the verdict:

* ``feed``: up to the last line end (``\\r`` or ``\\n``, i.e. Enter) — at once;
* ``release_words``: up to the last whitespace or control character, never
  past a quote still open on the line — for a caller's idle timer, so a pause
  does not hold a line back for ever;
* ``flush``: everything — when the session ends.

Each release point is moved back before any secret match that straddles it or
reaches the end of what is held (more keys could extend it), the way
``StreamRedactor`` holds output. A trailing word is therefore held until a line
end, the size bound or the end. What was released stays as context (its last
``CONTEXT_CHARS``), so a value typed after its name (``password: `` … ``hunter2``)
or the rest of a long token is still recognised, and only the new part is
replaced. Held text is bounded by ``TAIL_MAX`` (``PEM_MAX`` inside an open PEM
block); past it, text is released redacted as a whole, and the rest of a PEM
block released that way is dropped up to its END line.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from coven.redaction.patterns import PEM_BEGIN, PEM_END, Hit, apply_hits
from coven.redaction.redactor import _DEFAULT, Redactor
from coven.redaction.stream import _settle

CONTEXT_CHARS = 512
TAIL_MAX = 8 * 1024
PEM_MAX = 64 * 1024
# When a held line overflows, keep about this much (cut at whitespace) and release the rest.
OVERFLOW_KEEP = 1024

_PEM_BEGIN = PEM_BEGIN
_PEM_END = PEM_END
_PEM_END_TAIL = 96
_LINE_END = re.compile(r"[\r\n]")
_WORD_END = re.compile(r"[\s\x00-\x1f\x7f]")


class Released(NamedTuple):
    """Text now safe to store (already redacted; may be empty) and whether it was changed."""

    text: str
    redacted: bool


_NOTHING = Released("", False)


def _last_end(pattern: re.Pattern[str], text: str) -> int:
    """Index just past the last match of ``pattern`` in ``text`` (0 when none)."""
    end = 0
    for match in pattern.finditer(text):
        end = match.end()
    return end


def _open_quote(text: str, start: int) -> int | None:
    """Index of a quote opened in ``text[start:]`` and not closed by its end, else ``None``."""
    opened: int | None = None
    for index in range(start, len(text)):
        char = text[index]
        if opened is None:
            if char in "\"'":
                opened = index
        elif char == text[opened]:
            opened = None
    return opened


def _open_pem(text: str) -> bool:
    begins = list(_PEM_BEGIN.finditer(text))
    return bool(begins) and _PEM_END.search(text, begins[-1].end()) is None


class TypedInputRedactor:
    """One session's typed input, held until it can be judged. Not thread-safe.

    Concatenating every released text gives the input with each secret
    replaced as ``redact_text`` would replace it in the whole stream.
    """

    def __init__(self, redactor: Redactor | None = None) -> None:
        self._redactor = redactor or _DEFAULT
        self._held = ""
        self._context = ""
        self._swallowing = False
        self._pem_tail = ""

    @property
    def held(self) -> int:
        """How many characters wait for judgement."""
        return len(self._held)

    def feed(self, text: str) -> Released:
        """Add typed ``text``; release what ends in a line end (and what overflows)."""
        if self._swallowing:
            text = self._swallow(text)
            if self._swallowing:
                return _NOTHING
        self._held += text
        released = self._release(_last_end(_LINE_END, self._held))
        # The block's BEGIN may already be in the context (released before a pause).
        limit = PEM_MAX if _open_pem(self._context + self._held) else TAIL_MAX
        if len(self._held) > limit:
            released = _join(released, self._overflow())
        return released

    def release_words(self) -> Released:
        """Release up to the last word end (whitespace or control character).

        Never past a quote still open on the current line: a quoted value
        (``"api_key": "abc def ghi"``) is recognised only once it is closed.
        """
        cut = _last_end(_WORD_END, self._held)
        buf = self._context + self._held
        opened = _open_quote(buf, _last_end(_LINE_END, buf))
        if opened is not None:
            cut = min(cut, opened - len(self._context))
        return self._release(cut)

    def flush(self) -> Released:
        """Release everything held, redacted as a whole; nothing is held afterwards."""
        if not self._held:
            return _NOTHING
        return self._release(len(self._held), settle=False)

    # -- internals -----------------------------------------------------------------------------
    def _release(self, cut_in_held: int, *, settle: bool = True) -> Released:
        if cut_in_held <= 0:
            return _NOTHING
        base = len(self._context)
        buf = self._context + self._held
        hits = self._redactor.hits(buf)
        cut = base + cut_in_held
        if settle:
            cut = _settle(cut, hits, len(buf))
        if cut <= base:
            return _NOTHING
        mine = [
            Hit(max(h.origin, base) - base, max(h.start, base) - base, h.end - base)
            for h in hits
            if base < h.end <= cut
        ]
        raw = buf[base:cut]
        self._held = buf[cut:]
        self._context = (self._context + raw)[-CONTEXT_CHARS:]
        if not mine:
            return Released(raw, False)
        return Released(apply_hits(raw, mine), True)

    def _overflow(self) -> Released:
        """Release all but about ``OVERFLOW_KEEP`` characters (cut at whitespace) or, if a
        secret match straddles that, everything; a PEM block cut open is swallowed."""
        target = len(self._held) - OVERFLOW_KEEP
        space = max(self._held.rfind(" ", 0, target), self._held.rfind("\t", 0, target))
        released = self._release(space + 1 if space >= 0 else target)
        opened = _open_pem(self._context + self._held)
        if len(self._held) <= (PEM_MAX if opened else TAIL_MAX):
            return released
        rest = self._release(len(self._held), settle=False)
        if opened:
            self._swallowing = True
            self._pem_tail = ""
            self._context = ""
        return _join(released, rest)

    def _swallow(self, text: str) -> str:
        """Drop input inside a PEM block that overflowed; return what follows its END."""
        buf = self._pem_tail + text
        end = _PEM_END.search(buf)
        if end is None:
            self._pem_tail = buf[-_PEM_END_TAIL:]
            return ""
        self._swallowing = False
        self._pem_tail = ""
        return buf[end.end() :]


def _join(first: Released, second: Released) -> Released:
    return Released(first.text + second.text, first.redacted or second.redacted)
