"""``coven sessions`` and its inspectors ``show``, ``events``, ``log``."""

from __future__ import annotations

import json
import sys

import click
import msgspec

from coven.cli.context import client, hint, out, stdio_are_ttys
from coven.cli.render import (
    EVENTS_HEADER,
    RITUALS_HINT,
    event_line,
    events_json_chunks,
    events_table,
    filter_sessions,
    log_lines,
    session_prose,
    sessions_table,
    to_json,
)
from coven.client import CovenClient
from coven.schema.vocabulary import SessionStatus
from coven.schema.wire import SessionRecord


def _empty_hint(include_archived: bool) -> None:
    out(
        "No Coven sessions yet — active or archived."
        if include_archived
        else "No active Coven sessions yet."
    )
    hint("Start or inspect with:")
    hint("  coven doctor")
    hint('  coven run codex "explain this repo in 5 bullets"')
    hint("  coven sessions --all")


def _print_table(records: list[SessionRecord], include_archived: bool, *, plain: bool) -> None:
    if not records:
        _empty_hint(include_archived)
        return
    if plain:
        out(sessions_table(records))
    else:
        _rich_table(records)
    hint(RITUALS_HINT)


def _rich_table(records: list[SessionRecord]) -> None:
    from rich.console import Console
    from rich.table import Table

    colours = {
        SessionStatus.RUNNING: "green",
        SessionStatus.FAILED: "red",
        SessionStatus.KILLED: "red",
        SessionStatus.ORPHANED: "yellow",
    }
    table = Table(box=None, header_style="bold")
    for name in ("SESSION", "STATUS", "HARNESS", "STATE", "TITLE"):
        table.add_column(name, no_wrap=name != "TITLE")
    for r in records:
        colour = colours.get(r.status, "")
        table.add_row(
            r.id,
            f"[{colour}]{r.status}[/]" if colour else r.status,
            r.harness,
            "archived" if r.archived_at else "active",
            r.title,
        )
    Console().print(table)


def _browser(api: CovenClient, include_archived: bool) -> int | None:
    """Run the interactive browser; ``None`` when it is not installed (the table is shown instead)."""
    try:
        from coven.cli import browser
    except ModuleNotFoundError as exc:
        if exc.name in ("coven.cli.browser", "textual"):
            return None
        raise
    result = browser.run_browser(api, include_archived)
    if result.action == "attach" and result.session_id is not None:
        from coven.cli.run_cmd import attach_and_report

        attach_and_report(result.session_id)
        return 0
    return result.exit_code


@click.group("sessions", invoke_without_command=True)
@click.option("--all", "include_archived", is_flag=True, help="Include archived sessions.")
@click.option("--json", "as_json", is_flag=True, help='Print {"sessions": [...]}.')
@click.option("--plain", is_flag=True, help="Print a fixed-width table.")
@click.option(
    "--label", "labels", multiple=True, help="Only sessions with this label (repeatable)."
)
@click.option("--familiar", help="Only sessions run as this familiar.")
@click.pass_context
def sessions_group(
    ctx: click.Context,
    include_archived: bool,
    as_json: bool,
    plain: bool,
    labels: tuple[str, ...],
    familiar: str | None,
) -> None:
    """List sessions (newest first); an interactive browser on a terminal."""
    if ctx.invoked_subcommand is not None:
        return
    if as_json and plain:
        raise click.UsageError("--json and --plain cannot be used together")
    api = client()
    filtered = bool(labels) or familiar is not None
    if as_json or filtered:
        records = filter_sessions(api.list_sessions(include_archived), labels, familiar)
    if filtered and not as_json:
        _print_table(records, include_archived, plain=plain)
        return
    if as_json:
        out(json.dumps({"sessions": msgspec.to_builtins(records)}, indent=2, ensure_ascii=False))
        return
    if not plain and stdio_are_ttys():
        code = _browser(api, include_archived)
        if code is not None:
            ctx.exit(code)
    _print_table(api.list_sessions(include_archived), include_archived, plain=plain)


@sessions_group.command("show")
@click.argument("session")
@click.option("--json", "as_json", is_flag=True)
def show_cmd(session: str, as_json: bool) -> None:
    """Show one session's record."""
    record = client().resolve_session_ref(session)
    out(to_json(record, sort_keys=True) if as_json else session_prose(record))


@sessions_group.command("events")
@click.argument("session")
@click.option("--after-seq", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=None,
    help="Print one page of at most this many events (default: every event, page by page).",
)
@click.option("--json", "as_json", is_flag=True)
@click.option("--follow", is_flag=True, help="Keep printing events as they are written.")
def events_cmd(
    session: str, after_seq: int, limit: int | None, as_json: bool, follow: bool
) -> None:
    """List a session's events (``--follow`` streams them until the session exits)."""
    api = client()
    record = api.resolve_session_ref(session)
    if follow:
        encoder = msgspec.json.Encoder()
        for event in api.follow(record.id, after_seq):
            line = encoder.encode(event).decode() if as_json else event_line(event)
            out(line)
            sys.stdout.flush()
        return
    if limit is not None:
        page = api.events(record.id, after_seq, limit)
        out(to_json(page, sort_keys=True) if as_json else events_table(page))
        return
    # The whole log, one page at a time (a page stops at the daemon's 4 MiB response
    # limit), printed as it arrives so a log of any size fits in memory.
    events = api.iter_events(record.id, after_seq)
    if as_json:
        for chunk in events_json_chunks(events):
            click.echo(chunk, nl=False)
        out("")
        return
    count = 0
    for event in events:
        if not count:
            out(EVENTS_HEADER)
        out(event_line(event))
        count += 1
    out(f"{count} event(s)" if count else "No events recorded for this session yet.")


@sessions_group.command("log")
@click.argument("session")
@click.option("--json", "as_json", is_flag=True)
def log_cmd(session: str, as_json: bool) -> None:
    """A session's events as log lines."""
    api = client()
    record = api.resolve_session_ref(session)
    lines = api.log(record.id)
    if as_json:
        out(to_json(lines))
    elif lines:
        out(log_lines(lines))
    else:
        hint("No events recorded for this session yet.")
