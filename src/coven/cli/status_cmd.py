"""``coven status [--json]``: the daemon's health and the cockpit overview, in one look.

Never starts a daemon (status must be safe to run anywhere). JSON is the
reference's shape: ``{"health": <GET /health>, "overview": <GET /overview>}``,
both ``null`` when no daemon runs.
"""

from __future__ import annotations

import json

import click
import msgspec

from coven.cli import daemonctl
from coven.cli.context import client, hint, home, out


@click.command("status", short_help="Show the daemon, its sessions and familiars.")
@click.option("--json", "as_json", is_flag=True, help="Print health and overview as JSON.")
def status_cmd(as_json: bool) -> None:
    """Show whether the daemon runs, its version, open sessions and familiars."""
    state = daemonctl.probe(home())
    if state.state != "running":
        if as_json:
            out(json.dumps({"health": None, "overview": None}, indent=2))
            return
        out("Coven status")
        out("  daemon     not running — start it with `coven daemon start`")
        return
    api = client()
    health = api.health().raw
    overview = api.overview()
    if as_json:
        doc = {"health": health, "overview": msgspec.to_builtins(overview)}
        out(json.dumps(doc, indent=2, sort_keys=True))
        return
    daemon = health.get("daemon") or {}
    out("Coven status")
    out(f"  daemon     running (pid {daemon.get('pid')}, socket {daemon.get('socket')})")
    out(f"  version    {health.get('covenVersion')}")
    out(f"  sessions   {overview.open_sessions} open")
    out(f"  familiars  {overview.active_familiars} active of {overview.total_familiars}")
    hint('Next: coven sessions · coven familiars · coven run <harness> "<task>"')
