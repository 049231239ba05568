"""The cockpit in a real headless Chromium, against a real cockpit server and daemon.

Each test drives the page as a person would (clicks, keys, a narrow window) and
checks the result where it lands: in the terminal's buffer and in the daemon.
Screenshots of the main views go to ``tmp/artifacts/cockpit/`` (not committed).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.support.cockpit import (
    Cockpit,
    headless_chromium,
    running_cockpit,
    screenshot,
    wait_pane,
)
from tests.support.daemon import Daemon, running_daemon

WAIT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with headless_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, Cockpit]]:
    with (
        running_daemon(tmp_path_factory.mktemp("cockpit-browser")) as daemon,
        running_cockpit(daemon) as cockpit,
    ):
        yield daemon, cockpit


@pytest.fixture
def daemon(stack: tuple[Daemon, Cockpit]) -> Daemon:
    return stack[0]


@pytest.fixture
def cockpit(stack: tuple[Daemon, Cockpit]) -> Cockpit:
    return stack[1]


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


def open_page(
    browser: Browser,
    cockpit: Cockpit,
    contexts: list[BrowserContext],
    *,
    width: int = 1400,
    height: int = 900,
    notifications: bool = False,
) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height})
    contexts.append(context)
    if notifications:
        context.grant_permissions(["notifications"], origin=cockpit.origin)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(cockpit.url)
    page.wait_for_selector("body[data-ready]", timeout=WAIT_MS)
    assert errors == []
    return page


def row(page: Page, session_id: str) -> Any:
    return page.locator(f'.row[data-session="{session_id}"]')


def wait_row(page: Page, session_id: str) -> Any:
    locator = row(page, session_id)
    locator.wait_for(timeout=WAIT_MS)
    return locator


def record(daemon: Daemon, session_id: str) -> dict[str, Any]:
    reply = daemon.call("GET", f"/api/v1/sessions/{session_id}")
    assert reply.status == 200, reply.body
    doc: dict[str, Any] = reply.json()
    return doc


def activity(cockpit: Cockpit) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = cockpit.http("GET", "/cockpit/context").json()["activity"]
    return entries


def test_the_token_becomes_an_httponly_cookie_and_leaves_the_address_bar(
    browser: Browser, cockpit: Cockpit, contexts: list[BrowserContext]
) -> None:
    page = open_page(browser, cockpit, contexts)
    assert page.url == f"{cockpit.origin}/"
    # Without hosts.toml the list is the plain one: no per-machine sections.
    assert page.locator(".machine, .hosts-error").count() == 0
    (cookie,) = page.context.cookies()
    assert cookie["name"] == f"coven-cockpit-{cockpit.port}"
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # page scripts cannot read the token
    page.reload()
    page.wait_for_selector("body[data-ready]", timeout=WAIT_MS)
    stranger = browser.new_context()
    contexts.append(stranger)
    refused = stranger.new_page().goto(f"{cockpit.origin}/")
    assert refused is not None and refused.status == 401


def test_launch_from_the_form_then_type_into_the_terminal_and_see_the_echo(
    browser: Browser, cockpit: Cockpit, daemon: Daemon, contexts: list[BrowserContext]
) -> None:
    page = open_page(browser, cockpit, contexts)
    page.keyboard.press("n")
    assert page.evaluate("document.activeElement.id") == "launch-harness"
    page.select_option("#launch-harness", "codex")
    page.fill("#launch-title", "launched from the browser")
    page.fill("#launch-prompt", "hello from the cockpit")
    screenshot(page, "launch-form")
    page.click("#launch-submit")
    pane = page.locator(".pane").filter(has_text="launched from the browser")
    pane.wait_for(timeout=WAIT_MS)
    session_id = pane.get_attribute("data-session")
    assert session_id
    wait_pane(page, session_id, "ready", WAIT_MS)
    assert record(daemon, session_id)["title"] == "launched from the browser"
    page.keyboard.type("typed in chromium")
    page.keyboard.press("Enter")
    wait_pane(page, session_id, "echo: typed in chromium", WAIT_MS)
    daemon.wait_output(session_id, "echo: typed in chromium")
    screenshot(page, "terminal")
    operations = [(e["operation"], e["sessionId"], e["outcome"]) for e in activity(cockpit)]
    assert ("launch", None, "ok") in operations
    assert ("attach", session_id, "ok") in operations
    daemon.call("POST", f"/api/v1/sessions/{session_id}/kill")


def test_a_launch_the_daemon_refuses_shows_its_reason(
    browser: Browser, cockpit: Cockpit, contexts: list[BrowserContext]
) -> None:
    page = open_page(browser, cockpit, contexts)
    page.click("#tab-launch")
    page.fill("#launch-root", "/")
    page.fill("#launch-prompt", "x")
    page.click("#launch-submit")
    error = page.locator("#launch-error")
    error.filter(has_text="Launch refused").wait_for(timeout=WAIT_MS)
    assert "invalid_request" in error.inner_text()
    assert page.locator(".pane").count() == 0


def test_resizing_the_window_resizes_the_session_terminal(
    browser: Browser, cockpit: Cockpit, daemon: Daemon, contexts: list[BrowserContext]
) -> None:
    session_id = daemon.launch("--fake-mode=winch", title="resize me")["id"]
    page = open_page(browser, cockpit, contexts, width=1400, height=900)
    wait_row(page, session_id).locator("button[data-act=open]").click()
    wait_pane(page, session_id, "ready", WAIT_MS)
    size = page.evaluate(
        "id => [window.__cockpit.terminal(id).rows, window.__cockpit.terminal(id).cols]", session_id
    )
    wait_pane(page, session_id, f"winch: {size[0]} {size[1]}", WAIT_MS)
    page.set_viewport_size({"width": 1000, "height": 600})
    page.wait_for_function(
        "([id, cols]) => window.__cockpit.terminal(id).cols < cols",
        arg=[session_id, size[1]],
        timeout=WAIT_MS,
    )
    smaller = page.evaluate(
        "id => [window.__cockpit.terminal(id).rows, window.__cockpit.terminal(id).cols]", session_id
    )
    wait_pane(page, session_id, f"winch: {smaller[0]} {smaller[1]}", WAIT_MS)
    daemon.wait_output(session_id, f"winch: {smaller[0]} {smaller[1]}")
    daemon.call("POST", f"/api/v1/sessions/{session_id}/kill")


def test_panes_side_by_side_and_two_browsers_on_one_session(
    browser: Browser, cockpit: Cockpit, daemon: Daemon, contexts: list[BrowserContext]
) -> None:
    first = daemon.launch(title="left pane")["id"]
    second = daemon.launch(title="right pane")["id"]
    page = open_page(browser, cockpit, contexts, width=1600)
    for session_id in (first, second):
        wait_row(page, session_id).locator("button[data-act=open]").click()
        wait_pane(page, session_id, "ready", WAIT_MS)
    left = page.locator(f'.pane[data-session="{first}"]').bounding_box()
    right = page.locator(f'.pane[data-session="{second}"]').bounding_box()
    assert left and right and left["x"] + left["width"] <= right["x"] + 1
    assert abs(left["y"] - right["y"]) < 2
    other = open_page(browser, cockpit, contexts)
    wait_row(other, first).locator("button[data-act=open]").click()
    wait_pane(other, first, "ready", WAIT_MS)
    page.locator(f'.pane[data-session="{first}"] .xterm').click()
    page.keyboard.type("seen by both")
    page.keyboard.press("Enter")
    wait_pane(page, first, "echo: seen by both", WAIT_MS)
    wait_pane(other, first, "echo: seen by both", WAIT_MS)
    screenshot(page, "two-panes")
    for session_id in (first, second):
        daemon.call("POST", f"/api/v1/sessions/{session_id}/kill")


def test_kill_asks_first_and_cancel_keeps_the_session(
    browser: Browser, cockpit: Cockpit, daemon: Daemon, contexts: list[BrowserContext]
) -> None:
    session_id = daemon.launch(title="kill me")["id"]
    page = open_page(browser, cockpit, contexts)
    wait_row(page, session_id).locator("button[data-act=kill]").click()
    dialog = page.locator("dialog[open]")
    dialog.wait_for(timeout=WAIT_MS)
    assert session_id in dialog.inner_text()
    assert page.evaluate("document.activeElement.value") == "cancel"  # Enter must not kill
    screenshot(page, "kill-dialog")
    page.keyboard.press("Enter")
    dialog.wait_for(state="detached", timeout=WAIT_MS)
    time.sleep(0.3)
    assert record(daemon, session_id)["status"] == "running"
    row(page, session_id).locator("button[data-act=kill]").click()
    page.locator("dialog[open] button.danger").click()
    daemon.wait_status(session_id, {"killed"})
    row(page, session_id).locator(".status.s-killed").wait_for(timeout=WAIT_MS)
    kills = [e for e in activity(cockpit) if e["operation"] == "kill"]
    assert [(e["sessionId"], e["outcome"]) for e in kills] == [(session_id, "ok")]


def test_sacrifice_needs_the_full_session_id_typed(
    browser: Browser, cockpit: Cockpit, daemon: Daemon, contexts: list[BrowserContext]
) -> None:
    session_id = daemon.launch("--fake-mode=exit", title="sacrifice me")["id"]
    daemon.wait_status(session_id, {"completed"})
    page = open_page(browser, cockpit, contexts)
    wait_row(page, session_id).locator("button[data-act=sacrifice]").click()
    confirm = page.locator("dialog[open] button.danger")
    field = page.locator("dialog[open] input[name=confirm-id]")
    assert confirm.is_disabled()
    field.fill(session_id[:8])
    assert confirm.is_disabled()
    field.fill(session_id.upper())
    assert confirm.is_disabled()
    field.fill(session_id)
    screenshot(page, "sacrifice-dialog")
    assert confirm.is_enabled()
    field.press("Enter")
    row(page, session_id).wait_for(state="detached", timeout=WAIT_MS)
    assert daemon.call("GET", f"/api/v1/sessions/{session_id}").status == 404


def test_a_finished_session_shows_its_log_and_how_it_ended(
    browser: Browser, cockpit: Cockpit, daemon: Daemon, contexts: list[BrowserContext]
) -> None:
    session_id = daemon.launch("--fake-mode=drawn", title="already done")["id"]
    daemon.wait_status(session_id, {"completed"})
    page = open_page(browser, cockpit, contexts)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    wait_row(page, session_id).locator("button[data-act=open]").click()
    # Its final screen, drawn by cursor moves, as the daemon's terminal model shows it ...
    wait_pane(page, session_id, "Welcome to Fake Code", WAIT_MS)
    # ... fetched as a screen, not by replaying its whole output through an attach.
    assert not [url for url in sockets if session_id in url], sockets
    pane = page.locator(f'.pane[data-session="{session_id}"]')
    pane.locator(".pane-banner").filter(has_text="Session ended: completed").wait_for(
        timeout=WAIT_MS
    )
    expect(pane.locator(".status")).to_have_text("completed", timeout=WAIT_MS)


def test_a_narrow_window_stacks_the_list_above_the_terminals(
    browser: Browser, cockpit: Cockpit, daemon: Daemon, contexts: list[BrowserContext]
) -> None:
    session_id = daemon.launch(title="narrow")["id"]
    page = open_page(browser, cockpit, contexts, width=700, height=900)
    wait_row(page, session_id).locator("button[data-act=open]").click()
    wait_pane(page, session_id, "ready", WAIT_MS)
    side = page.locator("#side").bounding_box()
    pane = page.locator(f'.pane[data-session="{session_id}"]').bounding_box()
    assert side and pane
    assert side["y"] + side["height"] <= pane["y"] + 1
    assert pane["width"] > 600
    assert page.evaluate("document.documentElement.scrollWidth") <= 700
    assert page.locator(f'.row[data-session="{session_id}"] button[data-act=kill]').is_visible()
    screenshot(page, "narrow")
    daemon.call("POST", f"/api/v1/sessions/{session_id}/kill")


def test_everything_works_from_the_keyboard_alone(
    browser: Browser, cockpit: Cockpit, daemon: Daemon, contexts: list[BrowserContext]
) -> None:
    session_id = daemon.launch(title="keyboard target")["id"]
    page = open_page(browser, cockpit, contexts)
    wait_row(page, session_id)
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "session-search"
    page.keyboard.type("keyboard target")
    for _ in range(3):  # status filter, archived toggle, then the list
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.session") == session_id
    page.keyboard.press("Enter")
    wait_pane(page, session_id, "ready", WAIT_MS)
    assert page.evaluate("!!document.activeElement.closest('.xterm')")
    page.keyboard.type("no mouse")
    page.keyboard.press("Enter")
    wait_pane(page, session_id, "echo: no mouse", WAIT_MS)
    page.keyboard.press("Control+]")
    assert page.evaluate("document.activeElement.dataset.session") == session_id
    page.keyboard.press("e")
    page.locator("#diag-events").wait_for(timeout=WAIT_MS)
    page.keyboard.press("s")
    assert page.evaluate("document.activeElement.dataset.session") == session_id
    page.keyboard.press("k")
    page.locator("dialog[open]").wait_for(timeout=WAIT_MS)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    daemon.wait_status(session_id, {"killed"})


def test_sessions_are_grouped_by_project_live_first_with_search_and_archived_toggle(
    browser: Browser,
    cockpit: Cockpit,
    daemon: Daemon,
    contexts: list[BrowserContext],
    tmp_path: Path,
) -> None:
    other_root = tmp_path / "other-project"
    other_root.mkdir()
    done = daemon.launch("--fake-mode=exit", title="grouping done")["id"]
    daemon.wait_status(done, {"completed"})
    live = daemon.launch(title="grouping live")["id"]
    elsewhere = daemon.launch(title="grouping elsewhere", projectRoot=str(other_root))["id"]
    hidden = daemon.launch("--fake-mode=exit", title="grouping archived")["id"]
    daemon.wait_status(hidden, {"completed"})
    assert daemon.call("POST", f"/api/v1/sessions/{hidden}/archive").status == 200
    page = open_page(browser, cockpit, contexts)
    page.fill("#session-search", "grouping")
    wait_row(page, elsewhere)
    order = page.eval_on_selector_all(".row", "rows => rows.map(r => r.dataset.session)")
    assert order.index(live) < order.index(done)
    groups = page.eval_on_selector_all(".group h3", "hs => hs.map(h => h.title)")
    assert str(other_root) in groups and daemon.env["COVEN_TEST_PROJECT"] in groups
    assert row(page, hidden).count() == 0
    page.check("#session-archived")
    wait_row(page, hidden)
    # The list is rebuilt on every poll, so read the row with Playwright's retrying check.
    expect(row(page, hidden)).to_contain_text("Summon", timeout=WAIT_MS)
    page.fill("#session-search", "elsewhere")
    page.wait_for_function("() => document.querySelectorAll('.row').length === 1", timeout=WAIT_MS)
    page.fill("#session-search", "grouping")
    page.uncheck("#session-archived")
    screenshot(page, "sessions")
    for session_id in (live, elsewhere):
        daemon.call("POST", f"/api/v1/sessions/{session_id}/kill")


def test_the_list_refreshes_by_itself(
    browser: Browser, cockpit: Cockpit, daemon: Daemon, contexts: list[BrowserContext]
) -> None:
    page = open_page(browser, cockpit, contexts)
    session_id = daemon.launch(title="appears later")["id"]
    wait_row(page, session_id)
    daemon.call("POST", f"/api/v1/sessions/{session_id}/kill")
    row(page, session_id).locator(".status.s-killed").wait_for(timeout=WAIT_MS)


def test_diagnostics_show_health_store_and_a_sessions_events(
    browser: Browser, cockpit: Cockpit, daemon: Daemon, contexts: list[BrowserContext]
) -> None:
    session_id = daemon.launch("--fake-mode=exit", title="diagnose me")["id"]
    daemon.wait_status(session_id, {"completed"})
    page = open_page(browser, cockpit, contexts)
    wait_row(page, session_id).focus()
    page.keyboard.press("e")
    events = page.locator("#diag-events")
    events.wait_for(timeout=WAIT_MS)
    page.locator("#diag-events td", has_text="exit").first.wait_for(timeout=WAIT_MS)
    daemon_facts = page.locator("#diag-daemon").inner_text()
    assert "coven.daemon.v1" in daemon_facts
    assert "write-ahead log" in daemon_facts
    features = cockpit.http("GET", "/cockpit/context").json()["features"]
    assert features["changes"] and features["review"] and "review" in daemon_facts
    # Features this daemon lacks (if any is left) are named as such, not hidden.
    lacking = [name for name, on in features.items() if not on]
    assert ("not available on this daemon" in daemon_facts) == bool(lacking), lacking
    expect(page.locator("#diag-session")).to_contain_text(
        "Exit: completed, exit code 0", timeout=WAIT_MS
    )
    screenshot(page, "diagnostics")


def test_a_notification_when_a_session_finishes_after_opting_in(
    browser: Browser, cockpit: Cockpit, daemon: Daemon, contexts: list[BrowserContext]
) -> None:
    page = open_page(browser, cockpit, contexts, notifications=True)
    page.evaluate(
        """() => {
          window.__shown = [];
          const Real = window.Notification;
          window.Notification = class extends Real {
            constructor(title, options) { super(title, options); window.__shown.push(title + ' | ' + options.body); }
          };
        }"""
    )
    page.click("#notify-toggle")
    page.locator("#notify-toggle", has_text="Notifications on").wait_for(timeout=WAIT_MS)
    session_id = daemon.launch(title="tell me when done")["id"]
    wait_row(page, session_id)
    daemon.call("POST", f"/api/v1/sessions/{session_id}/kill")
    page.wait_for_function("() => window.__shown.length > 0", timeout=WAIT_MS)
    (shown,) = page.evaluate("window.__shown")
    assert shown.startswith("Session killed | tell me when done — codex")


def test_launching_for_a_familiar_picks_its_harness_and_shows_it_on_the_row(
    browser: Browser, cockpit: Cockpit, daemon: Daemon, contexts: list[BrowserContext]
) -> None:
    familiar = {
        "id": "sage",
        "display_name": "Sage",
        "role": "reviewer",
        "description": "reads diffs",
        "harness": "claude",
    }
    assert daemon.call("POST", "/api/v1/familiars", familiar).status == 201
    page = open_page(browser, cockpit, contexts)
    page.click("#tab-launch")
    page.locator('#launch-familiar option[value="sage"]').wait_for(
        state="attached", timeout=WAIT_MS
    )
    assert page.input_value("#launch-harness") == "codex"  # the first available one
    page.select_option("#launch-familiar", "sage")
    assert page.input_value("#launch-harness") == "claude"  # the familiar's own
    page.fill("#launch-title", "for sage")
    page.fill("#launch-prompt", "--fake-mode=exit")
    page.uncheck("#launch-open")
    page.click("#launch-submit")
    launched = page.locator(".row", has_text="for sage")
    launched.wait_for(timeout=WAIT_MS)
    expect(launched.locator(".familiar")).to_have_text("sage", timeout=WAIT_MS)
    session_id = launched.get_attribute("data-session")
    record_ = record(daemon, str(session_id))
    assert (record_["familiar_id"], record_["harness"]) == ("sage", "claude")


def test_a_session_asking_a_question_is_shown_waiting_until_answered(
    browser: Browser, cockpit: Cockpit, daemon: Daemon, contexts: list[BrowserContext]
) -> None:
    session_id = daemon.launch("--fake-mode=ask", title="asks first")["id"]
    page = open_page(browser, cockpit, contexts)
    waiting = wait_row(page, session_id).locator(".attention")
    expect(waiting).to_contain_text("Apply this edit to app.py? (y/n)", timeout=WAIT_MS)
    expect(row(page, session_id)).to_have_class(re.compile(r"\bwaiting\b"))
    screenshot(page, "attention-waiting")
    assert (
        daemon.call("POST", f"/api/v1/sessions/{session_id}/input", {"data": "y\n"}).status == 202
    )
    expect(row(page, session_id)).not_to_have_class(re.compile(r"\bwaiting\b"), timeout=WAIT_MS)
    daemon.call("POST", f"/api/v1/sessions/{session_id}/kill")
