"""The interactive session browser (``coven sessions --manage``), a textual app.

Import this module lazily: it is the only CLI module that loads textual.

Every action goes through the daemon API via the given ``CovenClient``; the
browser holds no state of its own beyond what the daemon last answered. A
daemon refusal or an unreachable daemon is shown in the status line, never as
a traceback. Attaching is not done here: **a** ends the app and hands the
session id back to the caller in a ``BrowserResult``.

Keys: **a** Rejoin (live) / View log (finished), **w** Watch (read-only
attach), **r** Archive, **s** Summon, **x** Sacrifice (type ``sacrifice`` to
confirm; refused for live sessions), **k** Kill (live only, confirm), **h**
show/hide archived sessions, **q**/Esc close. Up/Down or a mouse click select a
session; the action buttons are clickable too.

The list refreshes itself every ``REFRESH`` seconds (new, ended, killed and
archived sessions appear without a key press), and the selected session's last
lines of output are shown under its details (``OutputTail``).
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

from coven.cli.browser_model import (
    EMPTY_MESSAGE,
    OutputTail,
    details_text,
    fingerprint,
    is_live,
    listed,
    plain,
    session_state,
    short_time,
)
from coven.client import CovenClient, CovenClientError
from coven.schema.wire import SessionRecord

SACRIFICE_WORD = "sacrifice"
REFRESH = 0.5
NOTHING_CHANGED = "Closed session browser. Nothing changed."


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
    read_only: bool = False
    include_archived: bool = False


def run_browser(
    client: CovenClient,
    include_archived: bool,
    *,
    project: str | None = None,
    status: str = "",
    out: TextIO | None = None,
) -> BrowserResult:
    """Run the browser on the real terminal until the user attaches or closes it.

    With no sessions (or an unreachable daemon) the app is not started: the
    friendly message (or ``Error: ...`` with ``exit_code`` 1) is printed to
    ``out`` (default stdout) and returned. The closing message is printed too;
    for ``action == "attach"`` nothing is printed. ``project`` (canonical)
    keeps only that project's sessions; ``status`` starts the status line.
    """
    stream = sys.stdout if out is None else out
    try:
        sessions = listed(client, include_archived, project)
    except CovenClientError as exc:
        result = BrowserResult(None, message=f"Error: {exc}", exit_code=1)
    else:
        if not sessions:
            result = BrowserResult(None, message=EMPTY_MESSAGE)
        else:
            app = SessionBrowser(client, include_archived, sessions, project=project, status=status)
            result = app.run() or BrowserResult(None, message=NOTHING_CHANGED)
    if result.message:
        stream.write(result.message + "\n")
        stream.flush()
    return result


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
    """Session list, details and output of the selected one, action buttons, a status line."""

    TITLE = "Session browser"
    CSS = """
    #sessions { height: 1fr; }
    #details { height: auto; border: round $primary; padding: 0 1; }
    #preview { height: auto; max-height: 12; border: round $secondary; padding: 0 1; }
    #actions { height: auto; layout: grid; grid-size: 4; grid-gutter: 0 1; }
    #actions Button { width: 100%; min-width: 0; height: 1; border: none; padding: 0 1; }
    #status { height: auto; color: $warning; }
    ConfirmKill, ConfirmSacrifice { align: center middle; }
    #dialog { width: 70; height: auto; border: thick $error; padding: 1 2; background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "attach", "Rejoin / View log"),
        Binding("w", "watch", "Watch (read-only)"),
        Binding("r", "archive", "Archive"),
        Binding("s", "summon", "Summon"),
        Binding("x", "sacrifice", "Sacrifice"),
        Binding("k", "kill", "Kill"),
        Binding("h", "toggle_archived", "Show/hide archived"),
        Binding("q,escape", "close", "Close"),
    ]

    def __init__(
        self,
        client: CovenClient,
        include_archived: bool,
        sessions: list[SessionRecord] | None = None,
        *,
        project: str | None = None,
        status: str = "",
        refresh_every: float | None = REFRESH,
    ) -> None:
        super().__init__()
        self.client = client
        self.include_archived = include_archived
        self.project = project
        self.sessions: list[SessionRecord] = list(sessions or [])
        self.changes: list[str] = []
        self.status_text = status
        self.tail: OutputTail | None = None
        self.refresh_every = refresh_every
        self._loaded = sessions is not None
        self._refreshing = False
        self._refresh_error = ""

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("Session browser · select work, then choose an action. No IDs to copy.")
        table: DataTable[Text] = DataTable(id="sessions", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static(id="details")
        yield Static(id="preview")
        with Horizontal(id="actions"):
            yield Button(Text("[a] Rejoin"), id="attach")
            yield Button(Text("[w] Watch"), id="watch")
            yield Button(Text("[r] Archive"), id="archive")
            yield Button(Text("[s] Summon"), id="summon")
            yield Button(Text("[x] Sacrifice"), id="sacrifice")
            yield Button(Text("[k] Kill"), id="kill")
            yield Button(Text(self._archived_label()), id="toggle_archived")
            yield Button(Text("[q] Close"), id="close")
        yield Static(plain(self.status_text), id="status")

    def on_mount(self) -> None:
        table = self.table
        table.add_columns("Title", "State", "Harness", "Updated")
        if not self._loaded:
            self.reload()
        else:
            self.fill(None)
        table.focus()
        if self.refresh_every is not None:
            self.set_interval(self.refresh_every, self.refresh_live)

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#sessions", DataTable)

    def _archived_label(self) -> str:
        return "[h] Hide archived" if self.include_archived else "[h] Show archived"

    # -- data --------------------------------------------------------------------------------

    def reload(self, keep: str | None = None) -> None:
        """Ask the daemon for the list again and redraw, keeping ``keep`` selected if present."""
        try:
            self.sessions = listed(self.client, self.include_archived, self.project)
        except CovenClientError as exc:
            self.set_status(f"Could not list sessions: {exc}")
            return
        self.fill(keep)

    async def refresh_live(self) -> None:
        """One tick of the live view: the list (redrawn only if it changed) and the preview."""
        if self._refreshing:
            return
        self._refreshing = True
        try:
            try:
                fresh = await asyncio.to_thread(
                    listed, self.client, self.include_archived, self.project
                )
            except CovenClientError as exc:
                # Never over an action's own message: only into an empty line or our own.
                if self.status_text in ("", self._refresh_error):
                    self._refresh_error = f"Could not list sessions: {exc}"
                    self.set_status(self._refresh_error)
                return
            if self._refresh_error and self.status_text == self._refresh_error:
                self.set_status("")
            self._refresh_error = ""
            if fingerprint(fresh) != fingerprint(self.sessions):
                selected = self.selected
                self.sessions = fresh
                self.fill(selected.id if selected is not None else None)
            await self.refresh_preview()
        finally:
            self._refreshing = False
        self._refresh_error = ""

    async def refresh_preview(self) -> None:
        record = self.selected
        if record is None:
            self.tail = None
            self.query_one("#preview", Static).update("")
            return
        if self.tail is None or self.tail.session_id != record.id:
            self.tail = OutputTail(record.id)
        tail = self.tail
        try:
            await asyncio.to_thread(tail.fetch, self.client)
        except CovenClientError:
            return  # the session may just have been sacrificed; the next tick says so
        if self.tail is tail:
            self.show_preview()

    def show_preview(self) -> None:
        preview = self.query_one("#preview", Static)
        tail = self.tail
        if tail is None:
            preview.update("")
            return
        lines = tail.lines()
        if not lines:
            preview.update(Text("(no output yet)" if tail.caught_up else "(loading output…)"))
        else:
            preview.update(Text("\n").join(plain(line) for line in lines))

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
        if self.tail is not None and (record is None or self.tail.session_id != record.id):
            self.tail = None
            self.query_one("#preview", Static).update("")

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
        self.exit(BrowserResult("attach", record.id, include_archived=self.include_archived))

    def action_watch(self) -> None:
        record = self.selected
        if record is None:
            self.set_status("No session selected.")
            return
        self.exit(
            BrowserResult(
                "attach", record.id, read_only=True, include_archived=self.include_archived
            )
        )

    def action_toggle_archived(self) -> None:
        """Show or hide archived sessions in place, keeping the selection when it stays listed."""
        self.include_archived = not self.include_archived
        self.query_one("#toggle_archived", Button).label = Text(self._archived_label())
        selected = self.selected
        self.reload(selected.id if selected is not None else None)
        self.set_status(
            "Showing archived sessions too."
            if self.include_archived
            else "Hiding archived sessions."
        )

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
