"""Shell completion: the scripts for bash, zsh and fish, and what they complete.

Click's completion machinery does the shell side: the script calls ``coven``
again with ``_COVEN_COMPLETE`` set, and click asks the ``shell_complete``
callbacks below. Session ids and harness ids come from a running daemon; a
completion never starts the daemon, waits at most ``TIMEOUT`` seconds, and
offers nothing rather than fail.
"""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem, get_completion_class

from coven.cli.context import home
from coven.client import CovenClient, CovenClientError

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_COVEN_COMPLETE"
TIMEOUT = 1.0


def _client() -> CovenClient:
    return CovenClient.from_home(home(), timeout=TIMEOUT)


def complete_session(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Session ids starting with ``incomplete``, newest first, each with its title."""
    try:
        records = _client().list_sessions(include_archived=True)
    except (CovenClientError, OSError, ValueError):
        return []
    return [
        CompletionItem(r.id, help=f"{r.status} · {r.harness} · {r.title}"[:80])
        for r in records
        if r.id.startswith(incomplete)
    ]


def complete_harness(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Harness ids the daemon can launch, starting with ``incomplete``."""
    try:
        ids = _client().harness_ids()
    except (CovenClientError, OSError, ValueError):
        return []
    return [CompletionItem(i) for i in ids if i.startswith(incomplete)]


def completion_script(cli: click.Command, shell: str) -> str:
    """The script that turns on completion of ``coven`` in ``shell``."""
    completion = get_completion_class(shell)
    if completion is None:  # the command's Choice admits only SHELLS
        raise click.BadParameter(f"unsupported shell {shell!r}")
    return completion(cli, {}, "coven", COMPLETE_VAR).source()
