"""``coven cockpit``: the web workspace, served locally by ``python -m coven.cockpit``.

The command starts the daemon when none is running (as ``coven run`` does) and
then becomes the cockpit server process (``exec``), so Ctrl-C and signals reach
it directly. The CLI does not import the cockpit: it is a separate client.
"""

from __future__ import annotations

import os
import sys

import click

from coven.cli.context import home
from coven.cli.run_cmd import ensure_daemon


@click.command("cockpit", short_help="Open the web cockpit in the browser.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default="a free port",
    help="Port on 127.0.0.1.",
)
@click.option("--no-open", is_flag=True, help="Print the address; do not open a browser.")
def cockpit_cmd(port: int, no_open: bool) -> None:
    """Open the web cockpit: sessions, terminals, launch and diagnostics in the browser.

    Serves on 127.0.0.1 only, with a per-launch token in the printed address;
    reuses the cockpit already serving this Coven home. Ctrl-C stops it.
    """
    ensure_daemon()
    argv = [sys.executable, "-m", "coven.cockpit", "--home", str(home()), "--port", str(port)]
    if no_open:
        argv.append("--no-open")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)
