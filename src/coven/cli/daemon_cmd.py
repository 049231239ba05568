"""``coven daemon start|stop|restart|status``.

Stopping the daemon ends every live session, so ``stop`` says how many will end
and asks first; ``--yes`` (or ``--force``) answers for scripts, and without a
terminal to ask on it refuses (exit 1) instead. ``stop --keep-sessions`` and
``restart`` end none: every session runs on under its holder and the next daemon
adopts it.
"""

from __future__ import annotations

import json
import sys

import click

from coven.cli import daemonctl
from coven.cli.context import client, hint, home, out
from coven.cli.failures import CliError
from coven.client import CovenClientError


def running_line(status: daemonctl.DaemonStatus, word: str = "running") -> str:
    pid = "" if status.pid is None else f"pid {status.pid}, "
    return f"Coven daemon: {word} ({pid}socket {status.socket})"


@click.group("daemon")
def daemon_group() -> None:
    """Manage the Coven daemon that owns every session."""


def live_session_count() -> int:
    """How many sessions a stop would end (0 when the daemon cannot be asked)."""
    if daemonctl.probe(home()).state != "running":
        return 0
    try:
        return sum(1 for r in client().list_sessions() if r.status == "running")
    except CovenClientError:
        return 0


def confirm_ending_sessions(action: str, yes: bool) -> None:
    """Ask before ``action`` (stop, restart) ends live sessions; refuse without a terminal unless ``yes``."""
    if yes:
        return
    live = live_session_count()
    if live == 0:
        return
    sessions = "1 live session" if live == 1 else f"{live} live sessions"
    if not sys.stdin.isatty():
        doing = {"stop": "stopping", "restart": "restarting"}.get(action, action)
        raise CliError(
            f"{doing} the daemon would end {sessions}; pass --yes to {action} it anyway "
            "(no terminal to ask on)"
        )
    if not click.confirm(
        f"{action.capitalize()} the Coven daemon? {sessions} will end.", default=False, err=True
    ):
        hint("Nothing changed.")
        raise click.exceptions.Exit(1)


yes_option = click.option(
    "--yes",
    "--force",
    "-y",
    "yes",
    is_flag=True,
    help="Do not ask before ending live sessions (for scripts).",
)


@daemon_group.command("start")
def start_cmd() -> None:
    """Start the daemon; says so when it is already running."""
    current = daemonctl.already_running(home())
    if current is not None:
        out(running_line(current, "already running"))
        return
    out(running_line(daemonctl.start(home())))


@daemon_group.command("stop")
@yes_option
@click.option(
    "--keep-sessions",
    is_flag=True,
    help="Leave live sessions running for the next daemon to adopt.",
)
def stop_cmd(yes: bool, keep_sessions: bool) -> None:
    """Stop the daemon; its live sessions end.

    Live sessions are killed and their exits recorded; with any live, it asks
    first (--yes answers for scripts). With --keep-sessions they keep running
    and the next daemon adopts them.
    """
    if not keep_sessions:
        confirm_ending_sessions("stop", yes)
    was = daemonctl.stop(home(), keep_sessions=keep_sessions)
    if was is None:
        out("Coven daemon: was not running")
    else:
        out("Coven daemon: stopped" + (" (sessions kept running)" if keep_sessions else ""))


@daemon_group.command("restart")
@yes_option
def restart_cmd(yes: bool) -> None:
    """Restart the daemon; live sessions keep running.

    Stops the daemon if it runs, then starts it again: the new daemon (same home)
    adopts every session, and attached terminals reconnect. (--yes is accepted for
    scripts written when a restart asked first.)
    """
    was = daemonctl.stop(home(), keep_sessions=True)
    status = daemonctl.start(home())
    out(running_line(status, "restarted" if was is not None else "running"))


@daemon_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def status_cmd(as_json: bool) -> None:
    """Report running, stale or not running (exit 0).

    A daemon that is provably gone (crashed) is reported stale once, and its
    socket and daemon.json are removed.
    """
    status = daemonctl.status(home())
    if as_json:
        out(json.dumps(status.as_json(), indent=2, sort_keys=True))
        return
    if status.state == "running":
        out(running_line(status))
    elif status.cleaned:
        out(running_line(status, "stale"))
        removed = " and ".join(path.name for path in status.cleaned)
        hint(f"that daemon is gone; removed the {removed} it left behind")
    elif status.state == "stale":
        out(running_line(status, "stale"))
        hint("the recorded daemon does not answer; run `coven daemon restart`")
    else:
        out("Coven daemon: not running")
        hint("start it with `coven daemon start`")
