"""What the session browser shows, without the app: lists, details, output previews.

No textual here (rich's ``Text`` only), so this is cheap to import and test.
"""

from __future__ import annotations

import json
import re

from rich.text import Text

from coven.client import CovenClient
from coven.schema.vocabulary import EventKind, SessionStatus
from coven.schema.wire import SessionRecord

PREVIEW_LINES = 8
EMPTY_MESSAGE = (
    "No Coven sessions to manage yet.\n"
    'Start one with `coven run codex "explain this repo in 5 bullets"`.'
)


def listed(client: CovenClient, include_archived: bool, project: str | None) -> list[SessionRecord]:
    """The daemon's list, newest first, kept to ``project`` (and below) when given."""
    records = client.list_sessions(include_archived=include_archived)
    if project is None:
        return records
    prefix = project.rstrip("/") + "/"
    return [r for r in records if r.project_root == project or r.project_root.startswith(prefix)]


def is_live(record: SessionRecord) -> bool:
    return record.status == SessionStatus.RUNNING


def session_state(record: SessionRecord) -> str:
    """The runtime status, with `` · archived`` when the session is archived."""
    return record.status + (" · archived" if record.archived_at is not None else "")


def fingerprint(records: list[SessionRecord]) -> list[tuple[str, str, str | None, str, str]]:
    return [(r.id, r.status, r.archived_at, r.updated_at, r.title) for r in records]


# CSI/OSC/DCS sequences and lone escapes: what a terminal would interpret, not show.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1bP[^\x1b]*(?:\x1b\\)?"
    r"|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]"
)


def visible_lines(text: str, count: int) -> list[str]:
    """The last ``count`` non-blank lines of terminal output, escape sequences removed.

    Carriage returns keep what was written after them (a redrawn line shows its
    last state). Full-screen agents draw with cursor moves, so their output is
    only approximated; the lines are a preview, not a screen.
    """
    lines: list[str] = []
    for raw in text.split("\n"):
        line = raw.rstrip("\r").split("\r")[-1]
        clean = _ESCAPES.sub("", line).rstrip()
        if clean.strip():
            lines.append(clean)
    return lines[-count:]


class OutputTail:
    """The last output of one session, fetched incrementally from its events.

    ``fetch`` (blocking: run it off the UI thread) reads the events after the
    last one seen, at most ``pages`` pages per call, so a long history is caught
    up over a few refreshes instead of freezing the preview.
    """

    KEEP = 32 * 1024
    PAGE = 200

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.after_seq = 0
        self.text = ""
        self.caught_up = False

    def fetch(self, client: CovenClient, pages: int = 4) -> None:
        for _ in range(pages):
            page = client.events(self.session_id, self.after_seq, self.PAGE)
            for event in page.events:
                if event.kind == EventKind.OUTPUT:
                    try:
                        data = json.loads(event.payload_json).get("data")
                    except ValueError:
                        data = None
                    if isinstance(data, str):
                        self.text = (self.text + data)[-self.KEEP :]
            if page.nextCursor is not None:
                self.after_seq = max(self.after_seq, page.nextCursor.afterSeq)
            elif page.events:
                self.after_seq = max(self.after_seq, page.events[-1].seq)
            self.caught_up = not page.hasMore
            if self.caught_up:
                return

    def lines(self, count: int = PREVIEW_LINES) -> list[str]:
        return visible_lines(self.text, count)


def short_time(stamp: str) -> str:
    """``2026-01-02T03:04:05.123Z`` -> ``2026-01-02 03:04:05``; anything else unchanged."""
    if len(stamp) >= 19 and stamp[10] == "T":
        return f"{stamp[:10]} {stamp[11:19]}"
    return stamp


def plain(text: str) -> Text:
    """User-supplied text as a renderable that can carry neither markup nor control codes."""
    return Text("".join(ch if ch.isprintable() else "\ufffd" for ch in text))


def details_text(record: SessionRecord) -> Text:
    rows = [
        ("Title", record.title or "(untitled)"),
        ("ID", record.id),
        ("Runtime", record.status),
        ("Harness", record.harness),
        ("Project", record.project_root),
        ("Updated", short_time(record.updated_at)),
        ("State", "archived" if record.archived_at is not None else "active"),
    ]
    if record.labels:
        rows.append(("Labels", ", ".join(record.labels)))
    if record.exit_code is not None:
        rows.append(("Exit code", str(record.exit_code)))
    lines = [plain(f"{name:<10}{value}") for name, value in rows]
    return Text("\n").join(lines)
