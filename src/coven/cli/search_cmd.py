"""``coven sessions search "<text>"`` and ``coven logs prune``: both answered by the daemon."""

from __future__ import annotations

import click

from coven.cli.context import client, hint, out
from coven.cli.render import to_json
from coven.schema.search import (
    PRUNE_DEFAULT_EVENT_DAYS,
    PRUNE_MAX_EVENT_DAYS,
    SEARCH_DEFAULT_LIMIT,
    SEARCH_MAX_LIMIT,
    PruneResult,
    SearchHitRecord,
)


def highlighted(hit: SearchHitRecord) -> str:
    """The hit's snippet on one line, matched terms in bold (plain when not a terminal)."""
    parts: list[str] = []
    at = 0
    for start, end in hit.highlights:
        parts.append(hit.snippet[at:start])
        parts.append(click.style(hit.snippet[start:end], bold=True, fg="yellow"))
        at = end
    parts.append(hit.snippet[at:])
    return " ".join("".join(parts).split())


def hit_line(hit: SearchHitRecord) -> str:
    """``<created_at>  <session id>  [<kind>]  <snippet>`` (the reference's line shape)."""
    return f"{hit.created_at}  {hit.session_id}  [{hit.kind}]  {highlighted(hit)}"


@click.command("search", short_help="Find sessions by words in their output or title.")
@click.argument("text")
@click.option(
    "--limit",
    type=click.IntRange(1, SEARCH_MAX_LIMIT),
    default=SEARCH_DEFAULT_LIMIT,
    show_default=True,
    help="At most this many hits.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the hits as a JSON array.")
def search_cmd(text: str, limit: int, as_json: bool) -> None:
    """Find sessions whose output or title holds every word of TEXT, best hits first.

    Words match whole words (case-insensitive); end one with * to match a prefix
    (deploy* finds deployment). Output is searched as plain text, as stored:
    redacted, without terminal escape sequences.
    """
    if not text.strip():
        raise click.BadParameter("the search text must not be empty", param_hint="TEXT")
    result = client().search(text, limit)
    if as_json:
        out(to_json(result.hits))
    elif result.hits:
        for hit in result.hits:
            out(hit_line(hit))
    else:
        hint(f"No matches for `{text}`.")
    if not result.complete:
        hint(
            "(the index is still catching up; output after event "
            f"{result.indexedThroughSeq} was not searched yet — try again shortly)"
        )


@click.group("logs", short_help="Maintain the event log (prune old events).")
def logs_group() -> None:
    """Maintain the daemon's event log."""


@logs_group.command("prune")
@click.option("--dry-run", is_flag=True, help="Only say what would be deleted.")
@click.option(
    "--event-days",
    type=click.IntRange(1, PRUNE_MAX_EVENT_DAYS),
    default=None,
    help=(
        "Delete events older than this many days (default: the daemon's retention, "
        f"{PRUNE_DEFAULT_EVENT_DAYS} unless it was started with COVEN_LOG_RETENTION_DAYS)."
    ),
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def prune_cmd(dry_run: bool, event_days: int | None, as_json: bool) -> None:
    """Delete old events of sessions that are not running.

    Live sessions are never touched; session records stay listed (with their
    titles and exit), only their events older than the cutoff go.
    """
    result = client().prune(event_days, dry_run)
    if as_json:
        out(to_json(result))
        return
    out(prune_summary(result))
    verb = "would delete" if result.dryRun else "deleted"
    for session in result.sessions:
        out(f"  {session.sessionId}  {verb} {session.events} event(s)")


def prune_summary(result: PruneResult) -> str:
    """One line like the reference's: ``logs prune dryRun=true events=N …`` / ``logs pruned …``."""
    facts = (
        f"events={result.events} sessions={len(result.sessions)} "
        f"eventDays={result.eventDays} eventCutoff={result.eventCutoff}"
    )
    return f"logs prune dryRun=true {facts}" if result.dryRun else f"logs pruned {facts}"
