"""Text renderings of records: pure functions from wire types to strings (testable without I/O)."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import click
import msgspec

from coven.schema.vocabulary import SessionStatus
from coven.schema.wire import EventRecord, EventsPage, LogLine, SessionRecord

PAYLOAD_WIDTH = 64
NEXT_HINT = """
Next:
  coven attach <id>               # rejoin a session (a unique id prefix is enough)
  coven attach <id> --read-only   # watch without typing into it
  coven kill <id>                 # end a live session
Rituals:
  coven archive <id>              # hide from the active list, keep events
  coven summon <id>               # restore an archived session, then attach
  coven sacrifice <id> --yes      # delete a finished session and its events"""


def to_json(value: Any, *, sort_keys: bool = False) -> str:
    """Pretty JSON (2-space indent); records keep their field order unless ``sort_keys``."""
    return json.dumps(msgspec.to_builtins(value), indent=2, sort_keys=sort_keys, ensure_ascii=False)


def short_id(session_id: str) -> str:
    return session_id[:8]


def parse_time(stamp: str) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime, or ``None`` when it is not one."""
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def age(stamp: str, now: datetime | None = None) -> str:
    """How long ago ``stamp`` was, in the largest whole unit: ``42s``, ``5m``, ``3h``, ``2d``."""
    then = parse_time(stamp)
    if then is None:
        return "?"
    seconds = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def short_path(path: str, home: str | None = None) -> str:
    """``path`` with the user's home shown as ``~``."""
    home = (os.path.expanduser("~") if home is None else home).rstrip("/")
    if home and (path == home or path.startswith(home + "/")):
        return "~" + path[len(home) :]
    return path


def state_of(record: SessionRecord) -> str:
    return "archived" if record.archived_at is not None else "active"


WAITING = "waiting"
"""The marker of a live session awaiting its user's input."""


def attention_marker(record: SessionRecord) -> str | None:
    """``waiting`` / ``idle`` / ``working`` for a live session, else None."""
    if record.attention is None:
        return None
    return WAITING if record.attention == "awaiting_input" else str(record.attention)


def waiting_first(records: Sequence[SessionRecord]) -> list[SessionRecord]:
    """Sessions awaiting input first; otherwise the order given (stable)."""
    return sorted(records, key=lambda r: r.attention != "awaiting_input")


def sessions_table(records: Sequence[SessionRecord]) -> str:
    """``SESSION STATUS HARNESS STATE TITLE`` with fixed widths (the ``--plain`` format).

    ``FAMILIAR`` and ``LABELS`` columns are added before ``TITLE`` when any
    listed session has a familiar or labels. (Attention is not a column here:
    scripts parse this format; ``--json`` carries it.)
    """
    width = max([8, *(len(r.harness) for r in records)])
    extra: list[tuple[str, int, Any]] = []
    if any(r.familiar_id for r in records):
        fam = max([8, *(len(r.familiar_id or "-") for r in records)])
        extra.append(("FAMILIAR", fam, lambda r: r.familiar_id or "-"))
    if any(r.labels for r in records):
        lab = max([6, *(len(",".join(r.labels) or "-") for r in records)])
        extra.append(("LABELS", lab, lambda r: ",".join(r.labels) or "-"))
    head = "".join(f"{name:<{w}} " for name, w, _ in extra)
    rule = "".join(f"{'-' * len(name):<{w}} " for name, w, _ in extra)
    rows = [
        f"{'SESSION':<36} {'STATUS':<10} {'HARNESS':<{width}} {'STATE':<8} {head}TITLE",
        f"{'-------':<36} {'------':<10} {'-------':<{width}} {'-----':<8} {rule}-----",
    ]
    rows.extend(
        f"{r.id:<36} {r.status:<10} {r.harness:<{width}} {state_of(r):<8} "
        + "".join(f"{get(r):<{w}} " for _, w, get in extra)
        + _one_line(r.title)
        for r in records
    )
    return "\n".join(rows)


def sessions_overview(
    records: Sequence[SessionRecord],
    now: datetime | None = None,
    home: str | None = None,
    colour: bool = False,
) -> str:
    """``ID STATUS HARNESS PROJECT AGE LABELS TITLE``: short ids, nothing cut off.

    Columns are as wide as their widest cell; the title comes last so a long
    one only wraps. ``colour`` paints the status (for a terminal).
    """
    header = ("ID", "STATUS", "HARNESS", "PROJECT", "AGE", "LABELS", "TITLE")
    rows = [
        (
            short_id(r.id),
            _status_cell(r),
            r.harness,
            short_path(r.project_root, home),
            age(r.created_at, now),
            ",".join(r.labels) or "-",
            _one_line(r.title) + _waiting_reason(r),
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    colours = {
        SessionStatus.RUNNING: "green",
        SessionStatus.FAILED: "red",
        SessionStatus.KILLED: "red",
        SessionStatus.ORPHANED: "yellow",
    }
    lines = []
    for index, row in enumerate([header, *rows]):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        if colour and index > 0 and records[index - 1].attention == "awaiting_input":
            cells[1] = click.style(cells[1], fg="yellow", bold=True)
        elif colour and index > 0 and records[index - 1].status in colours:
            cells[1] = click.style(cells[1], fg=colours[records[index - 1].status])
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _status_cell(record: SessionRecord) -> str:
    marker = attention_marker(record)
    if marker == WAITING:
        return WAITING
    text = str(record.status) + (f" ({marker})" if marker else "")
    return text + (" (archived)" if record.archived_at else "")


def _waiting_reason(record: SessionRecord) -> str:
    if record.attention != "awaiting_input" or not record.attention_reason:
        return ""
    return f" — {_one_line(record.attention_reason)}"


def filter_sessions(
    records: Sequence[SessionRecord], labels: Sequence[str], familiar: str | None
) -> list[SessionRecord]:
    """Sessions carrying every one of ``labels`` (and run as ``familiar``, if given)."""
    return [
        r
        for r in records
        if all(label in r.labels for label in labels)
        and (familiar is None or r.familiar_id == familiar)
    ]


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def payload_preview(payload_json: str, width: int = PAYLOAD_WIDTH) -> str:
    flat = payload_json.replace("\r", "\\r").replace("\n", "\\n")
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def event_line(event: EventRecord) -> str:
    return f"{event.seq:<8} {event.created_at:<32} {event.kind:<16} {payload_preview(event.payload_json)}"


EVENTS_HEADER = f"{'SEQ':<8} {'CREATED':<32} {'KIND':<16} PAYLOAD"


def events_json_chunks(events: Iterable[EventRecord]) -> Iterator[str]:
    """The ``--json`` document of a whole log (one page, ``hasMore`` false), piece by piece.

    Joined, the pieces equal ``to_json(EventsPage(all, cursor, False), sort_keys=True)``,
    but only one event is held at a time, so a log of any size can be printed.
    """
    last: int | None = None
    yield '{\n  "events": ['
    for n, event in enumerate(events):
        body = json.dumps(msgspec.to_builtins(event), indent=2, sort_keys=True, ensure_ascii=False)
        yield ("," if n else "") + "\n" + textwrap.indent(body, "    ")
        last = event.seq
    cursor = "null" if last is None else f'{{\n    "afterSeq": {last}\n  }}'
    yield (
        "\n  ]" if last is not None else "]"
    ) + f',\n  "hasMore": false,\n  "nextCursor": {cursor}\n}}'


def events_table(page: EventsPage) -> str:
    if not page.events:
        return "No events recorded for this session yet."
    rows = [EVENTS_HEADER]
    rows.extend(event_line(e) for e in page.events)
    footer = f"{len(page.events)} event(s)"
    if page.hasMore and page.nextCursor is not None:
        footer += f" · more: --after-seq {page.nextCursor.afterSeq}"
    rows.append(footer)
    return "\n".join(rows)


def log_lines(lines: Sequence[LogLine]) -> str:
    return "\n".join(f"{line.ts} [{line.level}] {line.message}" for line in lines)


def session_prose(record: SessionRecord) -> str:
    fields: list[tuple[str, str]] = [
        ("title", record.title),
        ("status", record.status),
        ("harness", record.harness),
        ("project", record.project_root),
    ]
    if record.familiar_id:
        fields.append(("familiar", record.familiar_id))
    if record.labels:
        fields.append(("labels", ", ".join(record.labels)))
    fields += [
        ("visibility", record.visibility),
        ("created", record.created_at),
        ("updated", record.updated_at),
    ]
    if record.exit_code is not None:
        fields.append(("exit code", str(record.exit_code)))
    if record.archived_at is not None:
        fields.append(("archived", record.archived_at))
    lines = [f"Session {record.id}"]
    lines += [f"  {name + ':':<12}{value}" for name, value in fields]
    lines.append(
        f"Next: coven attach {record.id} · coven sessions events {record.id} · "
        f"coven sessions log {record.id}"
    )
    return "\n".join(lines)


def created_header(record: SessionRecord, cwd: str, mode: str) -> str:
    """The header `coven run` prints (to stderr) before attaching; ``mode`` says how it runs."""
    lines = [
        "Coven session resumed" if record.continues else "Coven session created",
        f"  id:      {record.id}",
        f"  harness: {record.harness}",
        f"  root:    {record.project_root}",
        f"  cwd:     {cwd}",
        f"  title:   {record.title}",
        f"  mode:    {mode}",
    ]
    if record.branch:
        lines.insert(4, f"  lane:    {record.branch} ({record.worktree_path})")
    if record.continues:
        lines.append(f"  continues: {record.continues}")
    return "\n".join(lines)


def attached_header(record: SessionRecord, detach_hint: str, *, read_only: bool = False) -> str:
    """The lines `coven attach` prints (to stderr) when the stream opens, without a final newline."""
    head = f'attached to session {record.id} ({record.harness}, "{record.title}", status: {record.status})'
    if record.status == SessionStatus.RUNNING:
        watching = "read-only: nothing you type reaches the agent" if read_only else "with input"
        return f"{head}\nfollowing live output, {watching}; {detach_hint}"
    return f"{head}\nsession is not running; replaying its recorded output"
