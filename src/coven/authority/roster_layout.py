"""Where things are in a familiars roster's text: table headers and keys by line.

Split from ``coven.authority.familiars`` (which reports errors by line and edits
the roster text in place); pure text scanning, no TOML parsing of its own.
"""

from __future__ import annotations

import re

_FAMILIAR_HEADER = re.compile(
    r"""\s*\[\[\s*(?:familiar|"familiar"|'familiar')\s*\]\]\s*(?:#.*)?\Z"""
)
_SUBTABLE_HEADER = re.compile(r"""\s*\[\[?\s*(?:familiar|"familiar"|'familiar')\s*\.""")
_ANY_HEADER = re.compile(r"\s*\[")
_BLANK_OR_COMMENT = re.compile(r"\s*(?:#.*)?\Z")


class RosterLayout:
    """Line numbers of the roster's tables and keys, found by a small TOML-aware scan.

    Only lines that start outside multi-line strings are looked at, so a
    ``[[familiar]]`` written inside ``instructions = \"\"\"...\"\"\"`` is not a
    header. The scan is cross-checked against tomllib's result
    (``expect_entries``); if the counts disagree, lines are reported as unknown
    rather than wrong.
    """

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.in_code = _lines_starting_outside_strings(self.lines)
        self.entries: list[int] = []  # 0-based index of each [[familiar]] header
        self.ends: list[int] = []  # exclusive 0-based end of each entry's lines
        self.first_header: int | None = None
        for number, line in enumerate(self.lines):
            if not self.in_code[number] or not _ANY_HEADER.match(line):
                continue
            if _FAMILIAR_HEADER.match(line):
                self._close(number)
                self.entries.append(number)
            elif not _SUBTABLE_HEADER.match(line):
                self._close(number)
            if self.first_header is None:
                self.first_header = number
        self._close(len(self.lines))
        self.reliable = True

    def _close(self, number: int) -> None:
        if len(self.ends) < len(self.entries):
            self.ends.append(number)

    def expect_entries(self, count: int) -> None:
        if count != len(self.entries):
            self.reliable = False

    def entry_line(self, index: int) -> int | None:
        if not self.reliable or index >= len(self.entries):
            return None
        return self.entries[index] + 1

    def key_line(self, index: int, key: str) -> int | None:
        """The line of ``key`` in entry ``index``, else the entry's header line."""
        if not self.reliable or index >= len(self.entries):
            return None
        pattern = _key_pattern(key)
        # A key can also be written as a sub-table of the entry: [familiar.key].
        table = re.compile(rf"\s*\[\[?\s*{_spellings('familiar')}\s*\.\s*{_spellings(key)}\s*[\].]")
        for number in range(self.entries[index] + 1, self.ends[index]):
            line = self.lines[number]
            if self.in_code[number] and (pattern.match(line) or table.match(line)):
                return number + 1
        return self.entries[index] + 1

    def top_level_line(self, key: str) -> int | None:
        """The line of a top-level ``key =`` or ``[key]`` table, if found."""
        pattern = _key_pattern(key)
        table = re.compile(rf"\s*\[\[?\s*{_spellings(key)}\s*[\].]")
        stop = self.first_header if self.first_header is not None else len(self.lines)
        for number, line in enumerate(self.lines):
            if not self.in_code[number]:
                continue
            if (number < stop and pattern.match(line)) or table.match(line):
                return number + 1
        return None

    def entry_span(self, index: int) -> tuple[int, int]:
        """0-based [start, end) of entry ``index``'s lines, for removal.

        Starts at comment lines attached directly above the header (they
        describe it) and ends after its last non-blank, non-comment line
        (comments further down describe what follows).
        """
        start = self.entries[index]
        while start > 0 and self.in_code[start - 1]:
            above = self.lines[start - 1].strip()
            if not above.startswith("#"):
                break
            start -= 1
        end = self.ends[index]
        while end > self.entries[index] + 1 and _BLANK_OR_COMMENT.match(self.lines[end - 1]):
            if not self.in_code[end - 1]:
                break
            end -= 1
        return start, end


def _spellings(key: str) -> str:
    """A regex matching ``key`` bare, double-quoted or single-quoted."""
    bare = re.escape(key)
    return f"""(?:{bare}|"{bare}"|'{bare}')"""


def _key_pattern(key: str) -> re.Pattern[str]:
    return re.compile(rf"\s*{_spellings(key)}\s*[=.]")


def _lines_starting_outside_strings(lines: list[str]) -> list[bool]:
    """For each line, whether it starts outside a multi-line string."""
    result: list[bool] = []
    state: str | None = None  # the delimiter of the open multi-line string
    for line in lines:
        result.append(state is None)
        i = 0
        while i < len(line):
            if state is not None:
                if state == '"""' and line[i] == "\\":
                    i += 2
                    continue
                if line.startswith(state, i):
                    i += 3
                    # Up to two quotes right before the closing three belong to the string.
                    while i < len(line) and line[i] == state[0]:
                        i += 1
                    state = None
                    continue
                i += 1
                continue
            ch = line[i]
            if ch == "#":
                break
            if line.startswith('"""', i) or line.startswith("'''", i):
                state = line[i : i + 3]
                i += 3
            elif ch == '"':
                i += 1
                while i < len(line) and line[i] != '"':
                    i += 2 if line[i] == "\\" else 1
                i += 1
            elif ch == "'":
                close = line.find("'", i + 1)
                i = len(line) if close < 0 else close + 1
            else:
                i += 1
    return result
