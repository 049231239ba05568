"""The session listing as text (``coven sessions``, ``ls``, ``ps``): standard library only.

Pure functions from listed sessions to strings. They take anything with a
session record's attributes — the client's ``SessionRecord``, or the console
script's fast path's plain view of the same wire object — so the listing can
be printed without loading click or msgspec (``coven.cli.entry``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime

from coven.cli.terminal_text import one_line

# ``typing`` costs the console script's fast path a few ms; type checkers read the block.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    class ListedSession(Protocol):
        """What the listing reads of a session record."""

        @property
        def id(self) -> str: ...
        @property
        def status(self) -> str: ...
        @property
        def harness(self) -> str: ...
        @property
        def project_root(self) -> str: ...
        @property
        def created_at(self) -> str: ...
        @property
        def title(self) -> str: ...
        @property
        def labels(self) -> Sequence[str]: ...
        @property
        def archived_at(self) -> str | None: ...
        @property
        def familiar_id(self) -> str | None: ...
        @property
        def attention(self) -> str | None: ...
        @property
        def attention_reason(self) -> str | None: ...


NEXT_HINT = """
Next:
  coven attach <id>               # rejoin a session (a unique id prefix is enough)
  coven attach <id> --read-only   # watch without typing into it
  coven kill <id>                 # end a live session
Rituals:
  coven archive <id>              # hide from the active list, keep events
  coven summon <id>               # restore an archived session, then attach
  coven sacrifice <id> --yes      # delete a finished session and its events"""


def empty_listing(include_archived: bool, project: str | None) -> tuple[str, str]:
    """What an empty listing says: the message (stdout) and where to start (stderr)."""
    where = f" in {project}" if project else ""
    message = (
        f"No Coven sessions{where} yet — active or archived."
        if include_archived
        else f"No active Coven sessions{where} yet."
    )
    hints = "\n".join(
        [
            "Start or inspect with:",
            "  coven doctor",
            '  coven run codex "explain this repo in 5 bullets"',
            "  coven sessions --all",
        ]
    )
    return message, hints


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


WAITING = "waiting"
"""The marker of a live session awaiting its user's input."""
AWAITING_INPUT = "awaiting_input"  # the schema's AttentionState.AWAITING_INPUT (stdlib only here)


def attention_marker(record: ListedSession) -> str | None:
    """``waiting`` / ``idle`` / ``working`` for a live session, else None."""
    if record.attention is None:
        return None
    return WAITING if record.attention == AWAITING_INPUT else str(record.attention)


def waiting_first(records: Sequence[ListedSession]) -> list[ListedSession]:
    """Sessions awaiting input first; otherwise the order given (stable)."""
    return sorted(records, key=lambda r: r.attention != AWAITING_INPUT)


def state_of(record: ListedSession) -> str:
    return "archived" if record.archived_at is not None else "active"


def sessions_table(records: Sequence[ListedSession]) -> str:
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
        lab = max([6, *(len(one_line(",".join(r.labels)) or "-") for r in records)])
        extra.append(("LABELS", lab, lambda r: one_line(",".join(r.labels)) or "-"))
    head = "".join(f"{name:<{w}} " for name, w, _ in extra)
    rule = "".join(f"{'-' * len(name):<{w}} " for name, w, _ in extra)
    rows = [
        f"{'SESSION':<36} {'STATUS':<10} {'HARNESS':<{width}} {'STATE':<8} {head}TITLE",
        f"{'-------':<36} {'------':<10} {'-------':<{width}} {'-----':<8} {rule}-----",
    ]
    rows.extend(
        f"{r.id:<36} {r.status:<10} {r.harness:<{width}} {state_of(r):<8} "
        + "".join(f"{get(r):<{w}} " for _, w, get in extra)
        + one_line(r.title)
        for r in records
    )
    return "\n".join(rows)


def sessions_overview(
    records: Sequence[ListedSession],
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
            one_line(",".join(r.labels)) or "-",
            one_line(r.title) + _waiting_reason(r),
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = [
        "  ".join([*(cell.ljust(width) for cell, width in zip(row, widths, strict=False)), row[-1]])
        for row in [header, *rows]
    ]
    if colour:  # only on a terminal, so only in the full CLI: click and the schema are loaded
        lines = [
            lines[0],
            *(
                _painted(line, WAITING if r.attention == AWAITING_INPUT else r.status, widths)
                for line, r in zip(lines[1:], records, strict=True)
            ),
        ]
    lines = [line.rstrip() for line in lines]
    return "\n".join(lines)


def _painted(line: str, status: str, widths: list[int]) -> str:
    """``line`` with its status cell coloured the way a terminal user reads it."""
    import click

    from coven.schema.vocabulary import SessionStatus

    styles: dict[str, dict[str, Any]] = {
        WAITING: {"fg": "yellow", "bold": True},  # the ones that need you stand out
        SessionStatus.RUNNING: {"fg": "green"},
        SessionStatus.FAILED: {"fg": "red"},
        SessionStatus.KILLED: {"fg": "red"},
        SessionStatus.ORPHANED: {"fg": "yellow"},
    }
    if status not in styles:
        return line
    start = widths[0] + 2
    end = start + widths[1]
    return line[:start] + click.style(line[start:end], **styles[status]) + line[end:]


def _status_cell(record: ListedSession) -> str:
    marker = attention_marker(record)
    if marker == WAITING:
        return WAITING
    text = str(record.status) + (f" ({marker})" if marker else "")
    return text + (" (archived)" if record.archived_at else "")


def _waiting_reason(record: ListedSession) -> str:
    if record.attention != AWAITING_INPUT or not record.attention_reason:
        return ""
    return f" — {one_line(record.attention_reason)}"
