"""``coven --host HOST …``: which machine a command works on, and how it gets there.

``HOST`` is ``ssh://[user@]host[:port]`` or a name from ``COVEN_HOME/hosts.toml``
(``coven hosts``); ``$COVEN_HOST`` is the default. With a host, a command runs
in one of two ways:

* **through the forwarded socket** — every command that talks to the daemon's
  API (sessions, run, attach, kill, archive, …): ``context.client()`` and
  ``context.socket_home()`` hand it the local end of an SSH forward to the
  remote daemon, and from there it behaves exactly as locally;
* **on that machine** (``REMOTE_EXEC``) — commands about a machine rather than
  its daemon's API run as ``coven …`` there over ssh exec, stdio passed
  through: ``daemon start|stop|restart|status``, ``doctor``, ``adapter``.

``hosts`` and the completion scripts are about this machine and ignore the
host. Any other command that reaches for this machine's Coven home while a host
is selected is refused by ``context.home()`` instead of silently mixing machines.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from coven.client import default_home
from coven.client.errors import InvalidHostTarget

if TYPE_CHECKING:  # tomllib, subprocess and friends load only when a host is used
    from coven.client.ssh import SshLink

HOST_ENV = "COVEN_HOST"
REMOTE_EXEC = frozenset({"daemon", "doctor", "adapter"})
_LINK_KEY = "coven.remote.link"


def host_of(ctx: click.Context | None) -> str | None:
    """The ``--host`` (or ``$COVEN_HOST``) of ``ctx``'s command line, ``None`` for this machine."""
    if ctx is None:
        return None
    value = ctx.find_root().params.get("host")
    if not isinstance(value, str) or not value.strip():
        return None  # an empty $COVEN_HOST means this machine
    return value.strip()


def selected_host() -> str | None:
    return host_of(click.get_current_context(silent=True))


def link() -> SshLink:
    """The ``SshLink`` to the selected host (one per command line)."""
    ctx = click.get_current_context().find_root()
    cached: SshLink | None = ctx.meta.get(_LINK_KEY)
    if cached is not None:
        return cached
    spec = host_of(ctx)
    if spec is None:
        raise InvalidHostTarget("no host selected")
    made = make_link(spec)
    ctx.meta[_LINK_KEY] = made
    return made


def make_link(spec: str) -> SshLink:
    """Resolve ``spec`` (a URL, or a name in hosts.toml) to a link; nothing is connected yet."""
    from coven.client.hosts import (
        DEFAULT_REMOTE_COMMAND,
        hosts_path,
        is_host_name,
        parse_target,
        read_hosts,
    )
    from coven.client.ssh import SshLink, runtime_root, ssh_command_from

    command = DEFAULT_REMOTE_COMMAND
    if "://" in spec or "@" in spec:
        target = parse_target(spec)
    else:
        path = hosts_path(default_home())
        if not is_host_name(spec):
            raise InvalidHostTarget(
                f"`{spec}` is neither a host name from {path} nor an ssh://[user@]host[:port] target"
            )
        roster, _text = read_hosts(path)
        entry = roster.get(spec)
        if entry is None:
            raise InvalidHostTarget(
                f"no host named `{spec}` in {path}; add it with "
                f"`coven hosts add {spec} ssh://user@{spec}`, or pass --host ssh://user@{spec}"
            )
        target, command = entry.target, entry.remote_command
    return SshLink(
        target,
        label=spec,
        remote_command=command,
        ssh_command=ssh_command_from(os.environ),
        runtime=runtime_root(os.environ),
        # With a terminal ssh may ask for a password or a host key; without one it must not wait.
        batch=not sys.stdin.isatty(),
    )


def route(
    ctx: click.Context, name: str | None, command: click.Command | None, args: list[str]
) -> tuple[str | None, click.Command | None, list[str]]:
    """``CovenGroup.resolve_command``'s last step: machine commands go to the host via ssh exec."""
    if ctx.resilient_parsing or name not in REMOTE_EXEC or host_of(ctx) is None:
        return name, command, args
    return name, _on_host(name, list(args)), []


def _on_host(name: str, args: list[str]) -> click.Command:
    def run_there() -> None:
        there = link()
        there.connect()
        terminal = sys.stdin.isatty() and sys.stdout.isatty()
        done = there.run([name, *args], capture=False, tty=terminal)
        code = done.returncode
        # ssh killed by a signal: report it the way a shell would (128 + signal number).
        click.get_current_context().exit(code if code >= 0 else 128 - code)

    return click.Command(name, callback=run_there, add_help_option=False)
