"""The interactive session browser (``coven sessions --manage``), a textual app.

Import this module lazily: it is the only CLI module that loads textual.

Every action goes through the daemon API via the given ``CovenClient``; the
browser holds no state of its own beyond what the daemon last answered. A
daemon refusal or an unreachable daemon is shown in the status line, never as
a traceback. Attaching is not done here: **a** ends the app and hands the
session id back to the caller in a ``BrowserResult``.

Keys: **a** Rejoin (live) / View log (finished), **r** Archive, **s** Summon,
**x** Sacrifice (type ``sacrifice`` to confirm; refused for live sessions),
**k** Kill (live only, confirm), **q**/Esc close. Up/Down or a mouse click
select a session; the action buttons are clickable too.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal, TextIO

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static

from coven.client import CovenClient, CovenClientError
from coven.schema.vocabulary import SessionStatus
from coven.schema.wire import SessionRecord

SACRIFICE_WORD = "sacrifice"
NOTHING_CHANGED = "Closed session browser. Nothing changed."
EMPTY_MESSAGE = (
    "No Coven sessions to manage yet.\n"
    'Start one with `coven run codex "explain this repo in 5 bullets"`.'
)


@dataclass(frozen=True, slots=True)
class BrowserResult:
    """How the browser ended.

    ``action == "attach"``: the caller must attach to ``session_id`` (live:
    follow and send input; finished: replay the log). ``action is None``: the
    user closed the browser; ``message`` is the closing sentence, already
    printed by ``run_browser``. ``exit_code`` is what the command should exit with.
    """

    action: Literal["attach"] | None
    session_id: str | None = None
    message: str = ""
    exit_code: int = 0


def run_browser(
    client: CovenClient, include_archived: bool, *, out: TextIO | None = None
) -> BrowserResult:
    """Run the browser on the real terminal until the user attaches or closes it.

    With no sessions (or an unreachable daemon) the app is not started: the
    friendly message (or ``Error: ...`` with ``exit_code`` 1) is printed to
    ``out`` (default stdout) and returned. The closing message is printed too;
    for ``action == "attach"`` nothing is printed.
    """
    stream = sys.stdout if out is None else out
    try:
        sessions = client.list_sessions(include_archived=include_archived)
    except CovenClientError as exc:
        result = BrowserResult(None, message=f"Error: {exc}", exit_code=1)
    else:
        if not sessions:
            result = BrowserResult(None, message=EMPTY_MESSAGE)
        else:
            app = SessionBrowser(client, include_archived, sessions)
            result = app.run() or BrowserResult(None, message=NOTHING_CHANGED)
    if result.message:
        stream.write(result.message + "\n")
        stream.flush()
    return result


# ----------------------------------------------------------------------------- view model


def is_live(record: SessionRecord) -> bool:
    return record.status == SessionStatus.RUNNING


def session_state(record: SessionRecord) -> str:
    """``archived`` overlays the runtime status; otherwise the status itself."""
    return "archived" if record.archived_at is not None else record.status


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
    if record.exit_code is not None:
        rows.append(("Exit code", str(record.exit_code)))
    lines = [plain(f"{name:<10}{value}") for name, value in rows]
    return Text("\n").join(lines)


# ----------------------------------------------------------------------------- dialogs


class ConfirmKill(ModalScreen[bool]):
    """Yes/no before killing a live session; **y**/Enter confirm, **n**/Esc cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Kill"),
        Binding("n,escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, record: SessionRecord) -> None:
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(plain(f"Kill live session `{self.record.title}` ({self.record.id[:12]})?"))
            with Horizontal():
                yield Button(Text("Kill [y]"), id="yes", variant="error")
                yield Button(Text("Cancel [n]"), id="no")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class ConfirmSacrifice(ModalScreen[bool]):
    """Type exactly ``sacrifice`` and press Enter to confirm; anything else (or Esc) cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, record: SessionRecord) -> None:
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(
                plain(
                    f"Type `{SACRIFICE_WORD}` to delete non-running session "
                    f"`{self.record.id[:12]}` and its events:"
                )
            )
            yield Input(id="confirm-word")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value == SACRIFICE_WORD)

    def action_cancel(self) -> None:
        self.dismiss(False)


# ----------------------------------------------------------------------------- the app


class SessionBrowser(App[BrowserResult]):
    """Session list, details of the selected one, action buttons and a status line."""

    TITLE = "Session browser"
    CSS = """
    #sessions { height: 1fr; }
    #details { height: auto; border: round $primary; padding: 0 1; }
    #actions { height: auto; }
    #actions Button { min-width: 12; margin-right: 1; }
    #status { height: auto; color: $warning; }
    ConfirmKill, ConfirmSacrifice { align: center middle; }
    #dialog { width: 70; height: auto; border: thick $error; padding: 1 2; background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "attach", "Rejoin / View log"),
        Binding("r", "archive", "Archive"),
        Binding("s", "summon", "Summon"),
        Binding("x", "sacrifice", "Sacrifice"),
        Binding("k", "kill", "Kill"),
        Binding("q,escape", "close", "Close"),
    ]

    def __init__(
        self,
        client: CovenClient,
        include_archived: bool,
        sessions: list[SessionRecord] | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.include_archived = include_archived
        self.sessions: list[SessionRecord] = list(sessions or [])
        self.changes: list[str] = []
        self.status_text = ""
        self._loaded = sessions is not None

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("Session browser · select work, then choose an action. No IDs to copy.")
        table: DataTable[Text] = DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="details")
        with Horizontal(id="actions"):
            yield Button(Text("[a] Rejoin"), id="attach")
            yield Button(Text("[r] Archive"), id="archive")
            yield Button(Text("[s] Summon"), id="summon")
            yield Button(Text("[x] Sacrifice"), id="sacrifice")
            yield Button(Text("[k] Kill"), id="kill")
            yield Button(Text("[q] Close"), id="close")
        yield Static(id="status")

    def on_mount(self) -> None:
        table = self.table
        table.add_columns("Title", "State", "Harness", "Updated")
        if not self._loaded:
            self.reload()
        else:
            self.fill(None)
        table.focus()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#sessions", DataTable)

    # -- data --------------------------------------------------------------------------------

    def reload(self, keep: str | None = None) -> None:
        """Ask the daemon for the list again and redraw, keeping ``keep`` selected if present."""
        try:
            self.sessions = self.client.list_sessions(include_archived=self.include_archived)
        except CovenClientError as exc:
            self.set_status(f"Could not list sessions: {exc}")
            return
        self.fill(keep)

    def fill(self, keep: str | None) -> None:
        table = self.table
        table.clear()
        for record in self.sessions:
            table.add_row(
                plain(record.title or "(untitled)"),
                plain(session_state(record)),
                plain(record.harness),
                plain(short_time(record.updated_at)),
                key=record.id,
            )
        ids = [record.id for record in self.sessions]
        if keep in ids:
            table.move_cursor(row=ids.index(keep))
        self.show_selected()

    @property
    def selected(self) -> SessionRecord | None:
        if not self.sessions:
            return None
        row = self.table.cursor_row
        return self.sessions[row] if 0 <= row < len(self.sessions) else None

    def show_selected(self) -> None:
        details = self.query_one("#details", Static)
        record = self.selected
        if record is None:
            details.update(Text(EMPTY_MESSAGE))
        else:
            details.update(details_text(record))
        # Text, not str: a str label is parsed as markup and "[a]" would vanish.
        self.query_one("#attach", Button).label = Text(
            "[a] Rejoin" if record is not None and is_live(record) else "[a] View log"
        )

    def set_status(self, text: str) -> None:
        """Show ``text`` in the status line; ``status_text`` keeps it for callers and tests."""
        self.status_text = text
        self.query_one("#status", Static).update(plain(text))

    @on(DataTable.RowHighlighted)
    def highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self.show_selected()

    @on(Button.Pressed)
    async def pressed(self, event: Button.Pressed) -> None:
        if event.button.id:
            await self.run_action(event.button.id)

    # -- actions -----------------------------------------------------------------------------

    def action_attach(self) -> None:
        record = self.selected
        if record is None:
            self.set_status("No session selected.")
            return
        self.exit(BrowserResult("attach", record.id))

    def action_close(self) -> None:
        if not self.changes:
            message = NOTHING_CHANGED
        else:
            message = "Closed session browser. " + "; ".join(self.changes) + "."
        self.exit(BrowserResult(None, message=message))

    async def action_archive(self) -> None:
        record = self.selected
        if record is None:
            self.set_status("No session selected.")
            return
        if record.archived_at is not None:
            self.set_status("Session is already archived; nothing to do.")
            return
        if await self.call_daemon(lambda: self.client.archive(record.id)):
            self.done(f"Archived `{record.title}`", record.id)

    async def action_summon(self) -> None:
        record = self.selected
        if record is None:
            self.set_status("No session selected.")
            return
        if record.archived_at is None:
            self.set_status("Session is not archived; nothing to summon.")
            return
        if await self.call_daemon(lambda: self.client.summon(record.id)):
            self.done(f"Summoned `{record.title}` from the archive", record.id)

    def action_sacrifice(self) -> None:
        record = self.selected
        if record is None:
            self.set_status("No session selected.")
            return
        if is_live(record):
            self.set_status("Refused: do not sacrifice live work; kill it first with [k].")
            return

        async def confirmed(answer: bool | None) -> None:
            if not answer:
                self.set_status("Sacrifice cancelled. Nothing changed.")
                return
            if await self.call_daemon(lambda: self.client.sacrifice(record.id, confirm=record.id)):
                self.done(f"Sacrificed `{record.title}` and its events")

        self.push_screen(ConfirmSacrifice(record), confirmed)

    def action_kill(self) -> None:
        record = self.selected
        if record is None:
            self.set_status("No session selected.")
            return
        if not is_live(record):
            self.set_status(
                f"Refused: only live sessions can be killed (this one is {record.status})."
            )
            return

        async def confirmed(answer: bool | None) -> None:
            if not answer:
                self.set_status("Kill cancelled. Nothing changed.")
                return
            self.set_status(f"Killing `{record.title}`…")
            if await self.call_daemon(lambda: self.client.kill(record.id)):
                self.done(f"Killed `{record.title}`", record.id)

        self.push_screen(ConfirmKill(record), confirmed)

    # -- helpers -----------------------------------------------------------------------------

    async def call_daemon(self, call: Callable[[], object]) -> bool:
        """Run one client call; a refusal goes to the status line and answers ``False``.

        The call runs on a worker thread: a kill waits for the harness to exit
        (up to the daemon's grace period) and the screen must keep drawing.
        Keys wait meanwhile, because the app handles one message at a time.
        """
        try:
            await asyncio.to_thread(call)
        except CovenClientError as exc:
            self.set_status(f"Daemon refused: {exc}")
            return False
        return True

    def done(self, change: str, keep: str | None = None) -> None:
        self.changes.append(change)
        self.reload(keep)
        self.set_status(f"{change}.")
