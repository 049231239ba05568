"""A real terminal for end-to-end tests: a private tmux server running ``sh``.

tmux is the terminal emulator here: it interprets everything the CLI writes
(alternate screen, cursor, mouse and keypad modes...), answers terminal queries
like a desktop terminal does, and lets a test type keys (``send``), read the
screen (``screen``) and read the terminal's mode flags (``flags``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.support.cli import COVEN, Cli
from tests.support.hermetic import AGENTS

# Found on the test runner's PATH: the terminal itself is not under test control.
TMUX = shutil.which("tmux")

# The modes a full-screen agent turns on, as tmux reports them for the pane.
MODE_FLAGS = (
    "alternate_on",
    "cursor_flag",
    "mouse_any_flag",
    "mouse_button_flag",
    "mouse_standard_flag",
    "mouse_sgr_flag",
    "keypad_flag",
    "keypad_cursor_flag",
    "origin_flag",
    "wrap_flag",
)
RESTORED = {
    "alternate_on": "0",
    "cursor_flag": "1",
    "mouse_any_flag": "0",
    "mouse_button_flag": "0",
    "mouse_standard_flag": "0",
    "mouse_sgr_flag": "0",
    "keypad_flag": "0",
    "keypad_cursor_flag": "0",
    "origin_flag": "0",
    "wrap_flag": "1",
}
PROMPT = "$ "
#: What the shells in the terminal run besides the hermetic tools (never an agent).
SHELL_TOOLS = ("tr", "grep", "clear")


class Tmux:
    """One tmux server (own socket) with one window running ``sh`` in the project."""

    def __init__(self, socket: Path, env: Mapping[str, str], cwd: Path) -> None:
        self.socket = socket
        self.env = dict(env)
        self.cwd = cwd

    def tmux(self, *args: str, check: bool = True) -> str:
        assert TMUX is not None
        proc = subprocess.run(
            [TMUX, "-u", "-S", str(self.socket), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if check:
            assert proc.returncode == 0, (args, proc.stderr)
        return proc.stdout

    def start(self, rows: int = 30, cols: int = 100) -> None:
        self.tmux(
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-x",
            str(cols),
            "-y",
            str(rows),
            "-c",
            str(self.cwd),
            "env",
            f"PS1={PROMPT}",
            "/bin/sh",
        )
        self.tmux("set-option", "-g", "status", "off")
        self.wait_for_prompt()

    def stop(self) -> None:
        self.tmux("kill-server", check=False)

    def send(self, *keys: str) -> None:
        """``tmux send-keys``: key names (``C-]``, ``Enter``) or literal text."""
        self.tmux("send-keys", "-t", "0", *keys)

    def send_text(self, text: str) -> None:
        self.tmux("send-keys", "-t", "0", "-l", text)

    def send_bytes(self, data: bytes) -> None:
        """Raw bytes as the terminal would send them (e.g. a kitty key report)."""
        self.tmux("send-keys", "-t", "0", "-H", *(f"{b:02x}" for b in data))

    def line(self, command: str) -> None:
        """Type a shell command and Enter."""
        self.send_text(command)
        self.send("Enter")

    def screen(self, history: bool = False) -> str:
        args = ["capture-pane", "-p", "-t", "0"]
        if history:
            args += ["-S", "-200"]
        return self.tmux(*args)

    def flags(self) -> dict[str, str]:
        fmt = " ".join(f"{name}=#{{{name}}}" for name in MODE_FLAGS)
        text = self.tmux("display-message", "-p", "-t", "0", fmt).strip()
        return dict(item.split("=", 1) for item in text.split())

    def cursor(self) -> tuple[int, int]:
        x, y = self.tmux("display-message", "-p", "-t", "0", "#{cursor_x} #{cursor_y}").split()
        return int(x), int(y)

    def shell_pid(self) -> int:
        return int(self.tmux("display-message", "-p", "-t", "0", "#{pane_pid}").strip())

    def child_pids(self) -> list[int]:
        """Processes whose parent is the pane's shell (the command it is running)."""
        shell = str(self.shell_pid())
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[1] == shell:
                pids.append(int(entry.name))
        return pids

    def wait_for(self, needle: str, timeout: float = 15.0, history: bool = False) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen(history)
            if needle in text:
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not on screen:\n{text}")
            time.sleep(0.05)

    def wait_until(self, check: object, what: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():  # type: ignore[operator]
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self.screen(True)}")
            time.sleep(0.05)

    def wait_for_prompt(self, timeout: float = 15.0) -> str:
        """Wait until the shell shows its prompt on the last non-empty line."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [line for line in self.screen().splitlines() if line.strip()]
            if lines and lines[-1] == PROMPT.strip():
                return self.screen(True)
            if time.monotonic() > deadline:
                raise AssertionError(f"no prompt:\n{self.screen(True)}")
            time.sleep(0.05)


def coven_bin(directory: Path) -> Path:
    """``coven`` (this checkout's CLI) and ``SHELL_TOOLS`` for the shells in the terminal."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "coven"
    script.write_text(f'#!/bin/sh\nexec {" ".join(COVEN)} "$@"\n')
    script.chmod(0o755)
    for name in SHELL_TOOLS:
        target = shutil.which(name)
        if target is not None and Path(os.path.realpath(target)).name not in AGENTS:
            (directory / name).symlink_to(target)
    return directory


@pytest.fixture
def term(cli: Cli, tmp_path: Path) -> Iterator[Tmux]:
    if TMUX is None:
        pytest.fail("tmux is required for the terminal tests")
    bindir = coven_bin(tmp_path / "bin")
    env = {**cli.env, "PATH": f"{bindir}{os.pathsep}{cli.env['PATH']}", "TERM": "xterm-256color"}
    terminal = Tmux(tmp_path / "tmux.sock", env, cli.project)
    terminal.start()
    try:
        yield terminal
    finally:
        terminal.stop()
