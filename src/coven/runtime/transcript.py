"""A finished session's screen and scrollback, rebuilt from its stored output.

A live session's screen comes from its own ``ScreenModel``; once the session has
ended that model is gone. Its output is not: replaying the stored output through a
fresh model, at the size the terminal last had, gives what the user's terminal
would show — the final screen, and above it the lines that scrolled away. That is
the only readable form of a full-screen or inline-drawing agent's output (Claude
Code moves the cursor instead of printing spaces; stripping escape sequences from
its raw bytes gives ``WelcometoClaude``).

The terminal's size is recorded by the runtime as a ``metadata`` event
``{"terminal": {"cols", "rows"}}`` just before ``exit`` whenever it was not the
default 80x24; a session without one was 80x24. Only the last ``TAIL_BYTES`` of
output are replayed, so a session with gigabytes of output answers as fast as one
with a few megabytes; the view is then marked inexact (its top lines may lack what
was drawn earlier).
"""

from __future__ import annotations

import json

from coven.runtime.ledger import Ledger
from coven.schema import EventKind
from coven.schema.attach import ScreenView
from coven.schema.vocabulary import DEFAULT_COLS, DEFAULT_ROWS, MAX_PAGE
from coven.screen import ScreenModel
from coven.store import EventRow, StoreReader

TAIL_BYTES = 4 * 1024 * 1024  # about 10,000 lines of an agent's output; emulated in ~70 ms
TERMINAL_KEY = "terminal"


def terminal_payload(cols: int, rows: int) -> dict[str, object] | None:
    """The ``metadata`` payload recording a session's last terminal size, if not default."""
    if (cols, rows) == (DEFAULT_COLS, DEFAULT_ROWS):
        return None
    return {TERMINAL_KEY: {"cols": cols, "rows": rows}}


def _size_of(row: EventRow) -> tuple[int, int] | None:
    try:
        size = json.loads(row.payload_json).get(TERMINAL_KEY)
        cols, rows = int(size["cols"]), int(size["rows"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return (cols, rows) if cols > 0 and rows > 0 else None


def read_tail(reader: StoreReader, session_id: str) -> tuple[list[bytes], tuple[int, int], bool]:
    """The last ``TAIL_BYTES`` of output (in order), the terminal size, and whether all of
    the output is included. Reads backwards in pages: the cost follows the tail only."""
    chunks: list[bytes] = []
    size: tuple[int, int] | None = None
    total = 0
    before = 1 << 62  # after every seq
    complete = False
    while total < TAIL_BYTES:
        rows = reader.events_before(session_id, before, MAX_PAGE)
        for row in rows:
            if row.kind == EventKind.OUTPUT:
                data = json.loads(row.payload_json).get("data", "")
                if isinstance(data, str) and data:
                    chunk = data.encode("utf-8", "replace")
                    chunks.append(chunk)
                    total += len(chunk)
                    if total >= TAIL_BYTES:
                        break
            elif row.kind == EventKind.METADATA and size is None:
                size = _size_of(row)
        if len(rows) < MAX_PAGE:
            complete = total < TAIL_BYTES
            break
        before = rows[-1].seq
    chunks.reverse()
    return chunks, size or (DEFAULT_COLS, DEFAULT_ROWS), complete


def render_stored(reader: StoreReader, session_id: str, *, ansi: bool, history: int) -> ScreenView:
    """Replay the stored tail through a fresh model and render it (blocking: run off the loop)."""
    chunks, (cols, rows), complete = read_tail(reader, session_id)
    model = ScreenModel(cols, rows, history=history, backlog_limit=TAIL_BYTES + 1)
    try:
        for chunk in chunks:
            model.feed(chunk)
        text = model.text(ansi=ansi, history=history)
        exact = complete and model.exact
    finally:
        model.close()
    return ScreenView(session_id, cols, rows, ansi, exact, text, live=False)


async def stored_screen(ledger: Ledger, session_id: str, *, ansi: bool, history: int) -> ScreenView:
    """``render_stored`` on the reader pool."""
    return await ledger.read(render_stored, ledger.reader, session_id, ansi=ansi, history=history)
