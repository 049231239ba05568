"""The cockpit's terminal rides out a daemon restart, in a real headless Chromium.

Like ``coven attach``: the pane waits for the next daemon, shows what it missed
(output written while no daemon ran included) once, attaches again after the last
seq it knew, writes one line saying the daemon restarted, and what was typed while
it waited reaches the harness.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.support.cockpit import (
    headless_chromium,
    running_cockpit,
    screenshot,
    wait_pane,
)
from tests.support.daemon import Daemon, running_daemon

pytestmark = pytest.mark.timeout(120)

WAIT_MS = 20_000
NOTICE = "the daemon restarted; still attached"


@pytest.fixture
def browser() -> Iterator[Browser]:
    with headless_chromium() as chromium:
        yield chromium


def _inputs(daemon: Daemon, session_id: str) -> str:
    return "".join(
        json.loads(e["payload_json"])["data"]
        for e in daemon.events(session_id)
        if e["kind"] == "input"
    )


def test_the_terminal_pane_reconnects_after_a_daemon_restart(
    browser: Browser, tmp_path: Path
) -> None:
    with running_daemon(tmp_path) as daemon, running_cockpit(daemon) as cockpit:
        sid = daemon.launch("--fake-mode=echo", title="outlives the daemon")["id"]
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(cockpit.url)
        page.wait_for_selector("body[data-ready]", timeout=WAIT_MS)
        page.locator(f'.row[data-session="{sid}"] button[data-act=open]').click(timeout=WAIT_MS)
        wait_pane(page, sid, "ready", WAIT_MS)
        pane = page.locator(f'.pane[data-session="{sid}"]')
        pane.locator(".xterm").click()
        page.keyboard.type("before")
        page.keyboard.press("Enter")
        wait_pane(page, sid, "echo: before", WAIT_MS)
        # Output the harness writes while no daemon runs (its holder keeps it).
        page.keyboard.type("later 1 while away")
        page.keyboard.press("Enter")
        wait_pane(page, sid, "echo: later 1 while away", WAIT_MS)
        started = time.monotonic()
        daemon.stop_keeping_sessions()
        banner = pane.locator(".pane-banner")
        banner.wait_for(state="visible", timeout=WAIT_MS)
        assert "went away" in banner.inner_text()
        # Typed while the pane waits for the next daemon: kept, sent on reattaching.
        page.keyboard.type("typed meanwhile")
        page.keyboard.press("Enter")
        time.sleep(max(0.0, 1.5 - (time.monotonic() - started)))
        daemon.start()
        text = wait_pane(page, sid, NOTICE, WAIT_MS)
        resumed = time.monotonic() - started
        text = wait_pane(page, sid, "echo: typed meanwhile", WAIT_MS)
        banner.wait_for(state="hidden", timeout=WAIT_MS)
        page.keyboard.type("after")
        page.keyboard.press("Enter")
        text = wait_pane(page, sid, "echo: after", WAIT_MS)
        # The session list and the daemon pill come back too, not only the pane.
        page.locator(f'.row[data-session="{sid}"]').wait_for(state="visible", timeout=WAIT_MS)
        screenshot(page, "terminal-after-restart")
        # Each line once: nothing the pane had shown is shown again, nothing is missing.
        for line in ("echo: before", "late: while away", "echo: typed meanwhile", "echo: after"):
            assert text.count(line) == 1, (line, text)
        assert text.count(NOTICE) == 1, text
        assert _inputs(daemon, sid) == "before\rlater 1 while away\rtyped meanwhile\rafter\r"
        stored = daemon.output(sid)
        assert stored.count("late: while away") == 1, stored
        assert errors == []
        print(f"the pane was attached again {resumed:.2f} s after the stop began")
