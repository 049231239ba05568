"""The familiars roster: ``COVEN_HOME/familiars.toml`` text in, a typed roster out.

Pure: the caller reads the file (a missing file is an empty roster) and writes
it back. The format is the reference's, one table per familiar::

    [[familiar]]
    id = "sage"                 # required: 1-64 of A-Z a-z 0-9 _ -, not a Cast keyword
    display_name = "Sage"       # required, not blank
    role = "Research Familiar"  # required (may be empty)
    description = "Reads and synthesizes."   # required (may be empty)
    harness = "claude"          # ours, optional: default harness for its launches
    model = "opus"              # ours, optional: default model
    instructions = \"\"\"...\"\"\"    # ours, optional: standing instructions

The reference's optional presentation keys (``name``, ``emoji``, ``icon``,
``pronouns``, ``active_channel``, ``workspace``) are accepted and kept, so a
roster written for the reference loads unchanged. Anything else is refused
rather than ignored: a misspelt key (``display-name``) must not silently drop
a familiar's identity. Every refusal is a ``RosterInvalid`` naming the file and,
whenever it can be found, the line: tomllib's own position for syntax errors,
and for the rules checked here the line of the offending key or of its
``[[familiar]]`` header.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, NoReturn

import msgspec

from coven.authority.external import is_harness_id
from coven.authority.roster_layout import RosterLayout
from coven.errors import InvalidRequest, RosterInvalid, UnknownFamiliar
from coven.schema.familiars import MAX_FAMILIAR_ID_LENGTH, RESERVED_FAMILIAR_IDS, is_familiar_id

ROSTER_FILE = "familiars.toml"
MAX_ROSTER_BYTES = 1024 * 1024
MAX_INSTRUCTIONS_CHARS = 64 * 1024

_REQUIRED = ("id", "display_name", "role", "description")
_OPTIONAL = (
    "name",
    "emoji",
    "icon",
    "pronouns",
    "active_channel",
    "workspace",
    "harness",
    "model",
    "instructions",
)
KNOWN_KEYS = frozenset(_REQUIRED + _OPTIONAL)


@dataclass(frozen=True, slots=True)
class Familiar:
    """One declared familiar. ``line`` is where its ``[[familiar]]`` header is, if known."""

    id: str
    display_name: str
    role: str
    description: str
    name: str | None = None
    emoji: str | None = None
    icon: str | None = None
    pronouns: str | None = None
    active_channel: str | None = None
    workspace: str | None = None
    harness: str | None = None
    model: str | None = None
    instructions: str | None = None
    line: int | None = field(default=None, compare=False)

    def identity_preamble(self) -> str:
        """The identity line a familiar's harness receives, worded as the reference does."""
        name = self.display_name
        if self.role.strip():
            return (
                f"[Identity: You are {name}, a {self.role.strip()}. "
                f"Respond as {name}, not as the underlying tool.]"
            )
        return f"[Identity: You are {name}. Respond as {name}, not as the underlying tool.]"


class Roster(msgspec.Struct, frozen=True):
    """The familiars of one roster file, in file order, ids unique."""

    path: str
    familiars: tuple[Familiar, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.familiars)

    def get(self, familiar_id: str) -> Familiar | None:
        """The familiar with exactly this id (ids are case-sensitive), or ``None``."""
        for familiar in self.familiars:
            if familiar.id == familiar_id:
                return familiar
        return None

    def require(self, familiar_id: str) -> Familiar:
        """The familiar with this id, else ``UnknownFamiliar`` (``details.familiarId``)."""
        found = self.get(familiar_id)
        if found is not None:
            return found
        if self.familiars:
            message = f"unknown familiar `{familiar_id}`; expected one of: {', '.join(self.ids)}"
        else:
            message = (
                f"unknown familiar `{familiar_id}`; no familiars are configured in {self.path}"
            )
        raise UnknownFamiliar(message, {"familiarId": familiar_id})


# --- parsing -------------------------------------------------------------------------


def parse_roster(data: str | bytes, path: str) -> Roster:
    """Parse the contents of a roster file; ``path`` is only used to name it in errors.

    Raises ``RosterInvalid`` (``details``: ``path``, and ``line``/``column``,
    ``familiar`` (0-based entry index) and ``field`` when known).
    """
    text = _decode(data, path)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, path) from None
    layout = RosterLayout(text)
    problems = _Checker(layout, path)
    for key in document:
        if key != "familiar":
            problems.fail(
                f"unknown top-level key `{key}`; the roster holds only [[familiar]] tables",
                line=layout.top_level_line(key),
                field=key,
            )
    entries = document.get("familiar", [])
    if not isinstance(entries, list):
        problems.fail(
            "`familiar` must be written as [[familiar]] tables",
            line=layout.top_level_line("familiar"),
            field="familiar",
        )
    layout.expect_entries(len(entries))
    familiars: list[Familiar] = []
    # Lookups are case-sensitive, but ids differing only in case would be one
    # familiar to a human and to clients that compare ids case-insensitively.
    seen: dict[str, Familiar] = {}
    for index, entry in enumerate(entries):
        familiar = problems.familiar(index, entry)
        earlier = seen.get(familiar.id.lower())
        if earlier is not None:
            same = "" if earlier.id == familiar.id else f" (same as `{earlier.id}` but for case)"
            also = f"; first declared on line {earlier.line}" if earlier.line else ""
            problems.fail(
                f"duplicate familiar id `{familiar.id}`{same}{also}",
                line=layout.key_line(index, "id"),
                index=index,
                field="id",
            )
        seen[familiar.id.lower()] = familiar
        familiars.append(familiar)
    return Roster(path=path, familiars=tuple(familiars))


class _Checker:
    """Type and value rules for the entries; every failure names file and line."""

    def __init__(self, layout: RosterLayout, path: str) -> None:
        self.layout = layout
        self.path = path

    def familiar(self, index: int, entry: object) -> Familiar:
        header = self.layout.entry_line(index)
        if not isinstance(entry, dict):
            self.fail("each familiar must be a table", line=header, index=index)
        for key in entry:
            if key not in KNOWN_KEYS:
                self.fail(
                    f"unknown key `{key}` (known keys: {', '.join(_REQUIRED + _OPTIONAL)})",
                    line=self.layout.key_line(index, key),
                    index=index,
                    field=key,
                )
        for key in _REQUIRED:
            if key not in entry:
                self.fail(f"missing required key `{key}`", line=header, index=index, field=key)
        values = {key: self._string(index, entry, key) for key in entry}
        self._check_values(index, values)
        return Familiar(**values, line=header)

    def _string(self, index: int, entry: Mapping[str, Any], key: str) -> str:
        value = entry[key]
        if not isinstance(value, str):
            self.fail(
                f"`{key}` must be a string, got {_toml_type(value)}",
                line=self.layout.key_line(index, key),
                index=index,
                field=key,
            )
        return value

    def _check_values(self, index: int, values: dict[str, str]) -> None:
        def bad(key: str, message: str) -> None:
            self.fail(message, line=self.layout.key_line(index, key), index=index, field=key)

        familiar_id = values["id"]
        if familiar_id.lower() in RESERVED_FAMILIAR_IDS:
            bad("id", f"`{familiar_id}` is a Cast Code keyword and cannot be a familiar id")
        if not is_familiar_id(familiar_id):
            bad(
                "id",
                f"familiar id `{familiar_id}` must be 1 to {MAX_FAMILIAR_ID_LENGTH} "
                "ASCII letters, digits, `_` or `-`",
            )
        if not values["display_name"].strip():
            bad("display_name", "`display_name` must not be blank")
        harness = values.get("harness")
        if harness is not None and not is_harness_id(harness):
            bad("harness", f"harness `{harness}` is not a harness id (`[a-z0-9][a-z0-9._-]*`)")
        model = values.get("model")
        if model is not None and (not model.strip() or model != model.strip()):
            bad("model", "`model` must be a model name without surrounding spaces")
        instructions = values.get("instructions")
        if instructions is not None and len(instructions) > MAX_INSTRUCTIONS_CHARS:
            bad(
                "instructions", f"`instructions` is longer than {MAX_INSTRUCTIONS_CHARS} characters"
            )

    def fail(
        self,
        problem: str,
        *,
        line: int | None,
        index: int | None = None,
        field: str | None = None,
    ) -> NoReturn:
        where = f", line {line}" if line is not None else ""
        entry = f" (familiar #{index + 1})" if index is not None and line is None else ""
        details: dict[str, Any] = {"path": self.path}
        if line is not None:
            details["line"] = line
        if index is not None:
            details["familiar"] = index
        if field is not None:
            details["field"] = field
        raise RosterInvalid(f"familiars roster {self.path}{where}{entry}: {problem}", details)


def _decode(data: str | bytes, path: str) -> str:
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > MAX_ROSTER_BYTES:
        raise RosterInvalid(
            f"familiars roster {path}: larger than {MAX_ROSTER_BYTES} bytes", {"path": path}
        )
    if isinstance(data, str):
        try:
            data.encode("utf-8")
        except UnicodeEncodeError as exc:
            line = data.count("\n", 0, exc.start) + 1
            raise RosterInvalid(
                f"familiars roster {path}, line {line}: not valid Unicode text",
                {"path": path, "line": line},
            ) from None
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RosterInvalid(
            f"familiars roster {path}, line {line}: not valid UTF-8",
            {"path": path, "line": line},
        ) from None


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*\Z")
_TOML_AT_END = re.compile(r"\s*\(at end of document\)\s*\Z")


def _syntax_error(exc: tomllib.TOMLDecodeError, path: str) -> RosterInvalid:
    """tomllib reports positions only inside its message text (before Python 3.14)."""
    message = str(exc)
    details: dict[str, Any] = {"path": path}
    found = _TOML_POSITION.search(message)
    if found:
        line, column = int(found.group(1)), int(found.group(2))
        details.update(line=line, column=column)
        problem = message[: found.start()]
        return RosterInvalid(
            f"familiars roster {path}, line {line}, column {column}: {problem}", details
        )
    at_end = _TOML_AT_END.search(message)
    problem = message[: at_end.start()] + " at the end of the file" if at_end else message
    return RosterInvalid(f"familiars roster {path}: {problem}", details)


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


# --- writing -------------------------------------------------------------------------


def render_familiar(familiar: Familiar) -> str:
    """One ``[[familiar]]`` table, keys in the documented order, unset keys left out."""
    out = ["[[familiar]]"]
    for spec in fields(familiar):
        if spec.name == "line":
            continue
        value = getattr(familiar, spec.name)
        if value is None:
            continue
        out.append(f"{spec.name} = {_toml_string(value)}")
    return "\n".join(out) + "\n"


def render_roster(familiars: Iterable[Familiar]) -> str:
    """A whole roster file for ``familiars``, one blank line between tables."""
    return "\n".join(render_familiar(f) for f in familiars)


def add_familiar(text: str, familiar: Familiar, path: str) -> str:
    """``text`` with ``familiar`` appended as a new table; everything else kept byte for byte.

    Raises ``RosterInvalid`` if ``text`` itself is invalid, and ``InvalidRequest``
    if the id is taken or a field of ``familiar`` breaks a roster rule.
    """
    roster = parse_roster(text, path)
    # Ids that differ only in case are one familiar (parse_roster refuses such a file).
    taken = next((f for f in roster.familiars if f.id.lower() == familiar.id.lower()), None)
    if taken is not None:
        same = "" if taken.id == familiar.id else f" (as `{taken.id}`, which differs only in case)"
        raise InvalidRequest(
            f"familiar `{familiar.id}` already exists in {path}{same}", {"familiarId": familiar.id}
        )
    table = render_familiar(familiar)
    try:
        parse_roster(table, path)
    except RosterInvalid as exc:
        problem = exc.message.split(": ", 1)[-1]
        details = (
            {"field": exc.details["field"]} if exc.details and "field" in exc.details else None
        )
        raise InvalidRequest(f"familiar `{familiar.id}`: {problem}", details) from None
    if not text.strip():
        return table
    separator = "\n" if text.endswith("\n") else "\n\n"
    if text.endswith("\n\n"):
        separator = ""
    updated = text + separator + table
    parse_roster(updated, path)  # the appended table must not change how the rest reads
    return updated


def remove_familiar(text: str, familiar_id: str, path: str) -> str:
    """``text`` without the table of ``familiar_id``; other tables and comments kept.

    Raises ``UnknownFamiliar`` when no such familiar is declared and
    ``RosterInvalid`` when ``text`` is invalid. When the file's layout cannot
    be mapped to lines safely, the roster is rewritten from its parsed
    entries instead (their values are kept, comments are not).
    """
    roster = parse_roster(text, path)
    target = roster.require(familiar_id)
    index = roster.familiars.index(target)
    layout = RosterLayout(text)
    layout.expect_entries(len(roster.familiars))
    remaining = tuple(f for f in roster.familiars if f.id != familiar_id)
    if layout.reliable:
        start, end = layout.entry_span(index)
        lines = layout.lines[:start] + layout.lines[end:]
        # Do not leave a run of blank lines where the table was.
        while (
            start < len(lines)
            and start > 0
            and not lines[start].strip()
            and not lines[start - 1].strip()
        ):
            del lines[start]
        updated = "\n".join(lines)
        if parse_roster(updated, path).familiars == remaining:
            return updated
    return render_roster(remaining)


def _toml_string(value: str) -> str:
    """A TOML basic string (multi-line form for text with line breaks)."""
    multi_line = "\n" in value
    out: list[str] = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n" and multi_line:
            out.append("\n")
        elif ch == "\t":
            out.append("\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    body = "".join(out)
    return f'"""\n{body}"""' if multi_line else f'"{body}"'
