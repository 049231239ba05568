"""Prompt detectors over screens of the real Claude Code and Codex, and crafted ones.

Captured screens: ``tests/fixtures/screens/*.raw`` (Claude Code 2.1 trust prompt and
main screen, Codex 0.x login; see ``test_screen_agents``) rendered by the screen
model, and ``prompts/claude-not-logged-in.txt`` (Claude Code 2.1.332). Without a
login neither CLI reaches an approval request, so the approval screens in
``prompts/`` are crafted from the documented prompt texts; each file's first line
(``#! ...``) says which.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from coven.screen import ScreenModel
from coven.screen.prompts import detect_prompt

SCREENS = Path(__file__).resolve().parents[1] / "fixtures" / "screens"


def rendered(name: str) -> str:
    model = ScreenModel(100, 30)
    try:
        model.feed((SCREENS / f"{name}.raw").read_bytes())
        return model.text()
    finally:
        model.close()


def crafted(name: str) -> str:
    lines = (SCREENS / "prompts" / f"{name}.txt").read_text().splitlines()
    assert lines[0].startswith("#! ")
    return "\n".join(lines[1:])


def test_claude_trust_prompt_captured_from_the_real_cli_is_a_question() -> None:
    found = detect_prompt("claude", rendered("claude-trust"))
    assert found is not None
    assert found.detector == "claude/2.1"
    assert found.question == "Quick safety check: Is this a project you created or one you trust?"
    assert "Yes, I trust this folder" in found.prompt


@pytest.mark.parametrize("name", ["claude-main", "codex-login"])
def test_real_main_and_login_screens_ask_nothing(name: str) -> None:
    assert detect_prompt(name.split("-")[0], rendered(name)) is None


def test_claude_after_a_failed_turn_asks_nothing() -> None:
    assert detect_prompt("claude", crafted("claude-not-logged-in")) is None


@pytest.mark.parametrize(
    ("harness", "name", "question", "detector"),
    [
        ("claude", "claude-bash-approval", "Do you want to proceed?", "claude/2.1"),
        (
            "claude",
            "claude-edit-approval",
            "Do you want to make this edit to app.py?",
            "claude/2.1",
        ),
        (
            "codex",
            "codex-command-approval",
            "Would you like to run the following command?",
            "codex/0.17",
        ),
        (
            "codex",
            "codex-edit-approval",
            "Would you like to make the following edits?",
            "codex/0.17",
        ),
        ("fake", "shell-yes-no", "Apply this edit to config.yaml? (y/n)", "yes-no/1"),
    ],
)
def test_approval_prompts_are_found_with_their_question(
    harness: str, name: str, question: str, detector: str
) -> None:
    found = detect_prompt(harness, crafted(name))
    assert found is not None
    assert (found.question, found.detector) == (question, detector)
    assert "1." in found.prompt or detector == "yes-no/1"


def test_an_answered_yes_no_question_that_scrolled_on_is_not_waiting() -> None:
    assert detect_prompt("fake", crafted("shell-not-a-question")) is None


def test_one_harness_detector_does_not_fire_for_another() -> None:
    assert detect_prompt("codex", crafted("claude-bash-approval")) is None
    assert detect_prompt("claude", crafted("codex-command-approval")) is None


@pytest.mark.parametrize("line", ["Overwrite? [Y/n]", "Continue (yes/no)?", "Proceed [y/N]: "])
def test_shell_question_forms(line: str) -> None:
    found = detect_prompt("fake", f"some output\n{line}\n\n")
    assert found is not None and found.question == line.strip()
