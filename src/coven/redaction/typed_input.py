"""Redaction of typed input with memory across requests.

Input events must be stored as soon as they are accepted, so unlike output
nothing can be held back. Instead each session keeps a little context: the tail
of earlier input (a token typed in two requests is caught by matching on
context + new text) and whether a PEM private-key block is still open (every
line typed inside one is redacted until its END line).
"""

from __future__ import annotations

from coven.redaction.patterns import PEM_BEGIN, PEM_END, REDACTED
from coven.redaction.redactor import Redactor

CONTEXT_CHARS = 512
_PEM_BEGIN = PEM_BEGIN
_PEM_END = PEM_END


class InputRedactor:
    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._context = ""
        self._pem_open = False

    def redact(self, text: str) -> str:
        out = []
        rest = text
        if self._pem_open:
            end = _PEM_END.search(rest)
            if end is None:
                self._remember(text)
                return REDACTED if rest else rest
            out.append(REDACTED)
            rest = rest[end.end() :]
            self._pem_open = False
        out.append(self._redact_with_context(rest))
        begins = list(_PEM_BEGIN.finditer(rest))
        begin = begins[-1] if begins else None
        if begin is not None and _PEM_END.search(rest, begin.end()) is None:
            # An unfinished key block: hide what follows BEGIN, and the next inputs too.
            self._pem_open = True
            out[-1] = self._redact_with_context(rest[: begin.start()]) + REDACTED
        self._remember(text)
        return "".join(out)

    def _redact_with_context(self, text: str) -> str:
        if not text:
            return text
        ctx = self._context
        hits = [h for h in self._redactor.hits(ctx + text) if h.end > len(ctx)]
        if not hits:
            return text
        pieces = []
        cursor = 0
        for hit in hits:
            start = max(hit.start - len(ctx), 0)
            end = hit.end - len(ctx)
            if start < cursor:
                start = cursor
            if end <= start:
                continue
            pieces.append(text[cursor:start])
            pieces.append(REDACTED)
            cursor = end
        pieces.append(text[cursor:])
        return "".join(pieces)

    def _remember(self, text: str) -> None:
        self._context = (self._context + text)[-CONTEXT_CHARS:]
