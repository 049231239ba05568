"""Small shared helpers of the commands: the home, the client, output streams."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from coven.cli import remote
from coven.cli.failures import CliError
from coven.client import CovenClient, UnixTransport, default_home


def home() -> Path:
    """``$COVEN_HOME`` (non-empty) or ``~/.coven``: this machine's home.

    With ``--host`` a command that reaches for it is refused, so no command can
    read this machine's state while the user asked about another one.
    """
    host = remote.selected_host()
    if host is not None:
        ctx = click.get_current_context(silent=True)
        name = ctx.command_path if ctx is not None else "this command"
        raise CliError(
            f"`{name}` works on this machine's Coven home and cannot run with --host {host}"
        )
    return default_home()


def is_remote() -> bool:
    """Is a ``--host`` selected (the daemon is another machine's)?"""
    return remote.selected_host() is not None


def socket_home() -> Path:
    """The directory holding the daemon's ``coven.sock``.

    ``COVEN_HOME`` locally; with ``--host``, the private directory of the SSH
    forward to the remote daemon (set up on first use, health-checked).
    """
    if remote.selected_host() is None:
        return default_home()
    forwarded = remote.link().open()
    return forwarded.parent


def client() -> CovenClient:
    """A blocking client for the selected daemon (does not start it)."""
    if remote.selected_host() is None:
        return CovenClient.from_home(default_home())
    return CovenClient(UnixTransport(remote.link().open()))


def repository_top(start: str) -> str:
    """The top level of the git work tree holding ``start``, else ``start`` (real paths).

    A work tree is recognised by its ``.git`` entry (a directory, or the file a linked
    worktree has), so no git program is needed; the daemon checks the root anyway.
    """
    here = os.path.realpath(start)
    probe = here
    while True:
        if os.path.lexists(os.path.join(probe, ".git")):
            return probe
        parent = os.path.dirname(probe)
        if parent == probe:
            return here
        probe = parent


def project_root(given: str | None) -> str:
    """The project root to launch in: ``given``, else the repository's top level or the
    current directory, made absolute.

    With ``--host`` it is a path on that machine, so it must be given and absolute.
    """
    host = remote.selected_host()
    if host is None:
        return os.path.realpath(given) if given is not None else repository_top(os.getcwd())
    if given is None or not given.startswith("/"):
        raise CliError(
            f"with --host, name the project root on {host} with --root /absolute/path "
            "(this machine's current directory means nothing there)"
        )
    return os.path.normpath(given)


def launch_path(path: str) -> str:
    """A path for the daemon: absolute here; with ``--host`` it must already be absolute."""
    if remote.selected_host() is None:
        return os.path.abspath(path)
    if not path.startswith("/"):
        raise CliError(
            f"with --host, paths name the other machine's files: give {path} as an absolute path"
        )
    return path


def out(text: str = "") -> None:
    """Data, on stdout."""
    click.echo(text)


def hint(text: str = "") -> None:
    """Hints and headers, on stderr (stdout stays parseable)."""
    click.echo(text, err=True)


def stdio_are_ttys() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()
