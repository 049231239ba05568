"""`coven daemon restart` under an attached terminal: the session and the attachment go on."""

from __future__ import annotations

import pytest

from tests.support.cli import Cli, cli
from tests.support.tmux import Tmux, term

__all__ = ["cli", "term"]

pytestmark = pytest.mark.timeout(120)


def test_an_attached_terminal_rides_out_a_daemon_restart(cli: Cli, term: Tmux) -> None:
    session_id = cli.detached("--fake-mode=echo")
    cli.wait_output(session_id, "ready")
    term.line(f"coven attach --replay {session_id[:8]}; echo RC=$?")
    term.wait_for("ready")
    term.send_text("one")
    term.send("Enter")
    term.wait_for("echo: one")
    old = cli.daemon_pid()
    cursor = term.cursor()
    assert cli.run("daemon", "restart", ok=True).stdout.startswith("Coven daemon: restarted")
    assert cli.daemon_pid() != old
    screen = term.wait_for("the daemon restarted", timeout=30)
    assert screen.count("the daemon restarted") == 1
    # On the bottom row, and the agent's cursor is where it was: its drawing stays put.
    rows = screen.splitlines()
    assert len(rows) == 30 and "the daemon restarted" in rows[-1], screen
    assert term.cursor() == cursor
    term.send_text("two")
    term.send("Enter")
    screen = term.wait_for("echo: two")
    # Nothing shown twice, nothing missed, and both lines typed are recorded once.
    assert screen.count("echo: one") == 1 and screen.count("echo: two") == 1, screen
    text = cli.wait_output(session_id, "echo: two")
    assert text.count("echo: one") == 1 and text.count("echo: two") == 1
    assert cli.session(session_id)["status"] == "running"
    term.send("C-]")
    term.wait_for("RC=0")
