"""Prompt detectors over screens of the real Claude Code and Codex, and crafted ones.

Captured screens: ``tests/fixtures/screens/*.raw`` (Claude Code 2.1 trust prompt and
main screen, Codex 0.x login menu and 0.171 browser sign-in; see ``test_screen_agents``) rendered by the screen
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


def test_the_real_claude_main_screen_asks_nothing() -> None:
    assert detect_prompt("claude", rendered("claude-main")) is None


def test_the_real_codex_sign_in_menu_waits_for_the_user() -> None:
    # Codex cannot do anything until the user picks how to sign in: a session sitting on
    # this screen is waiting for its user, not idle.
    found = detect_prompt("codex", rendered("codex-login"))
    assert found is not None
    assert found.detector == "codex-menu/0.17"
    assert found.question == "Choose how you want to use Codex."
    assert "Sign in with ChatGPT" in found.prompt and "Press enter to continue" in found.prompt


def test_the_sign_in_menu_is_found_wherever_its_pointer_is() -> None:
    screen = (
        rendered("codex-login").replace("> 1. Sign", "  1. Sign").replace("  2. Sign", "> 2. Sign")
    )
    found = detect_prompt("codex", screen)
    assert found is not None and found.question == "Choose how you want to use Codex."


@pytest.mark.parametrize(
    "screen",
    [
        # a list the user is not asked to choose from
        "Done:\n> 1. wrote app.py\n  2. ran the tests\n",
        # a footer without a numbered choice
        "Welcome to Codex\n\nPress enter to continue\n",
        # a choice whose heading scrolled away
        "> 1. Sign in\n  2. API key\n\nPress enter to continue\n",
    ],
)
def test_codex_menus_need_a_pointed_choice_a_heading_and_the_footer(screen: str) -> None:
    assert detect_prompt("codex", screen) is None


def test_the_real_codex_browser_sign_in_waits_for_the_user() -> None:
    # After "Sign in with ChatGPT" Codex waits for its user to finish in a browser (or
    # press esc): not idle, though nothing on the screen is a numbered choice.
    found = detect_prompt("codex", rendered("codex-sign-in"))
    assert found is not None
    assert found.detector == "codex-sign-in/0.17"
    assert found.question == "Finish signing in via your browser"
    assert found.prompt.endswith("Press esc to cancel")
    assert "https://auth.openai.com/oauth/authorize?" in found.prompt


@pytest.mark.parametrize(
    "screen",
    [
        # the heading without the footer (the step drawn halfway)
        "Welcome to Codex\n\nFinish signing in via your browser\n\nhttps://example.test/\n",
        # the footer without the heading
        "Welcome to Codex\n\nSomething else\n\nPress esc to cancel\n",
        # a later screen under the step: the footer is no longer the last line
        "Finish signing in via your browser\n\nPress esc to cancel\n\n> 1. Sign in with ChatGPT\n",
    ],
)
def test_codex_sign_in_needs_its_heading_and_its_footer_last(screen: str) -> None:
    assert detect_prompt("codex", screen) is None


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
