"""The typed intents a Cast Code means, and their canonical spelling.

An intent says what the user asked for, never whether it is allowed: each one
becomes ordinary daemon calls that the daemon validates as if typed by hand.
Every intent is valid by construction (a bad familiar id or text raises
``ValueError``), so ``render`` always produces a code that parses back to the
same intent. On the wire an intent is a JSON object tagged by ``type``.
"""

from __future__ import annotations

import re

import msgspec

from coven.schema.familiars import is_familiar_id

# Only these count as white space inside a code; other Unicode spaces are text.
SPACES = " \t"
# Unicode categories Cc (controls) except tab, Cs (surrogates), Zl and Zp (line and
# paragraph separators): fixed ranges, so a character class says it exactly.
BAD_CHARACTERS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


class Status(msgspec.Struct, frozen=True, tag_field="type", tag="status"):
    """``~?`` / ``~?name``: show familiars and sessions (``familiar=None``: all of them)."""

    familiar: str | None

    def __post_init__(self) -> None:
        _check_optional_familiar(self.familiar)


class Switch(msgspec.Struct, frozen=True, tag_field="type", tag="switch"):
    """``~>name``: make ``familiar`` the active one of this client (client state only)."""

    familiar: str

    def __post_init__(self) -> None:
        _check_familiar(self.familiar)


class Delegate(msgspec.Struct, frozen=True, tag_field="type", tag="delegate"):
    """``~delegate:name text`` / ``~name: text``: start ``text`` as a task for ``familiar``."""

    familiar: str
    text: str

    def __post_init__(self) -> None:
        _check_familiar(self.familiar)
        _check_text(self.text)


class Broadcast(msgspec.Struct, frozen=True, tag_field="type", tag="broadcast"):
    """``~broadcast * text`` / ``~* text``: send ``text`` to live sessions.

    ``familiar=None`` means every live session; a familiar id limits it to
    that familiar's live sessions. The field has no default on purpose: a
    caller must say "everyone" explicitly.
    """

    familiar: str | None
    text: str

    def __post_init__(self) -> None:
        _check_optional_familiar(self.familiar)
        _check_text(self.text)


class Resume(msgspec.Struct, frozen=True, tag_field="type", tag="resume"):
    """``~^ resume`` / ``~^name``: continue the last conversation (of ``familiar``, if named)."""

    familiar: str | None

    def __post_init__(self) -> None:
        _check_optional_familiar(self.familiar)


class Handoff(msgspec.Struct, frozen=True, tag_field="type", tag="handoff"):
    """``~<handoff`` / ``~<name``: a handoff packet, printed or given to ``familiar``."""

    familiar: str | None

    def __post_init__(self) -> None:
        _check_optional_familiar(self.familiar)


CastIntent = Status | Switch | Delegate | Broadcast | Resume | Handoff


def render(intent: CastIntent) -> str:
    """The canonical code for ``intent``: the catalog's spelling where it has one.

    ``parse(render(i)) == i`` for every intent ``i``.
    """
    match intent:
        case Status(familiar=None):
            return "~?"
        case Status(familiar=name):
            return f"~?{name}"
        case Switch(familiar=name):
            return f"~>{name}"
        case Delegate(familiar=name, text=text):
            return f"~delegate:{name} {render_text(text)}"
        case Broadcast(familiar=None, text=text):
            return f"~broadcast * {render_text(text)}"
        case Broadcast(familiar=name, text=text):
            return f"~broadcast {name} {render_text(text)}"
        case Resume(familiar=None):
            return "~^ resume"
        case Resume(familiar=name):
            return f"~^{name}"
        case Handoff(familiar=None):
            return "~<handoff"
        case Handoff(familiar=name):
            return f"~<{name}"
    raise TypeError(f"not a Cast intent: {intent!r}")  # pragma: no cover - exhaustive


def render_text(text: str) -> str:
    """``text`` as it must be written in a code: quoted only when it starts with ``"``.

    The parser removes one surrounding pair of double quotes and looks at
    nothing inside, so wrapping is enough and needs no escapes.
    """
    return f'"{text}"' if text.startswith('"') else text


def bad_character(ch: str) -> bool:
    """Characters no code may contain: controls, line breaks, lone surrogates.

    A code is one line of prose; its text may reach a terminal as typed input,
    where a control character would act as a key press or escape sequence.
    Tab is allowed and counts as a space.
    """
    return BAD_CHARACTERS.match(ch) is not None


def _check_familiar(name: str) -> None:
    if not is_familiar_id(name):
        raise ValueError(f"not a usable familiar id: {name!r}")


def _check_optional_familiar(name: str | None) -> None:
    if name is not None:
        _check_familiar(name)


def _check_text(text: str) -> None:
    if not text or text[0] in SPACES or text[-1] in SPACES:
        raise ValueError("Cast text must be non-empty with no surrounding spaces")
    if BAD_CHARACTERS.search(text):
        raise ValueError("Cast text must not contain control characters or line breaks")
