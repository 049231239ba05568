"""Small shared helpers of the commands: the home, the client, output streams."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from coven.client import CovenClient, default_home


def home() -> Path:
    """``$COVEN_HOME`` (non-empty) or ``~/.coven``."""
    return default_home()


def client() -> CovenClient:
    """A blocking client for this home's daemon (does not start it)."""
    return CovenClient.from_home(home())


def out(text: str = "") -> None:
    """Data, on stdout."""
    click.echo(text)


def hint(text: str = "") -> None:
    """Hints and headers, on stderr (stdout stays parseable)."""
    click.echo(text, err=True)


def stdio_are_ttys() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()
