"""``coven sessions`` and its inspectors ``show``, ``events``, ``log`` (``search``: search_cmd)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

import click
import msgspec

from coven.cli.attach_flow import attach_and_report
from coven.cli.completion import complete_session
from coven.cli.context import client, hint, out, socket_home, stdio_are_ttys
from coven.cli.detach_keys import Key
from coven.cli.listing import empty_listing
from coven.cli.render import (
    EVENTS_HEADER,
    NEXT_HINT,
    event_line,
    events_json_chunks,
    events_table,
    filter_sessions,
    log_lines,
    session_prose,
    sessions_overview,
    sessions_table,
    short_id,
    to_json,
    waiting_first,
)
from coven.cli.run_cmd import detach_keys_option
from coven.client import CovenClient
from coven.schema.wire import SessionRecord

TRANSCRIPT_LINES = 10_000  # the daemon's limit for scrollback in one screen read


def _empty_hint(include_archived: bool, project: str | None) -> None:
    message, hints = empty_listing(include_archived, project)
    out(message)
    hint(hints)


def in_project(record: SessionRecord, project: str) -> bool:
    """The session's project root is ``project`` or lies below it (both canonical)."""
    root = record.project_root
    return root == project or root.startswith(project.rstrip("/") + "/")


def _project_path(raw: str | None) -> str | None:
    if raw is None:
        return None
    path = os.path.realpath(raw)
    if not os.path.isdir(path):
        raise click.BadParameter(f"no such directory: {raw}", param_hint="'--project'")
    return path


def _listed(api: CovenClient, include_archived: bool, project: str | None) -> list[SessionRecord]:
    records = api.list_sessions(include_archived)
    if project is not None:
        records = [r for r in records if in_project(r, project)]
    return records


def _print_table(
    records: list[SessionRecord], include_archived: bool, project: str | None, *, plain: bool
) -> None:
    if not records:
        _empty_hint(include_archived, project)
        return
    if plain:
        out(sessions_table(records))  # the stable, script-facing format: newest first
    else:
        # The ones that need you, on top.
        out(sessions_overview(waiting_first(records), colour=sys.stdout.isatty()))
    hint(NEXT_HINT)


def _browser(
    api: CovenClient, include_archived: bool, project: str | None, keys: tuple[Key, ...]
) -> int | None:
    """Run the interactive browser; ``None`` when it is not installed (the table is shown instead).

    Attaching from the browser comes back to it when the attachment ends.
    """
    try:
        from coven.cli import browser
    except ModuleNotFoundError as exc:
        if exc.name in ("coven.cli.browser", "textual"):
            return None
        raise
    status = ""
    while True:
        result = browser.run_browser(api, include_archived, project=project, status=status)
        if result.action != "attach" or result.session_id is None:
            return result.exit_code
        include_archived = result.include_archived
        outcome = attach_and_report(
            socket_home(), result.session_id, keys=keys, read_only=result.read_only
        )
        if outcome.ending == "exited":
            click.pause("Press any key to return to the session browser…", err=True)
        status = f"Back from session {short_id(result.session_id)} ({outcome.ending})."


def list_options(command: Callable[..., None]) -> Callable[..., None]:
    """The listing options shared by ``sessions``, ``ls`` and ``ps``."""
    for option in reversed(
        [
            click.option(
                "--all", "include_archived", is_flag=True, help="Include archived sessions."
            ),
            click.option(
                "--json", "as_json", is_flag=True, help='Print JSON: {"sessions": [records]}.'
            ),
            click.option("--plain", is_flag=True, help="Print a fixed-width table with full ids."),
            click.option(
                "--project",
                metavar="PATH",
                help="Only sessions whose project root is PATH or lies below it.",
            ),
            click.option(
                "--label",
                "labels",
                multiple=True,
                metavar="LABEL",
                help="Only sessions carrying this label (repeatable: all must match).",
            ),
            click.option("--familiar", help="Only sessions run as this familiar."),
        ]
    ):
        command = option(command)
    return command


def show_sessions(
    include_archived: bool,
    as_json: bool,
    plain: bool,
    project: str | None,
    labels: tuple[str, ...] = (),
    familiar: str | None = None,
) -> None:
    """Print the session list (``--json``, ``--plain`` or a table)."""
    if as_json and plain:
        raise click.UsageError("--json and --plain cannot be used together")
    path = _project_path(project)
    records = filter_sessions(_listed(client(), include_archived, path), labels, familiar)
    if as_json:
        out(json.dumps({"sessions": msgspec.to_builtins(records)}, indent=2, ensure_ascii=False))
        return
    _print_table(records, include_archived, path, plain=plain)


@click.group("sessions", invoke_without_command=True)
@list_options
@detach_keys_option
@click.pass_context
def sessions_group(
    ctx: click.Context,
    include_archived: bool,
    as_json: bool,
    plain: bool,
    project: str | None,
    labels: tuple[str, ...],
    familiar: str | None,
    detach_keys: tuple[Key, ...],
) -> None:
    """List sessions; on a terminal, a live browser.

    Newest first, with short ids, project, age and labels. On a terminal (and
    without --plain or --json) an interactive browser opens instead.
    """
    if ctx.invoked_subcommand is not None:
        return
    filtered = bool(labels) or familiar is not None
    if not plain and not as_json and not filtered and stdio_are_ttys():
        code = _browser(client(), include_archived, _project_path(project), detach_keys)
        if code is not None:
            ctx.exit(code)
    show_sessions(include_archived, as_json, plain, project, labels, familiar)


def _alias(name: str) -> click.Command:
    @click.command(name)
    @list_options
    def listing(
        include_archived: bool,
        as_json: bool,
        plain: bool,
        project: str | None,
        labels: tuple[str, ...],
        familiar: str | None,
    ) -> None:
        show_sessions(include_archived, as_json, plain, project, labels, familiar)

    listing.help = "List sessions as a table (never the browser)."
    return listing


ls_cmd = _alias("ls")
ps_cmd = _alias("ps")


@sessions_group.command("show")
@click.argument("session", shell_complete=complete_session)
@click.option("--json", "as_json", is_flag=True, help="Print the record as JSON.")
def show_cmd(session: str, as_json: bool) -> None:
    """Show one session's record."""
    record = client().resolve_session_ref(session)
    out(to_json(record, sort_keys=True) if as_json else session_prose(record))


@sessions_group.command("events")
@click.argument("session", shell_complete=complete_session)
@click.option(
    "--after-seq",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Start after this event sequence number.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=None,
    help="Print one page of at most this many events (default: every event, page by page).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (one event per line with --follow)."
)
@click.option("--follow", is_flag=True, help="Keep printing events as they are written.")
def events_cmd(
    session: str, after_seq: int, limit: int | None, as_json: bool, follow: bool
) -> None:
    """List a session's events.

    With --follow, keep printing them as they are written until the session exits.
    """
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


@click.command("screen")
@click.argument("session", shell_complete=complete_session)
@click.option("--ansi", is_flag=True, help="Keep colours and attributes (SGR escape sequences).")
@click.option(
    "--history",
    type=click.IntRange(0, TRANSCRIPT_LINES),
    default=0,
    show_default=True,
    help="Scrollback lines to print above the screen.",
)
def screen_cmd(session: str, ansi: bool, history: int) -> None:
    """Print a session's screen as text.

    What its terminal shows now, one line per row, like tmux capture-pane; for a
    session that has ended, its final screen."""
    api = client()
    record = api.resolve_session_ref(session)
    view = api.screen(record.id, ansi, history)
    # click strips escape sequences when stdout is not a terminal; --ansi asked for them.
    click.echo(view.text, color=True if ansi else None)
    if not view.exact:
        hint("(output arrived faster than the screen could follow; some cells may be stale)")


@sessions_group.command("log")
@click.argument("session", shell_complete=complete_session)
@click.option("--events", is_flag=True, help="One line per event instead of the rendered output.")
@click.option("--json", "as_json", is_flag=True, help="Print the per-event log lines as JSON.")
def log_cmd(session: str, events: bool, as_json: bool) -> None:
    """A session's output as its terminal showed it.

    Rendered by the daemon's terminal model (up to 10,000 lines of scrollback and
    the screen), so agents that draw their screen read as text. --events prints
    one line per event instead, as --json does."""
    api = client()
    record = api.resolve_session_ref(session)
    if as_json or events:
        lines = api.log(record.id)
        if as_json:
            out(to_json(lines))
        elif lines:
            out(log_lines(lines))
        else:
            hint("No events recorded for this session yet.")
        return
    view = api.screen(record.id, history=TRANSCRIPT_LINES)
    text = view.text.rstrip("\n")
    if text:
        out(text)
    else:
        hint("No output recorded for this session yet.")
    if not view.exact:
        hint("(the oldest output could not be rendered; --events shows every event)")
    record = api.get_session(record.id)
    code = "" if record.exit_code is None else f", exit code {record.exit_code}"
    hint(f"[coven session {short_id(record.id)} {record.status}{code}]")


def _register_search() -> None:
    # ``sessions search`` lives in its own module (with ``logs prune``, its sibling).
    from coven.cli.search_cmd import search_cmd

    sessions_group.add_command(search_cmd)


_register_search()
