"""``coven adapter install demo`` and ``coven adapter list``.

Both run the daemon's offline adapter commands (``python -m coven.daemon …``):
manifests are daemon state, and availability is judged against the PATH a
daemon started from this shell would launch with.
"""

from __future__ import annotations

import json

import click
import msgspec

from coven.cli.context import hint, home, out
from coven.cli.daemonctl import DaemonControlError, daemon_tool
from coven.cli.failures import CliError
from coven.cli.home_files import prepare_home
from coven.schema.adapters import AdapterInstalled, AdapterRefused, AdapterReport


@click.group("adapter")
def adapter_group() -> None:
    """Harness adapters: built-ins and trusted manifests."""


@adapter_group.command("install")
@click.argument("name", type=click.Choice(["demo"]))
def install_cmd(name: str) -> None:
    """Install a bundled adapter manifest.

    The manifest goes to COVEN_HOME/adapters.
    """
    prepare_home(home())  # the CLI's own check: an unusable home is named before anything runs
    status, raw = _daemon_tool(["install-adapter", name])
    if status != 0:
        raise CliError(msgspec.json.decode(raw, type=AdapterRefused).error)
    result = msgspec.json.decode(raw, type=AdapterInstalled)
    if not result.installed:
        out(f"adapter `{name}` is already installed at {result.path}")
        return
    out(f"installed adapter `{name}` at {result.path}")
    # The daemon reads manifests at every launch, so no restart is needed.
    hint(f'Try it: coven run {name} "explain this repo in 5 bullets"')


@adapter_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def list_cmd(as_json: bool) -> None:
    """List harnesses and whether they are on PATH."""
    _status, raw = _daemon_tool(["adapters"])
    report = msgspec.json.decode(raw, type=AdapterReport)
    for warning in report.warnings:
        hint(f"warning: {warning}")
    for problem in report.problems:
        hint(f"warning: {problem.message}")
    statuses = report.adapters
    if as_json:
        rows = [
            {
                "id": s.id,
                "label": s.label,
                "source": s.source,
                "executable": s.executable,
                "executablePath": s.executablePath,
                "available": s.available,
                "manifestPath": s.manifestPath,
            }
            for s in statuses
        ]
        out(json.dumps({"adapters": rows}, indent=2))
        return
    width = max([10, *(len(s.id) for s in statuses)])
    out(f"{'HARNESS':<{width}} {'SOURCE':<9} {'AVAILABLE':<10} EXECUTABLE")
    for s in statuses:
        out(
            f"{s.id:<{width}} {s.source:<9} {'yes' if s.available else 'no':<10} "
            f"{s.executablePath or s.executable}"
        )


def _daemon_tool(args: list[str]) -> tuple[int, bytes]:
    try:
        return daemon_tool(args, home())
    except DaemonControlError as exc:
        raise CliError(str(exc)) from exc
