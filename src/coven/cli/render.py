"""Text renderings of records: pure functions from wire types to strings (testable without I/O)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import msgspec

from coven.cli.listing import NEXT_HINT as NEXT_HINT
from coven.cli.listing import age as age
from coven.cli.listing import parse_time as parse_time
from coven.cli.listing import sessions_overview as sessions_overview
from coven.cli.listing import sessions_table as sessions_table
from coven.cli.listing import short_id as short_id
from coven.cli.listing import short_path as short_path
from coven.cli.listing import state_of as state_of
from coven.cli.listing import waiting_first as waiting_first
from coven.cli.terminal_text import one_line
from coven.schema.wire import EventRecord, EventsPage, LogLine, SessionRecord

PAYLOAD_WIDTH = 64


def to_json(value: Any, *, sort_keys: bool = False) -> str:
    """Pretty JSON (2-space indent); records keep their field order unless ``sort_keys``."""
    return json.dumps(msgspec.to_builtins(value), indent=2, sort_keys=sort_keys, ensure_ascii=False)


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
        ("title", one_line(record.title)),
        ("status", record.status),
        ("harness", record.harness),
        ("project", record.project_root),
    ]
    if record.familiar_id:
        fields.append(("familiar", record.familiar_id))
    if record.labels:
        fields.append(("labels", one_line(", ".join(record.labels))))
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
        f"  title:   {one_line(record.title)}",
        f"  mode:    {mode}",
    ]
    if record.branch:
        lines.insert(4, f"  lane:    {record.branch} ({record.worktree_path})")
    if record.continues:
        lines.append(f"  continues: {record.continues}")
    return "\n".join(lines)
