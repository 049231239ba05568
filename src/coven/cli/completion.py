"""Shell completion: the scripts for bash, zsh and fish, and what they complete.

Click's completion machinery does the shell side: the script calls ``coven``
again with ``_COVEN_COMPLETE`` set, and click asks the ``shell_complete``
callbacks below. Session ids and harness ids come from this machine's running
daemon (not over ``--host``: a completion must not open ssh connections); a
completion never starts the daemon, waits at most ``TIMEOUT`` seconds, and
offers nothing rather than fail.
"""

from __future__ import annotations

import click
from click.shell_completion import CompletionItem, get_completion_class

from coven.cli.context import is_remote
from coven.cli.terminal_text import one_line
from coven.client import CovenClient, default_home

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_COVEN_COMPLETE"
TIMEOUT = 1.0


def _client() -> CovenClient | None:
    if is_remote():
        return None
    return CovenClient.from_home(default_home(), timeout=TIMEOUT)


def complete_session(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Session ids starting with ``incomplete``, newest first, each with its title."""
    try:
        api = _client()
        records = [] if api is None else api.list_sessions(include_archived=True)
    except Exception:  # whatever goes wrong, the shell gets no candidates, never a traceback
        return []
    return [
        CompletionItem(r.id, help=f"{r.status} · {r.harness} · {one_line(r.title)}"[:80])
        for r in records
        if r.id.startswith(incomplete)
    ]


def complete_harness(
    _ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Harness ids the daemon can launch, starting with ``incomplete``."""
    try:
        api = _client()
        ids = [] if api is None else api.harness_ids()
    except Exception:  # whatever goes wrong, the shell gets no candidates, never a traceback
        return []
    return [CompletionItem(i) for i in ids if i.startswith(incomplete)]


def completion_script(cli: click.Command, shell: str) -> str:
    """The script that turns on completion of ``coven`` in ``shell``."""
    completion = get_completion_class(shell)
    if completion is None:  # the command's Choice admits only SHELLS
        raise click.BadParameter(f"unsupported shell {shell!r}")
    return completion(cli, {}, "coven", COMPLETE_VAR).source()
