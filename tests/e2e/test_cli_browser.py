"""The session browser, driven headless (textual ``run_test``) against a real daemon.

The daemon runs as its own process on a private home, with the fake harnesses
of ``tests/fakes/bin`` first on PATH: a fake ``codex`` in echo mode stays live
until it reads ``exit``.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from coven.cli.browser import (
    EMPTY_MESSAGE,
    NOTHING_CHANGED,
    BrowserResult,
    SessionBrowser,
    run_browser,
)
from coven.cli.browser_model import visible_lines
from coven.client import CovenClient, SessionNotFound
from coven.schema.wire import SessionRecord
from tests.support.daemon import Daemon as ServedDaemon
from tests.support.daemon import running_daemon

SIZE = (120, 40)


@dataclass
class Daemon:
    served: ServedDaemon
    client: CovenClient
    project: Path

    @property
    def home(self) -> Path:
        return self.served.home

    def stop(self) -> None:
        self.served.stop()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    with running_daemon(tmp_path) as served:
        yield Daemon(served, CovenClient.from_home(served.home, timeout=10.0), tmp_path / "project")


def wait_for(
    client: CovenClient, session_id: str, done: Callable[[SessionRecord], bool]
) -> SessionRecord:
    deadline = time.monotonic() + 10
    while True:
        record = client.get_session(session_id)
        if done(record):
            return record
        assert time.monotonic() < deadline, f"session stuck: {record}"
        time.sleep(0.05)


def launch_live(daemon: Daemon, title: str) -> SessionRecord:
    return daemon.client.launch(daemon.project, "codex", "hello", title=title)


def launch_finished(daemon: Daemon, title: str) -> SessionRecord:
    record = launch_live(daemon, title)
    daemon.client.send_input(record.id, "exit\n")
    return wait_for(daemon.client, record.id, lambda r: r.status != "running")


@pytest.fixture
def two_sessions(daemon: Daemon) -> tuple[SessionRecord, SessionRecord]:
    """(live, finished); listed newest first, so the live one is row 0."""
    finished = launch_finished(daemon, "done one")
    live = launch_live(daemon, "live one")
    return live, finished


def browser(daemon: Daemon, include_archived: bool = False) -> SessionBrowser:
    return SessionBrowser(daemon.client, include_archived)


def details(app: SessionBrowser) -> str:
    return str(app.query_one("#details").render())


def row_ids(app: SessionBrowser) -> list[str]:
    return [record.id for record in app.sessions]


# ----------------------------------------------------------------------------- listing


async def test_lists_sessions_with_title_state_harness_and_details(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    live, finished = two_sessions
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        table = app.table
        assert row_ids(app) == [live.id, finished.id]
        assert [str(cell) for cell in table.get_row_at(0)[:3]] == ["live one", "running", "codex"]
        assert [str(cell) for cell in table.get_row_at(1)[:2]] == ["done one", "completed"]
        assert live.id in details(app)
        await pilot.press("down")
        assert finished.id in details(app)
        assert "Exit code 0" in details(app)
        await pilot.press("up")
        assert live.id in details(app)


async def test_empty_store_shows_a_friendly_message(daemon: Daemon) -> None:
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "No Coven sessions to manage yet." in details(app)
        await pilot.press("a")
        assert app.status_text == "No session selected."
        for key in "rsxk":
            await pilot.press(key)
            assert app.status_text == "No session selected."


def test_run_browser_on_an_empty_store_prints_and_skips_the_app(daemon: Daemon) -> None:
    out = io.StringIO()
    result = run_browser(daemon.client, include_archived=True, out=out)
    assert result == BrowserResult(None, message=EMPTY_MESSAGE)
    assert out.getvalue() == EMPTY_MESSAGE + "\n"


def test_run_browser_without_a_daemon_is_an_error_not_a_traceback(daemon: Daemon) -> None:
    daemon.stop()
    out = io.StringIO()
    result = run_browser(CovenClient.from_home(daemon.home), include_archived=False, out=out)
    assert result.exit_code == 1
    assert result.action is None
    assert out.getvalue().startswith("Error: the Coven daemon is not running")


# ----------------------------------------------------------------------------- a: attach


async def test_a_on_a_live_session_asks_the_caller_to_rejoin(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    live, _ = two_sessions
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        assert str(app.query_one("#attach").label) == "[a] Rejoin"
        await pilot.press("a")
    assert app.return_value == BrowserResult("attach", live.id)


async def test_a_on_a_finished_session_asks_the_caller_to_view_the_log(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    _, finished = two_sessions
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down")
        assert str(app.query_one("#attach").label) == "[a] View log"
        await pilot.press("a")
    assert app.return_value == BrowserResult("attach", finished.id)


# ----------------------------------------------------------------------------- r / s


async def test_r_archives_a_finished_session_through_the_daemon(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    live, finished = two_sessions
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "r")
        assert app.status_text == "Archived `done one`."
        assert row_ids(app) == [live.id]  # archived rows leave the active list
        await pilot.press("q")
    assert daemon.client.get_session(finished.id).archived_at is not None
    assert app.return_value == BrowserResult(
        None, message="Closed session browser. Archived `done one`."
    )


async def test_r_on_a_live_session_shows_the_daemon_refusal(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    live, _ = two_sessions
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        assert app.status_text.startswith("Daemon refused: ")
        assert "still running" in app.status_text
        await pilot.press("q")
    assert daemon.client.get_session(live.id).archived_at is None
    assert app.return_value == BrowserResult(None, message=NOTHING_CHANGED)


async def test_s_summons_an_archived_session(daemon: Daemon) -> None:
    finished = launch_finished(daemon, "old work")
    daemon.client.archive(finished.id)
    app = browser(daemon, include_archived=True)
    async with app.run_test(size=SIZE) as pilot:
        assert str(app.table.get_row_at(0)[1]) == "completed · archived"
        await pilot.press("r")
        assert app.status_text == "Session is already archived; nothing to do."
        await pilot.press("s")
        assert app.status_text == "Summoned `old work` from the archive."
        assert str(app.table.get_row_at(0)[1]) == "completed"
        await pilot.press("s")
        assert app.status_text == "Session is not archived; nothing to summon."
    assert daemon.client.get_session(finished.id).archived_at is None


# ----------------------------------------------------------------------------- x: sacrifice


async def test_x_refuses_a_live_session_without_asking(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    live, _ = two_sessions
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        assert app.screen is app.screen_stack[0]  # no dialog was opened
        assert app.status_text.startswith("Refused: do not sacrifice live work")
    assert daemon.client.get_session(live.id).status == "running"


async def test_x_deletes_after_typing_sacrifice(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    live, finished = two_sessions
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "x")
        assert type(app.screen).__name__ == "ConfirmSacrifice"
        await pilot.press(*"sacrifice", "enter")
        await pilot.pause()
        assert app.status_text == "Sacrificed `done one` and its events."
        assert row_ids(app) == [live.id]
    with pytest.raises(SessionNotFound):
        daemon.client.get_session(finished.id)


@pytest.mark.parametrize("typed", ["", "Sacrifice", "sacrific", "sacrifice "])
async def test_x_with_anything_but_the_exact_word_changes_nothing(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord], typed: str
) -> None:
    _, finished = two_sessions
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "x")
        if typed:
            await pilot.press(*["space" if ch == " " else ch for ch in typed])
        await pilot.press("enter")
        await pilot.pause()
        assert app.status_text == "Sacrifice cancelled. Nothing changed."
        await pilot.press("q")
    assert daemon.client.get_session(finished.id).status == "completed"
    assert app.return_value == BrowserResult(None, message=NOTHING_CHANGED)


async def test_x_escape_cancels_the_dialog(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    _, finished = two_sessions
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "x", "escape")
        await pilot.pause()
        assert app.status_text == "Sacrifice cancelled. Nothing changed."
        assert app.return_value is None  # Esc closed the dialog, not the browser
    assert daemon.client.get_session(finished.id).status == "completed"


# ----------------------------------------------------------------------------- k: kill


async def test_k_kills_a_live_session_after_confirmation(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    live, _ = two_sessions
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("k")
        assert type(app.screen).__name__ == "ConfirmKill"
        await pilot.press("y")
        await pilot.pause()
        assert app.status_text == "Killed `live one`."
        assert str(app.table.get_row_at(0)[1]) == "killed"
    assert daemon.client.get_session(live.id).status == "killed"


async def test_k_answered_no_keeps_the_session(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    live, _ = two_sessions
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("k", "n")
        await pilot.pause()
        assert app.status_text == "Kill cancelled. Nothing changed."
    assert daemon.client.get_session(live.id).status == "running"


async def test_k_refuses_a_finished_session(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    _, finished = two_sessions
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "k")
        assert app.screen is app.screen_stack[0]
        assert app.status_text == (
            "Refused: only live sessions can be killed (this one is completed)."
        )
    assert daemon.client.get_session(finished.id).status == "completed"


# ----------------------------------------------------------------------------- q / Esc


@pytest.mark.parametrize("key", ["q", "escape"])
async def test_q_and_escape_close_with_nothing_changed(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord], key: str
) -> None:
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(key)
    assert app.return_value == BrowserResult(None, message=NOTHING_CHANGED)


# ----------------------------------------------------------------------------- mouse


async def test_clicking_a_row_selects_it_and_clicking_an_action_runs_it(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    live, finished = two_sessions
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#sessions", offset=(3, 2))  # header is line 0, rows start at 1
        assert app.selected is not None and app.selected.id == finished.id
        assert finished.id in details(app)
        await pilot.click("#archive")
        await pilot.pause()
        assert app.status_text == "Archived `done one`."
        await pilot.click("#sessions", offset=(3, 1))
        await pilot.click("#attach")
    assert daemon.client.get_session(finished.id).archived_at is not None
    assert app.return_value == BrowserResult("attach", live.id)


async def test_clicking_close_closes(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.click("#close")
    assert app.return_value == BrowserResult(None, message=NOTHING_CHANGED)


# ----------------------------------------------------------------------------- daemon errors


async def test_a_vanished_daemon_is_reported_in_the_status_line(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down")
        daemon.stop()
        await pilot.press("r")
        assert app.status_text.startswith("Daemon refused: the Coven daemon is not running")
        await pilot.press("q")
    assert app.return_value == BrowserResult(None, message=NOTHING_CHANGED)


async def test_titles_cannot_inject_markup(daemon: Daemon) -> None:
    record = launch_finished(daemon, "[bold red]x[/] \x1b[2J")
    app = browser(daemon)
    async with app.run_test(size=SIZE):
        title = app.table.get_row_at(0)[0]
        assert str(title).startswith("[bold red]x[/]")
        assert "\x1b" not in str(title)
        assert record.id in details(app)


# ----------------------------------------------------------------------------- live view


async def wait_until(pilot: object, check: Callable[[], bool], what: str, limit: float) -> float:
    """Let the app run until ``check()``; answer how long it took (fails after ``limit`` s)."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < limit, f"not within {limit} s: {what}"
        await pilot.pause(0.05)  # type: ignore[attr-defined]
    return time.monotonic() - start


async def test_the_list_refreshes_itself_within_a_second(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    live, _ = two_sessions
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        newer = launch_live(daemon, "newer one")
        await wait_until(pilot, lambda: row_ids(app)[:1] == [newer.id], "the new session", 1.5)
        assert app.selected is not None and app.selected.id == live.id  # selection kept
        daemon.client.kill(newer.id)
        await wait_until(
            pilot,
            lambda: str(app.table.get_row_at(0)[1]) == "killed",
            "the killed status",
            1.5 + 5,  # the kill itself waits for the harness to go
        )
        daemon.client.send_input(live.id, "exit\n")
        await wait_until(
            pilot, lambda: str(app.table.get_row_at(1)[1]) == "completed", "the ended one", 3
        )
        assert str(app.query_one("#attach").label) == "[a] View log"
        await pilot.press("q")


async def test_the_selected_sessions_last_lines_of_output_are_shown(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    live, _ = two_sessions
    app = browser(daemon)

    def preview() -> str:
        return str(app.query_one("#preview").render())

    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "ready" in preview(), "the preview", 3)
        daemon.client.send_input(live.id, "\x1b[31mcoloured\x1b[0m line\n")
        await wait_until(pilot, lambda: "echo: coloured line" in preview(), "new output", 3)
        assert "\x1b" not in preview()
        await pilot.press("down")
        await wait_until(pilot, lambda: "echo: coloured" not in preview(), "the switch", 3)
        await pilot.press("q")


async def test_h_shows_and_hides_archived_sessions_in_place(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    live, finished = two_sessions
    daemon.client.archive(finished.id)
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        assert row_ids(app) == [live.id]
        await pilot.press("h")
        assert row_ids(app) == [live.id, finished.id]
        assert str(app.table.get_row_at(1)[1]) == "completed · archived"
        assert app.status_text == "Showing archived sessions too."
        assert str(app.query_one("#toggle_archived").label) == "[h] Hide archived"
        await pilot.press("down", "h")
        assert row_ids(app) == [live.id]
        await pilot.press("h", "a")
    assert app.return_value == BrowserResult("attach", live.id, include_archived=True)


async def test_w_watches_read_only(
    daemon: Daemon, two_sessions: tuple[SessionRecord, SessionRecord]
) -> None:
    live, _ = two_sessions
    app = browser(daemon)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
    assert app.return_value == BrowserResult("attach", live.id, read_only=True)


def test_visible_lines_strip_escapes_and_keep_the_last_state_of_a_line() -> None:
    text = "one\r\n\x1b[1mtwo\x1b[0m\r\nprogress 10%\rprogress 99%\r\n\x1b]0;title\x07\n\nlast"
    assert visible_lines(text, 3) == ["two", "progress 99%", "last"]
    assert visible_lines("", 3) == []
