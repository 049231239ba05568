"""``coven hosts``: names for other machines (``COVEN_HOME/hosts.toml``) and their connections."""

from __future__ import annotations

import json

import click

from coven.cli.context import hint, out
from coven.cli.failures import CliError
from coven.cli.home_files import prepare_home
from coven.cli.remote import make_link
from coven.client import default_home
from coven.client.errors import InvalidHostTarget

# The roster's modules (tomllib, regexes, subprocess) load when a hosts command runs.


@click.group("hosts", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.pass_context
def hosts_group(ctx: click.Context, as_json: bool) -> None:
    """Name other machines for coven --host NAME.

    Without a subcommand, lists them.
    """
    if ctx.invoked_subcommand is None:
        _list(as_json)


@hosts_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def list_cmd(as_json: bool) -> None:
    """List the named hosts and their ssh targets."""
    _list(as_json)


def _list(as_json: bool) -> None:
    from coven.client.hosts import hosts_path, read_hosts

    path = hosts_path(default_home())
    roster, _text = read_hosts(path)
    if as_json:
        rows = [
            {"name": h.name, "target": h.target.url, "command": h.remote_command}
            for h in roster.hosts
        ]
        out(json.dumps({"file": str(path), "hosts": rows}, indent=2))
        return
    if not roster.hosts:
        out("No hosts yet.")
        hint("Add one with: coven hosts add box ssh://me@box.example")
        return
    width = max(4, *(len(h.name) for h in roster.hosts))
    out(f"{'NAME':<{width}}  TARGET")
    for h in roster.hosts:
        command = "" if h.command is None else f"  (coven: {h.command})"
        out(f"{h.name:<{width}}  {h.target.url}{command}")


@hosts_group.command("add")
@click.argument("name")
@click.argument("target")
@click.option(
    "--command",
    "remote_command",
    metavar="PATH",
    help="How to run coven on that machine when it is not on ssh's PATH there.",
)
def add_cmd(name: str, target: str, remote_command: str | None) -> None:
    """Name an ssh target for --host.

    For example: coven hosts add box ssh://me@box.example[:port].
    """
    from coven.client.hosts import (
        HostEntry,
        edited_text,
        hosts_path,
        is_host_name,
        parse_target,
        read_hosts,
        write_hosts,
    )

    if not is_host_name(name):
        raise click.BadParameter(
            "1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit", param_hint="NAME"
        )
    try:
        parsed = parse_target(target)
    except InvalidHostTarget as exc:
        raise click.BadParameter(str(exc), param_hint="TARGET") from exc
    if remote_command is not None and (not remote_command.strip() or "\n" in remote_command):
        raise click.BadParameter("a non-empty one-line command", param_hint="--command")
    path = hosts_path(default_home())
    roster, text = read_hosts(path)
    existing = roster.get(name)
    entry = HostEntry(name, parsed, remote_command)
    if existing == entry:
        out(f"host `{name}` is already {parsed.url}")
        return
    if existing is not None:
        raise CliError(
            f"host `{name}` already names {existing.target.url}; "
            f"remove it first with `coven hosts remove {name}`"
        )
    new = roster.plus(entry)
    prepare_home(path.parent)  # the same checks as every other file the CLI writes there
    write_hosts(path, edited_text(text, roster, new, str(path)))
    out(f"added host `{name}` → {parsed.url} ({path})")
    hint(f"Try it: coven --host {name} sessions")


@hosts_group.command("remove")
@click.argument("name")
def remove_cmd(name: str) -> None:
    """Forget a named host (its connection, if open, is closed first)."""
    from coven.client.hosts import edited_text, hosts_path, read_hosts, write_hosts

    path = hosts_path(default_home())
    roster, text = read_hosts(path)
    if roster.get(name) is None:
        raise CliError(f"no host named `{name}` in {path}")
    make_link(name).close()
    new = roster.without(name)
    write_hosts(path, edited_text(text, roster, new, str(path)))
    out(f"removed host `{name}`")


@hosts_group.command("disconnect")
@click.argument("host")
def disconnect_cmd(host: str) -> None:
    """Close the ssh connection kept open to HOST.

    HOST is a name from coven hosts or an ssh:// target.
    """
    from coven.client.ssh import PERSIST_SECONDS

    if make_link(host).close():
        out(f"closed the ssh connection to {host}")
    else:
        out(f"no ssh connection to {host} was open")
        hint(f"(connections close by themselves {PERSIST_SECONDS // 60} minutes after last use)")
