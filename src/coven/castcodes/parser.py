"""Parse a Cast Code into exactly one intent, or fail with a ``CastCodeError``.

Both published spellings are accepted:

=========  ============================  =========================
intent     catalog spelling              docs spelling
=========  ============================  =========================
status     ``~?``  ``~?sage``            (same)
switch     ``~>sage``                    (same)
delegate   ``~delegate:sage fix tests``  ``~sage: fix tests``
broadcast  ``~broadcast * be brief``     ``~* "be brief"``
resume     ``~^ resume``                 ``~^sage``
handoff    ``~<handoff``                 ``~<sage``
=========  ============================  =========================

How the ambiguities are settled:

* A code is one line. White space around it is ignored; inside it, only space
  and tab are white space. Control characters, line breaks and lone
  surrogates are refused wherever they appear (``bad_character``).
* A familiar id is 1-64 of ``A-Z a-z 0-9 _ -`` (case-sensitive) and ends at
  white space; any other character touching it is an error, not a new token.
* ``delegate``, ``broadcast``, ``resume`` and ``handoff`` are keywords in any
  letter case and never familiar ids, so ``~delegate: x`` is always the catalog
  form and ``~resume: x`` is an error rather than a delegation to "resume".
* Spaces are optional after an operator (``~? sage``, ``~^ resume``,
  ``~delegate: sage``, ``~*text``); text after a familiar id needs at least one.
* ``~broadcast`` takes a scope first: ``*`` for every live session, or a
  familiar id for that familiar's sessions. So ``~broadcast be brief`` names
  a familiar ``be``; the daemon then refuses it as unknown.
* Text runs to the end of the code. When it starts with ``"`` it must end with
  ``"``; that one pair is removed and nothing inside is interpreted (no
  escapes). Text is then trimmed and must not be empty. Other quote marks are
  ordinary characters.
* Delegate and broadcast need text; status, switch, resume and handoff take
  none, and anything after their familiar id is an error.
"""

from __future__ import annotations

from typing import NoReturn

from coven.castcodes.intents import (
    BAD_CHARACTERS,
    SPACES,
    Broadcast,
    CastIntent,
    Delegate,
    Handoff,
    Resume,
    Status,
    Switch,
)
from coven.errors import CastCodeError
from coven.schema.familiars import (
    FAMILIAR_ID_CHARS,
    MAX_FAMILIAR_ID_LENGTH,
    RESERVED_FAMILIAR_IDS,
)

# Stable values of ``CastCodeError.reason``.
EMPTY = "empty"
MISSING_TILDE = "missing_tilde"
MISSING_OPERATOR = "missing_operator"
UNKNOWN_OPERATOR = "unknown_operator"
MISSING_NAME = "missing_name"
BAD_NAME = "bad_name"
RESERVED_NAME = "reserved_name"
MISSING_COLON = "missing_colon"
MISSING_TEXT = "missing_text"
BAD_QUOTING = "bad_quoting"
UNEXPECTED_TEXT = "unexpected_text"
BAD_CHARACTER = "bad_character"
REASONS = frozenset(
    {
        EMPTY,
        MISSING_TILDE,
        MISSING_OPERATOR,
        UNKNOWN_OPERATOR,
        MISSING_NAME,
        BAD_NAME,
        RESERVED_NAME,
        MISSING_COLON,
        MISSING_TEXT,
        BAD_QUOTING,
        UNEXPECTED_TEXT,
        BAD_CHARACTER,
    }
)

_OPERATORS = "`?`, `>`, `^`, `<`, `*`, `delegate:`, `broadcast` or a familiar id and `:`"
_FAMILIAR = "a familiar id (letters, digits, `_` or `-`)"
# Line breaks at either end are trimmed like spaces (a code read from a file or pipe).
_TRIM = " \t\r\n"


def parse(code: str) -> CastIntent:
    """The one intent ``code`` means; raises ``CastCodeError`` for anything else.

    Never raises any other exception for a ``str`` argument. Error positions
    index into ``code`` as given (before trimming).
    """
    return _Parser(code).parse()


class _Parser:
    def __init__(self, code: str) -> None:
        self.code = code
        self.end = len(code.rstrip(_TRIM))
        self.pos = len(code) - len(code.lstrip(_TRIM)) if self.end else len(code)

    # -- the grammar -------------------------------------------------------------------

    def parse(self) -> CastIntent:
        self._refuse_bad_characters()
        if self.pos >= self.end:
            self._fail(EMPTY, "an empty Cast Code", "`~` and an operator")
        if self.code[self.pos] != "~":
            self._fail(MISSING_TILDE, "a Cast Code starts with `~`", "`~`")
        self.pos += 1
        if self.pos >= self.end:
            self._fail(MISSING_OPERATOR, "`~` needs an operator after it", _OPERATORS)
        op = self.code[self.pos]
        if op == "?":
            self.pos += 1
            self._skip_spaces()
            familiar = None if self._at_end() else self._familiar("`~?`")
            self._expect_end()
            return Status(familiar)
        if op == ">":
            self.pos += 1
            self._skip_spaces()
            familiar = self._familiar("`~>`")
            self._expect_end()
            return Switch(familiar)
        if op == "^":
            return Resume(self._familiar_or_keyword("`~^`", "resume"))
        if op == "<":
            return Handoff(self._familiar_or_keyword("`~<`", "handoff"))
        if op == "*":
            self.pos += 1
            return Broadcast(None, self._text("`~*`"))
        if op in FAMILIAR_ID_CHARS:
            return self._word_form()
        if op in SPACES:
            self._fail(UNKNOWN_OPERATOR, "the operator must follow `~` without a space", _OPERATORS)
        self._fail(UNKNOWN_OPERATOR, f"unknown Cast Code operator `{op}`", _OPERATORS)

    def _word_form(self) -> CastIntent:
        """``~delegate:…``, ``~broadcast …`` or the docs' ``~name: text``."""
        start = self.pos
        word = self._name(stop=":")
        keyword = word.lower()
        followed_by_colon = not self._at_end() and self.code[self.pos] == ":"
        if keyword == "delegate":
            if not followed_by_colon:
                self._fail(MISSING_COLON, "`~delegate` needs `:` and a familiar id", "`:`")
            self.pos += 1
            self._skip_spaces()
            familiar = self._familiar("`~delegate:`")
            return Delegate(familiar, self._text(f"`~delegate:{familiar}`"))
        if keyword == "broadcast" and not followed_by_colon:
            self._skip_spaces()
            if self._at_end():
                self._fail(
                    MISSING_NAME, "`~broadcast` needs `*` or a familiar id", "`*` or a familiar id"
                )
            if self.code[self.pos] == "*":
                self.pos += 1
                return Broadcast(None, self._text("`~broadcast *`"))
            familiar = self._familiar("`~broadcast`")
            return Broadcast(familiar, self._text(f"`~broadcast {familiar}`"))
        if keyword in RESERVED_FAMILIAR_IDS:
            hint = {
                "resume": "~^ resume",
                "handoff": "~<handoff",
                "broadcast": "~broadcast * <text>",
            }
            self.pos = start
            self._fail(
                RESERVED_NAME,
                f"`{word}` is a Cast Code keyword, not a familiar id; write `{hint[keyword]}`",
                _FAMILIAR,
            )
        if not followed_by_colon:
            self._fail(
                MISSING_COLON,
                f"to delegate to `{word}` write `~{word}: <task>`",
                "`:` and a task",
            )
        self._check_length(word, start)
        self.pos += 1
        return Delegate(word, self._text(f"`~{word}:`"))

    # -- pieces ------------------------------------------------------------------------

    def _familiar_or_keyword(self, op: str, keyword: str) -> str | None:
        """After ``^`` or ``<``: the keyword (→ ``None``) or a familiar id, then the end."""
        self.pos += 1
        self._skip_spaces()
        if self._at_end():
            self._fail(
                MISSING_NAME,
                f"{op} needs `{keyword}` or a familiar id",
                f"`{keyword}` or {_FAMILIAR}",
            )
        start = self.pos
        word = self._name()
        self._expect_end()
        if word.lower() == keyword:
            return None
        self._check_familiar(word, start)
        return word

    def _familiar(self, op: str) -> str:
        """A familiar id at the current position (spaces already skipped)."""
        if self._at_end():
            self._fail(MISSING_NAME, f"{op} needs a familiar id", _FAMILIAR)
        start = self.pos
        word = self._name()
        self._check_familiar(word, start)
        return word

    def _name(self, stop: str = "") -> str:
        """The run of id characters here; it must end at a space, the end, or ``stop``."""
        start = self.pos
        while not self._at_end() and self.code[self.pos] in FAMILIAR_ID_CHARS:
            self.pos += 1
        if not self._at_end():
            ch = self.code[self.pos]
            if ch not in SPACES and ch not in stop:
                self._fail(
                    BAD_NAME,
                    f"`{ch}` cannot appear in a familiar id",
                    "letters, digits, `_` or `-`",
                )
        if self.pos == start:  # pragma: no cover - callers only call at an id character
            self._fail(MISSING_NAME, "a familiar id is missing", _FAMILIAR)
        return self.code[start : self.pos]

    def _check_familiar(self, word: str, start: int) -> None:
        if word.lower() in RESERVED_FAMILIAR_IDS:
            self.pos = start
            self._fail(
                RESERVED_NAME, f"`{word}` is a Cast Code keyword, not a familiar id", _FAMILIAR
            )
        self._check_length(word, start)

    def _check_length(self, word: str, start: int) -> None:
        if len(word) > MAX_FAMILIAR_ID_LENGTH:
            self.pos = start
            self._fail(
                BAD_NAME,
                f"a familiar id has at most {MAX_FAMILIAR_ID_LENGTH} characters",
                _FAMILIAR,
            )

    def _text(self, op: str) -> str:
        """The rest of the code as text: one outer pair of ``"`` removed, trimmed, non-empty."""
        # Callers stand after `*`, `:` or a familiar id, which _name() only lets
        # end at a space: text can never run into an id.
        self._skip_spaces()
        if self._at_end():
            self._fail(MISSING_TEXT, f"{op} needs text after it", "text")
        text = self.code[self.pos : self.end]
        if text.startswith('"'):
            if len(text) < 2 or not text.endswith('"'):
                self._fail(
                    BAD_QUOTING,
                    'text that starts with `"` must end with `"`',
                    'a closing `"` at the end of the code',
                )
            text = text[1:-1].strip(SPACES)
            if not text:
                self._fail(MISSING_TEXT, f"{op} needs text; the quotes are empty", "text")
        self.pos = self.end
        return text

    def _refuse_bad_characters(self) -> None:
        found = BAD_CHARACTERS.search(self.code, self.pos, self.end)
        if found:
            self.pos = found.start()
            self._fail(
                BAD_CHARACTER,
                f"a Cast Code is one line of text; found {_describe(found.group())}",
                "printable text",
            )

    def _skip_spaces(self) -> None:
        while not self._at_end() and self.code[self.pos] in SPACES:
            self.pos += 1

    def _expect_end(self) -> None:
        self._skip_spaces()
        if not self._at_end():
            self._fail(
                UNEXPECTED_TEXT,
                "unexpected text at the end of the Cast Code",
                "the end of the code",
            )

    def _at_end(self) -> bool:
        return self.pos >= self.end

    def _fail(self, reason: str, message: str, expected: str) -> NoReturn:
        raise CastCodeError(
            f"invalid Cast Code at position {self.pos}: {message}",
            reason=reason,
            position=self.pos,
            expected=expected,
        )


def _describe(ch: str) -> str:
    names = {"\n": "a line break", "\r": "a carriage return"}
    return names.get(ch, f"character U+{ord(ch):04X}")
