"""A snapshot shown by a real terminal: tmux, an emulator independent of the model's.

Each case prints a program's output in one tmux pane and the model's snapshot of it in
another pane of the same size, then compares what tmux holds: the text and colours of
every line (``capture-pane -p -e``), the cursor, the screen in use, the modes tmux
tracks, and the last lines of scrollback. The panes run ``stty raw -echo; cat FILE``,
so the terminal's answers to queries in the original output are not echoed and output
bytes reach tmux unchanged.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coven.screen import ScreenModel
from tests.support import vt

pytestmark = pytest.mark.timeout(60)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "screens"
# What tmux can tell about a pane's terminal state.
PANE_STATE = (
    "#{cursor_x} #{cursor_y} cursor=#{cursor_flag} alt=#{alternate_on} "
    "keys=#{keypad_cursor_flag} keypad=#{keypad_flag} mouse=#{mouse_any_flag}"
    "#{mouse_button_flag}#{mouse_standard_flag}#{mouse_sgr_flag} "
    "origin=#{origin_flag} wrap=#{wrap_flag} region=#{scroll_region_upper}-#{scroll_region_lower}"
)


class Tmux:
    """A private tmux server (its own socket in the test's directory, no config) that
    shows byte streams."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.socket = str(tmp / "tmux.sock")
        self.env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp),
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
        }
        self.count = 0

    def run(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", self.socket, "-f", "/dev/null", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
        return done.stdout

    def show(self, data: bytes, cols: int, rows: int) -> dict[str, object]:
        """Print ``data`` in a fresh pane; return what tmux then holds."""
        self.count += 1
        name = f"pane{self.count}"
        path = self.tmp / f"{name}.bin"
        path.write_bytes(data)
        command = (
            f"stty raw -echo; cat {path}; tmux -S {self.socket} wait-for -S {name}; exec sleep 120"
        )
        self.run("new-session", "-d", "-s", name, "-x", str(cols), "-y", str(rows), command)
        self.run("wait-for", name)
        time.sleep(0.05)  # tmux parses what cat wrote before the wait-for signal arrives
        target = f"{name}:0.0"
        return {
            "lines": self.run("capture-pane", "-p", "-e", "-N", "-t", target).split("\n"),
            "state": self.run("display-message", "-p", "-t", target, PANE_STATE).strip(),
            "history": self.run("capture-pane", "-p", "-S", "-100", "-E", "-1", "-t", target),
        }

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-S", self.socket, "kill-server"],
            env=self.env,
            capture_output=True,
            timeout=20,
            check=False,
        )


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    server = Tmux(tmp_path)
    try:
        yield server
    finally:
        server.close()


def snapshot_of(stream: bytes, cols: int, rows: int, history: int = 100) -> bytes:
    model = ScreenModel(cols, rows)
    for i in range(0, len(stream), 4096):
        model.feed(stream[i : i + 4096])
    return model.snapshot(history=history).data


CASES = {
    "agent start-up": (vt.AGENT_STARTUP, 80, 24),
    "editor": (vt.EDITOR, 80, 24),
    "shell": (vt.shell_lines(300), 80, 24),
    "colours": (
        b"\x1b[31mred\x1b[0m \x1b[1;92mbold\x1b[0m \x1b[38;5;208m208\x1b[0m "
        b"\x1b[48;2;10;20;30mrgb bg\x1b[0m\r\n\x1b[44m\x1b[2K\x1b[0m\r\nplain \x1b[7minverse",
        60,
        10,
    ),
    "claude trust prompt": ((FIXTURES / "claude-trust.raw").read_bytes(), 100, 30),
    "claude main screen": ((FIXTURES / "claude-main.raw").read_bytes(), 100, 30),
    "codex login": ((FIXTURES / "codex-login.raw").read_bytes(), 100, 30),
}


_LOW_INDEXED = re.compile(r"\x1b\[([34])8;5;([0-9]|1[0-5])m")


def basic_colours(lines: object) -> list[str]:
    """The first 16 palette colours written as indexed colours (``38;5;6``), the way
    tmux keeps them apart from basic ones (``36``). The model cannot: libghostty-vt
    stores both as palette entry 6, and the snapshot writes the basic form, which is
    what terminals treat as the "bold is bright" colours."""
    assert isinstance(lines, list)

    def basic(match: re.Match[str]) -> str:
        layer, index = int(match.group(1)), int(match.group(2))
        code = layer * 10 + index if index < 8 else (layer + 6) * 10 + index - 8
        return f"\x1b[{code}m"

    return [_LOW_INDEXED.sub(basic, line) for line in lines]


@pytest.mark.parametrize("case", sorted(CASES))
def test_tmux_shows_the_snapshot_as_it_showed_the_output(tmux: Tmux, case: str) -> None:
    stream, cols, rows = CASES[case]
    original = tmux.show(stream, cols, rows)
    replayed = tmux.show(snapshot_of(stream, cols, rows), cols, rows)
    assert basic_colours(replayed["lines"]) == basic_colours(original["lines"])
    assert replayed["state"] == original["state"]
    assert replayed["history"] == original["history"]
