"""The cockpit lists each host's sessions side by side: real ssh, a real second daemon, Chromium.

This machine has its own daemon and Coven home; ``hosts.toml`` there names
``box`` (a real SSH server, ``tests.support.sshd``, whose commands run as
another machine with its own ``COVEN_HOME`` and daemon) and ``gone`` (a port
where nothing answers). The cockpit reaches ``box`` through the real OpenSSH
client exactly as ``coven --host box`` does, and must show both machines'
sessions, ``gone`` as unreachable with ssh's reason, open and type into a
terminal on ``box``, kill there, and leave no ssh process behind when it stops.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.support.cockpit import Cockpit, cockpit_command, headless_chromium, screenshot, serving
from tests.support.daemon import Daemon, daemon_env
from tests.support.ssh import SshWorld

pytestmark = pytest.mark.timeout(180)
WAIT_MS = 30_000


@dataclass
class Stack:
    world: SshWorld
    here: Daemon
    there: Daemon
    cockpit: Cockpit


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    world = SshWorld(tmp_path / "ssh")
    project = tmp_path / "project"
    project.mkdir()
    home = tmp_path / "home"
    here = Daemon(home, daemon_env(home, project))
    there = Daemon(world.remote_home, world.remote_env)
    # A bound socket that never listens: connecting to it is refused at once.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    try:
        world.start()
        here.start()
        there.start()
        (home / "hosts.toml").write_text(
            f'[hosts.box]\ntarget = "{world.url}"\n\n'
            f'[hosts.gone]\ntarget = "ssh://tester@127.0.0.1:{closed.getsockname()[1]}"\n'
        )
        env = world.local_env(here.env)
        argv = cockpit_command(home, "--project-root", str(project))
        with serving(argv, env, home) as cockpit:
            yield Stack(world, here, there, cockpit)
    finally:
        closed.close()
        for daemon in (here, there):
            if daemon.proc is not None:
                daemon.stop()
        world.stop()


@pytest.fixture
def page(stack: Stack) -> Iterator[Page]:
    with headless_chromium() as browser:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(stack.cockpit.url)
        page.wait_for_selector("body[data-ready]", timeout=WAIT_MS)
        yield page
        assert errors == []


def _master_pids(world: SshWorld) -> list[int]:
    """The pids of the ssh control masters under the test's runtime directory."""
    pids = []
    for ctl in world.runtime.rglob("ctl"):
        done = subprocess.run(
            [world.ssh, "-F", str(world.config), "-o", f"ControlPath={ctl}", "-O", "check", "x"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=10,
        )
        found = re.search(r"pid=(\d+)", done.stderr)
        if found:
            pids.append(int(found.group(1)))
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _record(daemon: Daemon, session_id: str) -> dict[str, Any]:
    reply = daemon.call("GET", f"/api/v1/sessions/{session_id}")
    assert reply.status == 200, reply.body
    doc: dict[str, Any] = reply.json()
    return doc


def test_both_machines_side_by_side_a_remote_terminal_and_an_unreachable_host(
    stack: Stack, page: Page
) -> None:
    mine = stack.here.launch(title="session on this machine")["id"]
    theirs = stack.there.launch(title="session on box")["id"]

    # This machine first, then the hosts in the file's order, each with its own sessions.
    page.locator(f'.machine[data-host="box"] .row[data-session="box/{theirs}"]').wait_for(
        timeout=WAIT_MS
    )
    page.locator(f'.machine[data-host=""] .row[data-session="{mine}"]').wait_for(timeout=WAIT_MS)
    gone = page.locator('.machine[data-host="gone"]')
    gone.locator(".h-unreachable").wait_for(timeout=WAIT_MS)
    assert page.eval_on_selector_all(".machine", "els => els.map(e => e.dataset.host)") == [
        "",
        "box",
        "gone",
    ]
    reason = gone.locator(".host-reason").inner_text()
    assert "cannot reach gone" in reason and "refused" in reason.lower(), reason
    assert gone.locator(".row").count() == 0
    assert page.locator(f'.machine[data-host="box"] .row[data-session="{mine}"]').count() == 0
    assert "reachable" in page.locator('.machine[data-host="box"] .host-state').inner_text()
    screenshot(page, "hosts-side-by-side")

    # A terminal on box: replayed from box's store, typed here, echoed there.
    key = f"box/{theirs}"
    page.locator(f'.row[data-session="{key}"] button[data-act=open]').click()
    pane = page.locator(f'.pane[data-session="{key}"]')
    pane.wait_for(timeout=WAIT_MS)
    assert pane.locator(".host-tag").inner_text() == "box"
    page.wait_for_function(
        "key => window.__cockpit.paneText(key).includes('ready')", arg=key, timeout=WAIT_MS
    )
    page.keyboard.type("through the cockpit")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "key => window.__cockpit.paneText(key).includes('echo: through the cockpit')",
        arg=key,
        timeout=WAIT_MS,
    )
    stack.there.wait_output(theirs, "echo: through the cockpit")
    assert "through the cockpit" not in stack.here.output(mine)

    # Kill goes to box's daemon; this machine's session is untouched.
    pane.locator("button.danger", has_text="Kill").click()
    page.locator("dialog[open] button.danger").click()
    deadline = time.monotonic() + 15
    while _record(stack.there, theirs)["status"] != "killed":
        assert time.monotonic() < deadline, _record(stack.there, theirs)
        time.sleep(0.1)
    assert _record(stack.here, mine)["status"] == "running"
    page.locator(f'.row[data-session="{key}"] .status.s-killed').wait_for(timeout=WAIT_MS)

    # Its events come from box's store too.
    page.locator(f'.row[data-session="{key}"] .title').click()
    page.keyboard.press("e")
    page.locator("#diag-events tr.k-exit").wait_for(timeout=WAIT_MS)
    assert "on box" in page.locator("#view-diagnostics h3").first.inner_text()

    activity = stack.cockpit.http("GET", "/cockpit/context").json()["activity"]
    done = [(e["host"], e["operation"], e["sessionId"], e["outcome"]) for e in activity]
    assert ("box", "attach", theirs, "ok") in done
    assert ("box", "kill", theirs, "ok") in done
    stack.here.call("POST", f"/api/v1/sessions/{mine}/kill")


def test_host_routes_keep_the_guard_and_allow_list_and_stopping_ends_ssh(stack: Stack) -> None:
    cockpit = stack.cockpit
    theirs = stack.there.launch(title="listed over ssh")["id"]
    listed = cockpit.http("GET", "/hosts/box/api/v1/sessions")
    assert listed.status == 200, listed.body
    assert theirs in [s["id"] for s in listed.json()]

    overview = cockpit.http("GET", "/cockpit/hosts").json()
    states = {h["name"]: h["state"] for h in overview["hosts"]}
    assert states["box"] == "reachable"
    box = next(h for h in overview["hosts"] if h["name"] == "box")
    assert [s["id"] for s in box["sessions"]] == [theirs]
    again = cockpit.http("GET", f"/cockpit/hosts?known=box:{box['sessionsDigest']}").json()
    assert "sessions" not in next(h for h in again["hosts"] if h["name"] == "box")

    unknown = cockpit.http("GET", "/hosts/nope/api/v1/sessions")
    assert unknown.status == 404 and unknown.json()["error"]["code"] == "unknown_host"
    down = cockpit.http("GET", "/hosts/gone/api/v1/sessions")
    assert down.status == 503 and down.json()["error"]["code"] == "host_unreachable"
    origin = {"Origin": cockpit.origin}
    refused = cockpit.http("POST", "/hosts/box/api/v1/daemon/shutdown", origin, b"{}")
    assert refused.status == 403 and refused.json()["error"]["code"] == "not_allowed"
    assert cockpit.http("GET", "/hosts/box/api/v1/sessions", token=False).status == 401
    cross = {"Origin": "http://evil.example"}
    assert cockpit.http("POST", f"/hosts/box/api/v1/sessions/{theirs}/kill", cross).status == 403
    assert _record(stack.there, theirs)["status"] == "running"

    masters = _master_pids(stack.world)
    assert masters, "the cockpit should have its own ssh control master for box"
    assert cockpit.stop() == 0
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in masters):
        assert time.monotonic() < deadline, f"ssh masters {masters} outlived the cockpit"
        time.sleep(0.05)
    assert not list(stack.world.runtime.glob("coven/cockpit-*")), "its runtime dir is removed"
    # The other machine's daemon was only ever a client's: still serving.
    assert stack.there.call("GET", "/api/v1/health").status == 200


def test_a_host_whose_daemon_stops_says_so_and_this_machine_is_unaffected(stack: Stack) -> None:
    cockpit = stack.cockpit
    deadline = time.monotonic() + 30
    while _box(cockpit)["state"] != "reachable":
        assert time.monotonic() < deadline, _box(cockpit)
        time.sleep(0.1)
    stack.there.stop()
    deadline = time.monotonic() + 30
    while _box(cockpit)["state"] != "unreachable":
        assert time.monotonic() < deadline, _box(cockpit)
        time.sleep(0.1)
    reason = _box(cockpit)["reason"]
    assert reason.startswith("the Coven daemon on box is not running"), reason
    reply = cockpit.http("GET", "/hosts/box/api/v1/sessions")
    assert reply.status == 503 and reply.json()["error"]["code"] == "host_unreachable"
    mine = stack.here.launch(title="still listed")["id"]
    context = cockpit.http("GET", "/cockpit/context").json()
    assert context["daemon"]["reachable"] is True
    assert mine in [s["id"] for s in context["sessions"]]
    stack.here.call("POST", f"/api/v1/sessions/{mine}/kill")


def _box(cockpit: Cockpit) -> dict[str, Any]:
    hosts: list[dict[str, Any]] = cockpit.http("GET", "/cockpit/hosts").json()["hosts"]
    return next(h for h in hosts if h["name"] == "box")


def test_the_launch_form_launches_on_the_chosen_host(stack: Stack, page: Page) -> None:
    page.keyboard.press("n")
    page.locator('#launch-machine option[value="box"]').wait_for(state="attached", timeout=WAIT_MS)
    page.select_option("#launch-machine", "box")
    assert page.input_value("#launch-root") == ""  # this machine's default means nothing there
    page.select_option("#launch-harness", "codex")
    page.fill("#launch-root", str(stack.world.remote_project))
    page.fill("#launch-title", "launched on box")
    page.fill("#launch-prompt", "hello from afar")
    page.click("#launch-submit")
    pane = page.locator('.pane[data-host="box"]').filter(has_text="launched on box")
    pane.wait_for(timeout=WAIT_MS)
    key = pane.get_attribute("data-session")
    assert key is not None and key.startswith("box/")
    theirs = key.removeprefix("box/")
    page.wait_for_function(
        "key => window.__cockpit.paneText(key).includes('ready')", arg=key, timeout=WAIT_MS
    )
    assert _record(stack.there, theirs)["title"] == "launched on box"
    assert stack.here.call("GET", f"/api/v1/sessions/{theirs}").status == 404
    page.locator(f'.machine[data-host="box"] .row[data-session="{key}"]').wait_for(timeout=WAIT_MS)
    stack.there.call("POST", f"/api/v1/sessions/{theirs}/kill")
