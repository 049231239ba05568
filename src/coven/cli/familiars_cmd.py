"""``coven familiars [list|add|remove]``: the roster, read and edited through the daemon.

``familiars.toml`` is daemon state (launch checks read it), so the CLI never
writes it: ``add`` and ``remove`` ask the daemon, which validates the entry
and replaces the file atomically.
"""

from __future__ import annotations

import json

import click
import msgspec

from coven.cli.context import client, hint, out
from coven.cli.run_cmd import ensure_daemon


@click.group("familiars", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the roster as JSON.")
@click.pass_context
def familiars_group(ctx: click.Context, as_json: bool) -> None:
    """List familiars (with live state), or add and remove them."""
    if ctx.invoked_subcommand is None:
        list_familiars(as_json)


@familiars_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def list_cmd(as_json: bool) -> None:
    """List the roster with each familiar's live state."""
    list_familiars(as_json)


def list_familiars(as_json: bool) -> None:
    ensure_daemon()
    views = client().familiars()
    if as_json:
        out(json.dumps(msgspec.to_builtins(views), indent=2))
        return
    if not views:
        out("No familiars configured.")
        hint('Add one with: coven familiars add sage --display-name Sage --role "Researcher"')
        return
    for f in views:
        harness = f" · {f.harness}" if f.harness else ""
        role = f" — {f.role}" if f.role else ""
        out(f"{f.id:<16} {f.display_name}{role}{harness}")
        out(f"{'':<16} {f.status}, {f.active_sessions} live, last seen {f.last_seen or 'never'}")


@familiars_group.command("add")
@click.argument("familiar_id")
@click.option("--display-name", required=True, help="The name shown for this familiar.")
@click.option("--role", default="", help="Its role, e.g. reviewer.")
@click.option("--description", default="", help="One line on what it is for.")
@click.option("--harness", help="Default harness for this familiar's launches.")
@click.option("--model", help="Default model.")
@click.option("--instructions", help="Standing instructions given with its identity.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def add_cmd(
    familiar_id: str,
    display_name: str,
    role: str,
    description: str,
    harness: str | None,
    model: str | None,
    instructions: str | None,
    as_json: bool,
) -> None:
    """Add a familiar to the roster (the daemon validates and writes it)."""
    ensure_daemon()
    fields = {
        "id": familiar_id,
        "display_name": display_name,
        "role": role,
        "description": description,
        "harness": harness,
        "model": model,
        "instructions": instructions,
    }
    view = client().add_familiar({k: v for k, v in fields.items() if v is not None})
    if as_json:
        out(json.dumps(msgspec.to_builtins(view), indent=2))
    else:
        out(f"added familiar {view.id} ({view.display_name})")


@familiars_group.command("remove")
@click.argument("familiar_id")
def remove_cmd(familiar_id: str) -> None:
    """Remove a familiar from the roster (its sessions are kept)."""
    ensure_daemon()
    client().remove_familiar(familiar_id)
    out(f"removed familiar {familiar_id}")
