"""Attach and detach like tmux, in a real terminal (a private tmux server).

The fake harness runs in ``tui`` mode: it behaves like Codex or Claude Code at
start-up (alternate screen, hidden cursor, bracketed paste, mouse, focus,
application keypad, kitty keyboard flags, terminal queries) and logs every
byte it reads, so the tests see both what the user's terminal looks like and
what reached the agent.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import Cli, cli
from tests.support.tmux import RESTORED, Tmux, term

__all__ = ["cli", "term"]

pytestmark = pytest.mark.timeout(120)

REPLY = re.compile(rb"\x1b\[\??[0-9;]*[Rcyn]|\x1bP|\x1b\]")


def input_log(cli: Cli) -> Path:
    return cli.project.parent / "input.log"


def tui_env(cli: Cli) -> str:
    # An attachment that loses its daemon waits this long for the next one.
    return f"FAKE_MODE=tui FAKE_INPUT_LOG={input_log(cli)} COVEN_RECONNECT_SECONDS=2"


def start_tui(cli: Cli, term: Tmux, args: str = "") -> str:
    """``coven run codex`` in the terminal with the TUI fake; answers the session id."""
    term.line(f"{tui_env(cli)} coven run codex{args}; echo RC=$?")
    term.wait_for("TUI ready")
    assert term.flags()["alternate_on"] == "1"
    # The header is on the main screen, out of sight: ask the daemon.
    newest = cli.json("sessions", "--json")["sessions"][0]
    return str(newest["id"])


def read_log(cli: Cli) -> bytes:
    try:
        return input_log(cli).read_bytes()
    except FileNotFoundError:
        return b""


def assert_restored(term: Tmux, line: str) -> None:
    """Every mode is off, the cursor shows, and ``line`` starts a line of its own."""
    screen = term.wait_for(line, history=True)
    assert term.flags() == RESTORED
    assert any(row.startswith(line) for row in screen.splitlines()), screen


def assert_cooked(term: Tmux) -> None:
    """The shell's terminal is back in cooked mode: stty reports canonical input and echo."""
    term.line(
        "clear; stty -a | tr ' ' '\\n' | grep -x -e icanon -e echo -e -icanon -e -echo; echo END"
    )
    screen = term.wait_for("\nEND")
    lines = screen.splitlines()
    assert "icanon" in lines and "echo" in lines, lines
    term.wait_for_prompt()


def assert_no_bracketed_paste(term: Tmux) -> None:
    """A paste reaches the next program without bracketed-paste markers (mode 2004 is off)."""
    term.tmux("set-buffer", "pasted")
    term.line("cat -v")
    term.tmux("paste-buffer", "-p", "-t", "0")
    term.send("Enter")
    term.wait_for("pasted\n")
    term.send("C-d")
    term.wait_for_prompt()
    assert "^[[200~" not in term.screen()


# ----------------------------------------------------------------------------- restoring


def _detach_key(cli: Cli, term: Tmux, session_id: str) -> str:
    term.send("C-]")
    return f"[detached from session {session_id}"


def _kill_elsewhere(cli: Cli, term: Tmux, session_id: str) -> str:
    cli.run("kill", session_id, ok=True)
    return "[coven session killed"


def _agent_exits(cli: Cli, term: Tmux, session_id: str) -> str:
    term.send_text("q")  # exits without undoing any mode, like a crash
    return "[coven session completed (exit code 0)]"


def _daemon_gone(cli: Cli, term: Tmux, session_id: str) -> str:
    pid = cli.daemon_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    return "Error: lost the Coven daemon"


def _sigterm(cli: Cli, term: Tmux, session_id: str) -> str:
    for pid in term.child_pids():
        os.kill(pid, signal.SIGTERM)
    return f"[left session {session_id} running"


@pytest.mark.parametrize(
    "leave", [_detach_key, _kill_elsewhere, _agent_exits, _daemon_gone, _sigterm]
)
def test_the_terminal_is_restored_on_every_way_out(
    cli: Cli, term: Tmux, leave: Callable[[Cli, Tmux, str], str]
) -> None:
    session_id = start_tui(cli, term)
    flags = term.flags()
    assert flags["cursor_flag"] == "0" and flags["mouse_sgr_flag"] == "1"
    assert flags["keypad_cursor_flag"] == "1"
    line = leave(cli, term, session_id)
    assert_restored(term, line)
    term.wait_for_prompt()
    assert_cooked(term)
    assert_no_bracketed_paste(term)


def test_an_agent_on_the_main_screen_is_left_below_its_input_box(cli: Cli, term: Tmux) -> None:
    term.line(f"FAKE_TUI_INLINE=1 {tui_env(cli)} coven run codex")
    term.wait_for("FOOTER two")
    assert term.flags()["alternate_on"] == "0"
    term.send("C-]")
    term.wait_for("[detached from session")
    screen = term.wait_for_prompt()
    rows = [row for row in screen.splitlines() if row.strip()]
    assert rows[-3].startswith("> input box")
    assert rows[-2].startswith("[detached from session")  # on a line of its own
    assert "FOOTER" not in screen  # the agent's footer does not hang under the shell
    assert term.flags() == RESTORED


def test_sighup_leaves_the_session_running(cli: Cli, term: Tmux) -> None:
    session_id = start_tui(cli, term)
    for pid in term.child_pids():
        os.kill(pid, signal.SIGHUP)
    term.wait_for("RC=0", history=True)
    assert term.flags() == RESTORED
    assert cli.session(session_id)["status"] == "running"


# ----------------------------------------------------------------------------- rejoining


def test_rejoining_never_types_into_the_agent(cli: Cli, term: Tmux) -> None:
    session_id = start_tui(cli, term)
    # Started in the foreground, the agent's own queries were live: the terminal's
    # answers reached it (an agent waiting for its cursor position must get it).
    term.wait_until(lambda: re.search(rb"\x1b\[\d+;\d+R", read_log(cli)), "the CPR reply")
    term.send("C-]")
    term.wait_for_prompt()
    input_log(cli).write_bytes(b"")

    term.line(f"coven attach {session_id[:8]}")
    term.wait_for("TUI ready")
    term.wait_for("got ")  # the replayed screen
    import time

    time.sleep(1.5)  # longer than any terminal takes to answer, and than the grace
    term.send_text("x")
    term.wait_until(lambda: b"x" in read_log(cli), "the typed key")
    assert read_log(cli) == b"x", read_log(cli)

    # A query the agent sends now, live, is answered as before.
    term.send_text("?")
    term.wait_until(lambda: re.search(rb"\x1b\[\d+;\d+R", read_log(cli)), "the live reply")
    term.send("C-]")
    term.wait_for_prompt()
    log = read_log(cli)
    assert REPLY.sub(b"", log) == b"x?", log


def test_attach_header_ends_with_a_carriage_return(cli: Cli, term: Tmux) -> None:
    session_id = cli.detached("hello")
    cli.wait_output(session_id, "ready")
    # The raw replay prints the session's first line right after the header; the screen
    # view (the default) redraws the whole terminal instead.
    term.line(f"coven attach --replay {session_id[:8]}")
    screen = term.wait_for("ready")
    lines = screen.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("following live output"))
    assert lines[header + 1].startswith("FAKE[codex] argv="), lines
    term.send("C-]")
    term.wait_for_prompt()


def test_read_only_attach_sends_no_input_and_no_size(cli: Cli, term: Tmux) -> None:
    proc = cli.run("run", "codex", "--detach", "--", "--fake-mode=winch", ok=True)
    session_id = proc.stdout.strip()
    cli.wait_output(session_id, "ready")
    # --replay: the screen view (the default) redraws the terminal over the header.
    term.line(f"coven attach --read-only --replay {session_id[:8]}")
    term.wait_for("read-only: nothing you type reaches the agent")
    term.send_text("typed\r")
    import time

    time.sleep(1.0)
    term.send("C-]")
    term.wait_for(f"[detached from session {session_id}")
    output = cli.output(session_id)
    assert "winch:" not in output and "typed" not in output
    # An attach with input does send its size.
    term.line(f"coven attach {session_id[:8]}")
    cli.wait_output(session_id, "winch: 30 100")
    term.send("C-]")
    term.wait_for_prompt()


# ----------------------------------------------------------------------------- detach keys


def test_detach_keys_option_with_a_sequence_and_a_partial_match(cli: Cli, term: Tmux) -> None:
    session_id = start_tui(cli, term, " --detach-keys ctrl-p,ctrl-q")
    input_log(cli).write_bytes(b"")
    term.send("C-p")
    term.send_text("k")  # Ctrl-P then k: not the sequence, both reach the agent
    term.wait_until(lambda: read_log(cli).endswith(b"k"), "the forwarded keys")
    assert read_log(cli) == b"\x10k"
    term.send("C-p")
    term.send("C-q")
    assert_restored(term, f"[detached from session {session_id}")
    assert read_log(cli) == b"\x10k"
    assert "Ctrl-P Ctrl-Q detaches" in term.screen(history=True)


@pytest.mark.parametrize(
    "encoded",
    [b"\x1b[93;5u", b"\x1b[93;5:1u", b"\x1b[27;5;93~"],
    ids=["kitty", "kitty-event-types", "modifyOtherKeys"],
)
def test_detach_key_in_the_kitty_keyboard_protocol(cli: Cli, term: Tmux, encoded: bytes) -> None:
    session_id = start_tui(cli, term)  # the fake pushed kitty flags, as Codex does
    term.send_bytes(encoded)
    assert_restored(term, f"[detached from session {session_id}")


def test_detach_keys_from_the_environment_and_a_bad_spec(cli: Cli, term: Tmux) -> None:
    session_id = cli.detached("hello")
    cli.wait_output(session_id, "ready")
    # --replay keeps the header on screen (the screen view redraws the terminal over it).
    term.line(f"COVEN_DETACH_KEYS=ctrl-x coven attach --replay {session_id[:8]}")
    term.wait_for("Ctrl-X detaches")
    term.send("C-x")
    term.wait_for(f"[detached from session {session_id}")
    term.wait_for_prompt()
    term.line(f"coven attach --detach-keys ctrl-[ {session_id[:8]}; echo RC=$?")
    screen = term.wait_for("RC=2")
    assert "Ctrl-[ is Escape" in screen


# ----------------------------------------------------------------------------- run modes


def test_run_without_a_prompt_starts_the_agents_own_ui(cli: Cli, term: Tmux) -> None:
    term.line("FAKE_MODE=echo coven run codex")
    screen = term.wait_for("ready")
    assert "FAKE[codex] argv=[]" in screen
    assert "mode:    interactive; Ctrl-] detaches" in screen
    term.send("C-]")
    term.wait_for_prompt()


def test_run_detach_starts_the_same_interactive_agent(cli: Cli, term: Tmux) -> None:
    term.line(f"{tui_env(cli)} coven run codex --detach fix it > id.txt")
    term.wait_for("started in the background (interactive)")
    session_id = (cli.project / "id.txt").read_text().strip()
    output = cli.wait_output(session_id, "TUI ready")
    assert 'FAKE[codex] argv=["--", "fix it"]' in output
    assert "size=30 100" in output  # the terminal's size, as a foreground run would have
    term.line(f"coven attach {session_id[:8]}")
    term.wait_for("TUI ready")
    term.send("C-]")
    assert_restored(term, f"[detached from session {session_id}")


# ----------------------------------------------------------------------------- daemon stop


def test_daemon_stop_asks_before_ending_live_sessions(cli: Cli, term: Tmux) -> None:
    session_id = cli.detached("hello")
    term.line("coven daemon stop; echo RC=$?")
    term.wait_for("Stop the Coven daemon? 1 live session will end. [y/N]")
    term.send_text("n")
    term.send("Enter")
    screen = term.wait_for("RC=1")
    assert "Nothing changed." in screen
    assert cli.session(session_id)["status"] == "running"
    term.line("coven daemon stop; echo RC=$?")
    term.wait_for("[y/N]")
    term.send_text("y")
    term.send("Enter")
    term.wait_for("Coven daemon: stopped")
    term.wait_for("RC=0")


# ----------------------------------------------------------------------------- completion


def test_bash_completes_session_and_harness_ids(cli: Cli, term: Tmux) -> None:
    session_id = cli.detached("hello")
    term.line("exec bash --norc --noprofile")
    term.line("PS1='$ '; eval \"$(coven completion bash)\"")
    term.wait_for_prompt()
    term.send_text(f"coven attach {session_id[:4]}")
    term.send("Tab")
    term.wait_for(f"coven attach {session_id}")
    term.send("C-u")
    term.send_text("coven run cod")
    term.send("Tab")
    term.wait_for("coven run codex")
    term.send("C-u")


# ----------------------------------------------------------------------------- browser


def test_the_browser_comes_back_after_an_attach_from_it(cli: Cli, term: Tmux) -> None:
    finished = cli.detached("--fake-mode=exit")
    cli.wait_status(finished, {"completed"})
    session_id = cli.detached("hello")
    cli.wait_output(session_id, "ready")
    term.line("coven sessions; echo RC=$?")
    term.wait_for("Session browser")
    term.send_text("a")
    # The session's screen replaces the browser (and the attach header drawn under it).
    term.wait_until(
        lambda: "Session browser" not in term.screen() and "ready" in term.screen(),
        "the session's screen",
    )
    term.send_text("ping\r")
    cli.wait_output(session_id, "echo: ping")
    term.send("C-]")
    screen = term.wait_for("Session browser")
    term.wait_for(f"Back from session {session_id[:8]} (detached)")
    assert "[a] Rejoin" in screen or "Rejoin" in term.screen()
    # A finished session's log is shown until a key is pressed, then the browser is back.
    term.send("Down")
    term.wait_for("[a] View log")
    term.send_text("a")
    term.wait_for("Press any key to return to the session browser")
    assert "[coven session completed (exit code 0)]" in term.screen()
    # click.pause prints its prompt before it switches the terminal to raw mode
    # (which flushes pending input), so a key sent at once can be lost: press
    # again until the browser is back, as a user would.
    back = f"Back from session {finished[:8]} (exited)"
    for _ in range(30):
        term.send_text(" ")
        with contextlib.suppress(AssertionError):
            term.wait_for(back, timeout=1.0)
            break
    term.wait_for(back)
    term.send_text("q")
    term.wait_for("RC=0")


def test_sessions_table_and_aliases_in_a_terminal(cli: Cli, term: Tmux) -> None:
    session_id = cli.detached("hello")
    (cli.project / "sub").mkdir()
    proc = cli.run("run", "codex", "--detach", "--labels", "x,y", "--cwd", "sub", "other")
    assert proc.returncode == 0, proc.stderr
    for alias in ("ls", "ps"):
        term.line(f"clear; coven {alias}")
        screen = term.wait_for("coven kill <id>")
        assert session_id[:8] in screen and session_id not in screen
        assert "ID" in screen and "PROJECT" in screen and "AGE" in screen
        assert "x,y" in screen
    record = json.loads(cli.run("sessions", "show", session_id, "--json", ok=True).stdout)
    assert record["status"] == "running"


def test_terminals_of_different_sizes_each_show_the_drawing_unwrapped(
    cli: Cli, term: Tmux, tmp_path: Path
) -> None:
    """The session takes the smallest attached size; the larger terminal pads, none wraps."""
    env = {"FAKE_MODE": "winch", "FAKE_WINCH_BAR": "1"}
    session_id = cli.run("run", "codex", "--detach", "--", "x", env=env, ok=True).stdout.strip()
    cli.wait_output(session_id, "ready")
    small = Tmux(tmp_path / "small.sock", term.env, cli.project)
    small.start(rows=20, cols=60)
    try:
        term.line(f"coven attach {session_id[:8]}")
        term.wait_for("winch: 30 100")
        assert term.screen().split("\n")[0] == "=" * 100
        small.line(f"coven attach {session_id[:8]}")
        small.wait_for("winch: 20 60")
        for terminal in (term, small):
            terminal.wait_until(
                lambda t=terminal: t.screen().split("\n")[0] == "=" * 60, "a 60-column bar"
            )
            assert "=" * 61 not in terminal.screen()  # nothing wrapped onto a second row
        small.send("C-]")  # the small one leaves: the session grows back
        small.wait_for("[detached")
        term.wait_for("winch: 30 100")
        term.wait_until(lambda: term.screen().split("\n")[0] == "=" * 100, "a 100-column bar")
        term.send("C-]")
        term.wait_for("[detached")
    finally:
        small.stop()
        cli.run("kill", session_id)
