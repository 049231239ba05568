"""``coven archive``, ``coven sacrifice`` and ``coven kill`` (``summon`` attaches: see run_cmd)."""

from __future__ import annotations

import click

from coven.cli.completion import complete_session
from coven.cli.context import client, hint, out
from coven.cli.failures import CliError
from coven.schema.vocabulary import ACTIVE_STATUSES, SessionStatus


@click.command("archive")
@click.argument("session", shell_complete=complete_session)
def archive_cmd(session: str) -> None:
    """Hide a finished session; its events are kept.

    Archived sessions leave the active list (coven sessions --all shows them);
    coven summon brings one back.
    """
    api = client()
    record = api.resolve_session_ref(session)
    if record.archived_at is not None:
        out("session was already archived; nothing to do")
        return
    api.archive(record.id)  # the daemon refuses a live session
    out("archived session")
    hint(f"Summon it later with `coven summon {record.id}`.")


@click.command("sacrifice")
@click.argument("session", shell_complete=complete_session)
@click.option("--yes", is_flag=True, help="Confirm the permanent deletion.")
def sacrifice_cmd(session: str, yes: bool) -> None:
    """Delete a finished session and its events for good.

    Needs the exact full session id and --yes; live sessions are refused.
    """
    api = client()
    record = api.resolve_session_ref(session)
    if record.status in ACTIVE_STATUSES:
        raise CliError(
            f"session `{record.id}` is still running; do not sacrifice live work — kill it "
            f"first with `coven kill {record.id}`"
        )
    if session != record.id:
        raise CliError(
            f"sacrifice needs the exact full session id, not a prefix; to delete this "
            f"session run `coven sacrifice {record.id} --yes`"
        )
    if not yes:
        raise CliError(
            f"sacrifice permanently deletes session `{record.id}` and its events; "
            "rerun with --yes to confirm"
        )
    api.sacrifice(record.id, record.id)  # the daemon checks liveness and the id again
    out("sacrificed session; its event log was permanently deleted")


@click.command("kill")
@click.argument("session", shell_complete=complete_session)
def kill_cmd(session: str) -> None:
    """Kill a live session; its event log is kept."""
    api = client()
    record = api.resolve_session_ref(session)
    if record.status != SessionStatus.RUNNING:
        raise CliError(
            f"session `{record.id}` is not running (status: {record.status}); "
            "only running sessions can be killed"
        )
    api.kill(record.id)
    out(f"killed session {record.id}")
    hint(
        f"Its event log is kept; archive it with `coven archive {record.id}` once you are done with it."
    )
