"""The screen model on output recorded from the real Claude Code and Codex CLIs.

``tests/fixtures/screens/*.raw`` are the bytes each CLI wrote to its terminal (100x30,
TERM=xterm-256color, scratch HOME, no credentials), recorded with ``script --log-out``
inside a tmux pane; ``*.tmux.txt`` / ``*.tmux.ansi`` are ``tmux capture-pane -p`` /
``-p -e`` of that pane at the same moment (``capture.sh`` beside them records more).
Paths were scrubbed (``/tmp/home``); the project directory was ``/tmp/demo``. Claude Code 2.1 draws its trust prompt and main
screen inline (main screen, cursor hidden, bracketed paste, focus events, queries
XTVERSION/DA1/DECRQM); Codex 0.x switches to the alternate screen, pushes kitty keyboard
flags 7 on both screens and queries DA1, DSR, DECRQM, the kitty flags and OSC 10/11.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from coven.screen import ScreenModel
from tests.support import vt

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "screens"
NAMES = ["claude-trust", "claude-main", "codex-login", "codex-sign-in"]
COLS, ROWS = 100, 30


def load(name: str) -> tuple[bytes, str, bytes]:
    raw = (FIXTURES / f"{name}.raw").read_bytes()
    text = (FIXTURES / f"{name}.tmux.txt").read_text()
    ansi = (FIXTURES / f"{name}.tmux.ansi").read_bytes()
    return raw, text, ansi


def model_of(raw: bytes) -> ScreenModel:
    model = ScreenModel(COLS, ROWS)
    for i in range(0, len(raw), 13):  # odd pieces: split sequences and characters
        model.feed(raw[i : i + 13])
    return model


@pytest.mark.parametrize("name", NAMES)
def test_text_matches_tmux_capture_pane(name: str) -> None:
    raw, tmux_text, _ = load(name)
    assert model_of(raw).text() + "\n" == tmux_text  # tmux ends every line with one


@pytest.mark.parametrize("name", NAMES)
def test_colours_match_tmux_capture_pane_e(name: str) -> None:
    """tmux and the model agree on every cell's character and style (tmux's capture
    drops trailing blanks, even reverse-video ones: those are not compared)."""
    raw, _, ansi = load(name)
    ours = vt.cells(vt.replay(model_of(raw).snapshot().data, COLS, ROWS))
    tmux = vt.cells(vt.replay(b"\r\n".join(ansi.rstrip(b"\n").split(b"\n")), COLS, ROWS))
    blank = (" ", 0)
    for y in range(ROWS):
        end = max((x + 1 for x in range(COLS) if tmux[y][x] != blank), default=0)
        assert ours[y][:end] == tmux[y][:end], y
        assert all(cell == blank or cell[1] == 0 for cell in ours[y][end:]), y


@pytest.mark.parametrize("name", NAMES)
def test_snapshot_reproduces_the_agents_screen_without_its_queries(name: str) -> None:
    raw, _, _ = load(name)
    assert vt.QUERY.search(raw) is not None  # both agents query the terminal
    snap = model_of(raw).snapshot()
    assert vt.QUERY.search(snap.data) is None
    assert vt.state(vt.replay(snap.data, COLS, ROWS)) == vt.state(vt.replay(raw, COLS, ROWS))


def test_claude_reads_as_words() -> None:
    """`coven sessions log` of Claude read `78WelcometoClaudeCodev2.1.197`: its words are
    placed with cursor moves, so only a screen model recovers the spaces."""
    trust = load("claude-trust")[0]
    assert b"Quick\x1b[8Gsafety\x1b[15Gcheck:" in trust
    assert " Quick safety check: Is this a project you created" in model_of(trust).text()
    text = model_of(load("claude-main")[0]).text()
    assert "Claude Code v2.1" in text
    assert "Auto mode lets Claude handle permission prompts automatically." in text
    assert "\u276f\u00a0hello" in text  # Claude's prompt sign, a no-break space, the input


def test_the_modes_each_agent_switched_on() -> None:
    claude = model_of(load("claude-main")[0]).modes()
    assert not claude.alt_screen and not claude.cursor_visible
    assert claude.bracketed_paste and claude.focus_events and claude.kitty_keyboard == 0
    codex = model_of(load("codex-login")[0]).modes()
    assert codex.alt_screen and not codex.cursor_visible
    assert codex.bracketed_paste and codex.focus_events
    assert (codex.kitty_keyboard_main, codex.kitty_keyboard_alt) == (7, 7)
    assert codex.mouse == ()  # switched on and off again during start-up
