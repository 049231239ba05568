"""Prompt detectors: is the screen of a session asking its user something?

Pure functions over the text of a rendered screen (``ScreenModel.text()``), one
detector per harness plus a generic one for shell-style ``y/n`` questions. Each
detector carries a version naming the harness release whose screens it was
written against; an ``attention`` event records it, so a wrong state can be
traced to the detector that produced it.

Only the bottom of the screen is read (``TAIL_LINES``): a question that has
scrolled up was answered or abandoned. Detectors never look at colours, so a
theme change does not break them; a layout change does, which is what the
fixtures under ``tests/fixtures/screens`` pin down.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import msgspec

TAIL_LINES = 24
"""How many of the screen's last non-blank lines a detector reads."""
MAX_PROMPT_LINES = 14

# Claude Code 2.1: a selection list whose current row starts with a heavy right angle
# quote (U+276F), under a question. Its permission dialogs ("Do you want to proceed?",
# "Do you want to make this edit to x?") number the options ("1. Yes"); the
# folder-trust screen does not ("No, exit" / "Yes, I trust this folder").
CLAUDE_POINTER = "\u276f"
_CLAUDE_OPTION = re.compile("^" + CLAUDE_POINTER + r"\s+(\d+\.\s+)?\S")
_CLAUDE_FOOTER = re.compile(r"(Enter to confirm|Esc to cancel)", re.I)
# Codex 0.17x: "Would you like to run the following command?", "... make the following
# edits?"; options like "\u203a 1. Yes, proceed (y)" (a single right angle quote).
_CODEX_QUESTION = re.compile(r"(Would you like to|Allow )[^?]*\?")
_CODEX_OPTION = re.compile("^[\u203a>]" + r"\s*1\.\s+\S")
# Codex 0.17x's menus that wait for a choice before it can work (sign-in: "Choose how you
# want to use Codex.", then "> 1. Sign in with ChatGPT" ... "Press enter to continue").
_CODEX_POINTED = re.compile("^[\u203a>]" + r"\s*\d+\.\s+\S")
_CODEX_NUMBERED = re.compile("^[\u203a>]?" + r"\s*\d+\.\s+\S")
_CODEX_MENU_FOOTER = re.compile(r"press enter to (continue|confirm)", re.I)
_CODEX_SIGN_IN = re.compile(r"^Finish signing in\b")
_CODEX_SIGN_IN_FOOTER = re.compile(r"^Press esc to cancel$", re.I)
# A shell-style question waiting on the last line: "Apply this edit? (y/n)", "[Y/n]".
_YES_NO = re.compile(r"[\[(]\s*y(?:es)?\s*/\s*n(?:o)?\s*[\])]\s*[:?]?\s*$", re.I)
_QUESTION_MARK = re.compile(r"^(.*?\?)")


class PromptMatch(msgspec.Struct, frozen=True):
    """A question on the screen: who saw it, the question line, and the prompt block."""

    detector: str
    question: str
    prompt: str


Detector = Callable[[Sequence[str]], PromptMatch | None]


def _tail(text: str) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines[-TAIL_LINES:]


def _unboxed(line: str) -> str:
    """A line without the box border some dialogs draw around themselves."""
    return line.strip().strip("│").strip()


def _question_above(lines: Sequence[str], index: int, limit: int = 12) -> int | None:
    """Index of the nearest line above ``index`` that holds a question mark."""
    for i in range(index - 1, max(-1, index - 1 - limit), -1):
        if "?" in lines[i]:
            return i
    return None


def _question_text(line: str) -> str:
    text = _unboxed(line)
    found = _QUESTION_MARK.match(text)
    return found.group(1).strip() if found else text


def _block(lines: Sequence[str], start: int, end: int) -> str:
    block = [line.strip().strip("│").rstrip() for line in lines[start : end + 1]]
    return "\n".join(block[:MAX_PROMPT_LINES]).strip()


def _last_option(lines: Sequence[str], first: int) -> int:
    last = first
    for i in range(first + 1, min(len(lines), first + 8)):
        stripped = _unboxed(lines[i])
        if re.match(r"^(\d+\.\s|\S.*\(esc\)$|Yes|No)", stripped):
            last = i
    return last


def claude_v2(lines: Sequence[str]) -> PromptMatch | None:
    """Claude Code 2.1's selection prompts (permission dialogs, folder trust)."""
    for index, line in enumerate(lines):
        option = _CLAUDE_OPTION.match(_unboxed(line))
        if option is None:
            continue
        footer = any(_CLAUDE_FOOTER.search(after) for after in lines[index + 1 : index + 8])
        if not (footer or option.group(1)):
            continue
        question = _question_above(lines, index)
        if question is None:
            continue
        end = _last_option(lines, index)
        return PromptMatch(
            "claude/2.1", _question_text(lines[question]), _block(lines, question, end)
        )
    return None


def codex_v0(lines: Sequence[str]) -> PromptMatch | None:
    """Codex 0.17x's approval requests (run a command, apply edits)."""
    for index, line in enumerate(lines):
        if not _CODEX_OPTION.match(_unboxed(line)):
            continue
        question = _question_above(lines, index)
        if question is None:
            continue
        found = _CODEX_QUESTION.search(lines[question])
        if found is None:
            continue
        end = _last_option(lines, index)
        return PromptMatch("codex/0.17", found.group(0).strip(), _block(lines, question, end))
    return None


def codex_menu_v0(lines: Sequence[str]) -> PromptMatch | None:
    """Codex 0.17x's menus (sign-in, for one): a pointed, numbered choice under a heading,
    over "Press enter to continue". Codex cannot go on until the user picks, so its
    heading is the question even without a question mark."""
    for index, line in enumerate(lines):
        if not _CODEX_POINTED.match(_unboxed(line)):
            continue
        footer = next(
            (
                i
                for i in range(index + 1, min(len(lines), index + 16))
                if _CODEX_MENU_FOOTER.search(lines[i])
            ),
            None,
        )
        if footer is None:
            continue
        first = index  # the first option: the pointer may be on any of them
        for i in range(index - 1, max(-1, index - 16), -1):
            if _CODEX_NUMBERED.match(_unboxed(lines[i])):
                first = i
        heading = next((i for i in range(first - 1, -1, -1) if lines[i].strip()), None)
        if heading is None or first - heading > 3:
            continue
        return PromptMatch(
            "codex-menu/0.17", _unboxed(lines[heading]), _block(lines, heading, footer)
        )
    return None


def codex_sign_in_v0(lines: Sequence[str]) -> PromptMatch | None:
    """Codex 0.17x's browser sign-in step ("Finish signing in via your browser", a link,
    "Press esc to cancel" last): Codex waits for its user to sign in, or to press esc."""
    # The footer is the screen's last line: anything under it is a later screen.
    if not lines or not _CODEX_SIGN_IN_FOOTER.match(lines[-1].strip()):
        return None
    footer = len(lines) - 1
    for index in range(footer - 1, max(-1, footer - 16), -1):
        if _CODEX_SIGN_IN.match(lines[index].strip()):
            return PromptMatch(
                "codex-sign-in/0.17", lines[index].strip(), _block(lines, index, footer)
            )
    return None


def yes_no(lines: Sequence[str]) -> PromptMatch | None:
    """A shell-style ``(y/n)`` / ``[Y/n]`` question on the last line of the screen."""
    if not lines:
        return None
    last = lines[-1].strip()
    if not _YES_NO.search(last):
        return None
    return PromptMatch("yes-no/1", last, last)


HARNESS_DETECTORS: dict[str, tuple[Detector, ...]] = {
    "claude": (claude_v2,),
    "codex": (codex_v0, codex_menu_v0, codex_sign_in_v0),
}


def detect_prompt(harness: str, screen_text: str) -> PromptMatch | None:
    """The question the screen asks its user, if any: the harness's detectors, then ``y/n``."""
    lines = _tail(screen_text)
    for detector in (*HARNESS_DETECTORS.get(harness, ()), yes_no):
        found = detector(lines)
        if found is not None:
            return found
    return None
