"""`coven run` / `coven attach` in a real terminal (pexpect drives a PTY like a user would)."""

from __future__ import annotations

import os
import re
import shlex
import signal
import time

import pexpect
import pytest

from tests.support.cli import COVEN, Cli, cli

__all__ = ["cli"]

pytestmark = pytest.mark.timeout(90)

ID = re.compile(rb"id:\s+([0-9a-f-]{36})")


def spawn(cli: Cli, *args: str, rows: int = 30, cols: int = 100, **env: str) -> pexpect.spawn:
    child = pexpect.spawn(
        COVEN[0],
        [*COVEN[1:], *args],
        cwd=str(cli.project),
        env={**cli.env, **env},
        dimensions=(rows, cols),
        timeout=15,
    )
    return child


def finish(child: pexpect.spawn) -> int:
    child.expect(pexpect.EOF)
    child.close()
    assert b"Traceback" not in (child.before or b"")
    return int(child.exitstatus if child.exitstatus is not None else -1)


def launched_id(child: pexpect.spawn) -> str:
    child.expect(ID)
    assert child.match is not None
    return str(child.match.group(1).decode())


def test_type_see_echo_detach_and_reattach_with_output_made_meanwhile(cli: Cli) -> None:
    """The tmux workflow: run, type, Ctrl-], the session lives on, attach shows what happened."""
    child = spawn(cli, "run", "codex", "hello")
    session_id = launched_id(child)
    child.expect("size=30 100")  # the PTY got our terminal's size
    child.expect("ready")
    child.send("ping\r")
    child.expect("echo: ping")
    child.send("\x1d")
    child.expect(
        re.escape(
            f"[detached from session {session_id}; rejoin with: coven attach {session_id[:8]}]"
        )
    )
    assert finish(child) == 0
    assert cli.session(session_id)["status"] == "running"

    reply = cli.api("POST", f"/api/v1/sessions/{session_id}/input", {"data": "while-away\r"})
    assert reply.status == 202
    cli.wait_output(session_id, "echo: while-away")

    child = spawn(cli, "attach", session_id[:8])
    child.expect(f"attached to session {session_id}")
    child.expect("echo: while-away")  # replayed
    child.send("again\r")
    child.expect("echo: again")  # live, with input
    child.send("\x1d")
    child.expect("detached from session")
    assert finish(child) == 0

    proc = cli.run("kill", session_id[:8], ok=True)
    assert "killed session" in proc.stdout
    assert cli.wait_status(session_id, {"killed"})["status"] == "killed"


def test_resize_reaches_the_harness(cli: Cli) -> None:
    child = spawn(cli, "run", "codex", "--", "--fake-mode=winch")
    launched_id(child)
    child.expect("ready")
    child.setwinsize(40, 120)
    child.expect("winch: 40 120")
    child.setwinsize(25, 90)
    child.expect("winch: 25 90")
    child.send("\x1d")
    assert finish(child) == 0


def test_harness_exit_code_passes_through_and_is_reported(cli: Cli) -> None:
    child = spawn(cli, "run", "codex", "bye", FAKE_MODE="exit", FAKE_EXIT="7")
    child.expect(re.escape("[coven session failed (exit code 7)]"))
    assert finish(child) == 7


def test_ctrl_c_goes_to_the_harness_not_to_coven(cli: Cli) -> None:
    child = spawn(cli, "run", "codex", "--", "--fake-mode=ctty")
    session_id = launched_id(child)
    child.expect("ready")
    child.sendcontrol("c")
    child.expect("SIGINT received")
    assert cli.session(session_id)["status"] == "running"
    child.send("exit\r")
    child.expect(re.escape("[coven session completed (exit code 0)]"))
    assert finish(child) == 0


def test_closing_the_terminal_leaves_the_session_running_and_attachable(cli: Cli) -> None:
    child = spawn(cli, "run", "codex", "hello")
    session_id = launched_id(child)
    child.expect("ready")
    child.send("before\r")
    child.expect("echo: before")
    child.kill(signal.SIGHUP)
    child.close(force=True)  # and the terminal itself goes away
    time.sleep(0.3)
    assert cli.session(session_id)["status"] == "running"

    child = spawn(cli, "attach", session_id)
    child.expect("echo: before")
    child.send("after\r")
    child.expect("echo: after")
    child.send("\x1d")
    assert finish(child) == 0


def _stty_around(cli: Cli, inner: str, **env: str) -> tuple[pexpect.spawn, str]:
    script = f"stty -g; {inner}; echo RC=$?; stty -g"
    child = pexpect.spawn(
        "/bin/sh",
        ["-c", script],
        cwd=str(cli.project),
        env={**cli.env, **env},
        dimensions=(30, 100),
        timeout=15,
    )
    child.expect(r"([0-9a-f:]+)\r\n")
    assert child.match is not None
    return child, child.match.group(1).decode()


def test_terminal_settings_restored_after_detach(cli: Cli) -> None:
    coven = " ".join(COVEN)
    child, before = _stty_around(cli, f"{coven} run codex hi")
    child.expect("ready")
    child.send("\x1d")
    child.expect(r"RC=0\r\n([0-9a-f:]+)\r\n")
    assert child.match is not None
    assert child.match.group(1).decode() == before
    child.expect(pexpect.EOF)


def test_terminal_settings_restored_after_exit_and_after_a_daemon_crash(cli: Cli) -> None:
    coven = " ".join(COVEN)
    child, before = _stty_around(cli, f"{coven} run codex hi", FAKE_MODE="exit", FAKE_EXIT="4")
    child.expect(r"RC=4\r\n([0-9a-f:]+)\r\n")
    assert child.match is not None and child.match.group(1).decode() == before

    # The daemon kept FAKE_MODE=exit from its start; the argv flag overrides it. A lost
    # daemon is waited for (it may be restarting) this long before the run gives up.
    child, before = _stty_around(
        cli, f"{coven} run codex -- --fake-mode=echo", COVEN_RECONNECT_SECONDS="1"
    )
    child.expect("ready")
    pid = cli.daemon_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    child.expect("Error: ")
    child.expect(r"RC=1\r\n([0-9a-f:]+)\r\n")
    assert child.match is not None and child.match.group(1).decode() == before
    assert b"Traceback" not in (child.before or b"")


def test_a_title_cannot_drive_the_terminal_that_lists_or_attaches(cli: Cli) -> None:
    """A title can come from an agent (a familiar names what it starts): on a terminal,
    `coven sessions`, `sessions show` and the attach header show its words, never its
    escape sequences (here: clear the screen, write the clipboard)."""
    evil = "fix\x1b[2J it\x1b]52;c;ZXZpbA==\x07 now"
    proc = cli.run("run", "codex", "--detach", "--title", evil, "--", "hello", ok=True)
    session_id = proc.stdout.strip()
    cli.wait_output(session_id, "ready")
    # stdout on the terminal, stdin not: the coloured listing rather than the browser.
    listing = shlex.join([*COVEN, "sessions"]) + " </dev/null"
    for args in (("bash", "-c", listing), (*COVEN, "sessions", "show", session_id)):
        child = pexpect.spawn(
            args[0], list(args[1:]), cwd=str(cli.project), env=cli.env, timeout=15
        )
        child.expect(pexpect.EOF)
        shown = child.before or b""
        child.close()
        assert b"fix it now" in shown, shown
        assert b"\x1b[2J" not in shown and b"\x1b]52" not in shown, shown
    child = spawn(cli, "attach", session_id[:8])
    child.expect("attached to session")
    child.expect("status: running")
    header = (child.before or b"") + (child.after or b"")
    assert b"fix it now" in header and b"\x1b]52" not in header and b"\x1b[2J" not in header
    child.sendcontrol("]")
    assert finish(child) == 0
