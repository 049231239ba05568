"""``coven export <id>``: a session's stored output as an asciicast v2 recording.

asciicast v2 is newline-delimited JSON: a header object (``version`` 2,
``width``, ``height``, ``timestamp``, ``title``), then one ``[time, "o", data]``
array per output event, ``time`` in seconds since the session was created,
taken from the event's stored time (so replay keeps the real pacing). The
header's size is the session's last terminal size (the daemon records it before
the exit when it was not 80x24), unless ``--cols``/``--rows`` say otherwise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime

import click

from coven.cli.context import client, out
from coven.schema.vocabulary import DEFAULT_COLS, DEFAULT_ROWS, EventKind
from coven.schema.wire import EventRecord, SessionRecord

_FRACTION = re.compile(r"\.(\d+)")


def rfc3339_seconds(text: str) -> float:
    """Seconds since the epoch of an RFC 3339 time (any number of fraction digits)."""
    found = _FRACTION.search(text)
    fraction = 0.0
    if found:
        fraction = float("0." + found.group(1))
        text = text[: found.start()] + text[found.end() :]
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp() + fraction


def _terminal_size(payload: object) -> tuple[int, int] | None:
    """The ``{"terminal": {"cols", "rows"}}`` of a metadata event, if that is what it is."""
    size = payload.get("terminal") if isinstance(payload, dict) else None
    if not isinstance(size, dict):
        return None
    cols, rows = size.get("cols"), size.get("rows")
    if isinstance(cols, int) and isinstance(rows, int) and cols > 0 and rows > 0:
        return cols, rows
    return None


def asciicast(
    record: SessionRecord,
    events: Iterable[EventRecord],
    cols: int | None = None,
    rows: int | None = None,
) -> str:
    """The whole recording as text (one JSON value per line, a trailing newline)."""
    start = rfc3339_seconds(record.created_at)
    lines: list[str] = []
    last = 0.0
    recorded = (DEFAULT_COLS, DEFAULT_ROWS)
    for event in events:
        if event.kind == EventKind.METADATA:
            recorded = _terminal_size(json.loads(event.payload_json)) or recorded
        if event.kind != EventKind.OUTPUT:
            continue
        data = json.loads(event.payload_json).get("data")
        if not isinstance(data, str) or not data:
            continue
        # Times never go backwards in a recording, even if the clock did.
        last = max(last, round(rfc3339_seconds(event.created_at) - start, 6))
        lines.append(json.dumps([last, "o", data], ensure_ascii=False))
    header = {
        "version": 2,
        "width": cols or recorded[0],
        "height": rows or recorded[1],
        "timestamp": int(start),
        "title": record.title,
        "env": {"TERM": "xterm-256color"},
    }
    return "\n".join([json.dumps(header, ensure_ascii=False), *lines]) + "\n"


@click.command("export", short_help="Export a session as an asciicast v2 file.")
@click.argument("session")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="File.")
@click.option(
    "--cols",
    type=click.IntRange(1, 1000),
    help="Terminal width in the header (default: the session's).",
)
@click.option(
    "--rows",
    type=click.IntRange(1, 1000),
    help="Terminal height in the header (default: the session's).",
)
def export_cmd(session: str, output: str | None, cols: int | None, rows: int | None) -> None:
    """Export a session's output as an asciicast v2 file (stdout unless -o)."""
    api = client()
    record = api.resolve_session_ref(session)
    text = asciicast(record, api.iter_events(record.id), cols, rows)
    if output is None:
        click.echo(text, nl=False)
        return
    with open(output, "w", encoding="utf-8") as handle:
        handle.write(text)
    out(f"wrote {output}")
