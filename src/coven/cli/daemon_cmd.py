"""``coven daemon start|stop|restart|status``."""

from __future__ import annotations

import json

import click

from coven.cli import daemonctl
from coven.cli.context import hint, home, out


def running_line(status: daemonctl.DaemonStatus, word: str = "running") -> str:
    pid = "" if status.pid is None else f"pid {status.pid}, "
    return f"Coven daemon: {word} ({pid}socket {status.socket})"


@click.group("daemon")
def daemon_group() -> None:
    """Manage the Coven daemon that owns every session."""


@daemon_group.command("start")
def start_cmd() -> None:
    """Start the daemon (no-op when it is already running)."""
    out(running_line(daemonctl.start(home())))


@daemon_group.command("stop")
def stop_cmd() -> None:
    """Stop the daemon; live sessions are killed and their exits recorded."""
    was = daemonctl.stop(home())
    out("Coven daemon: stopped" if was is not None else "Coven daemon: was not running")


@daemon_group.command("restart")
def restart_cmd() -> None:
    """Stop the daemon if it runs, then start it with the same home."""
    was = daemonctl.stop(home())
    status = daemonctl.start(home())
    out(running_line(status, "restarted" if was is not None else "running"))


@daemon_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def status_cmd(as_json: bool) -> None:
    """Report running / stale / not running; exits 0 in every state.

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
