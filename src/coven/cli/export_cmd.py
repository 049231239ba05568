"""``coven export <id>``: a session's stored output as an asciicast v2 recording.

asciicast v2 is newline-delimited JSON: a header object (``version`` 2,
``width``, ``height``, ``timestamp``, ``title``), then one ``[time, "o", data]``
array per output event, ``time`` in seconds since the session was created,
taken from the event's stored time (so replay keeps the real pacing). The
terminal size is not stored with a session; the header says 80x24 unless
``--cols``/``--rows`` are given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime

import click

from coven.cli.context import client, out
from coven.schema.vocabulary import EventKind
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


def asciicast(
    record: SessionRecord, events: Iterable[EventRecord], cols: int = 80, rows: int = 24
) -> str:
    """The whole recording as text (one JSON value per line, a trailing newline)."""
    start = rfc3339_seconds(record.created_at)
    header = {
        "version": 2,
        "width": cols,
        "height": rows,
        "timestamp": int(start),
        "title": record.title,
        "env": {"TERM": "xterm-256color"},
    }
    lines = [json.dumps(header, ensure_ascii=False)]
    last = 0.0
    for event in events:
        if event.kind != EventKind.OUTPUT:
            continue
        data = json.loads(event.payload_json).get("data")
        if not isinstance(data, str) or not data:
            continue
        # Times never go backwards in a recording, even if the clock did.
        last = max(last, round(rfc3339_seconds(event.created_at) - start, 6))
        lines.append(json.dumps([last, "o", data], ensure_ascii=False))
    return "\n".join(lines) + "\n"


@click.command("export", short_help="Export a session as an asciicast v2 file.")
@click.argument("session")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="File.")
@click.option(
    "--cols",
    type=click.IntRange(1, 1000),
    default=80,
    show_default=True,
    help="Terminal width in the recording header.",
)
@click.option(
    "--rows",
    type=click.IntRange(1, 1000),
    default=24,
    show_default=True,
    help="Terminal height in the recording header.",
)
def export_cmd(session: str, output: str | None, cols: int, rows: int) -> None:
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
