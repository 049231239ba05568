"""Changes and review in the cockpit, in a real headless Chromium.

A real daemon, a real git repository made here and the fake agent in ``edit`` mode,
which edits files in its own lane (worktree) when told. The tests click through the
Changes pane as a reviewer would and check the result where it lands: in the
repository, in the lane, in the daemon's records, and in what reached the agent.
Screenshots go to ``tmp/artifacts/cockpit/`` (not committed).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.support.cockpit import Cockpit, headless_chromium, running_cockpit, screenshot
from tests.support.daemon import Daemon
from tests.support.gitrepo import GitSandbox, fingerprint, sandbox_daemon

WAIT_MS = 15_000


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> GitSandbox:
    return GitSandbox(tmp_path_factory.mktemp("cockpit-review"))


@pytest.fixture(scope="module")
def stack(sandbox: GitSandbox) -> Iterator[tuple[Daemon, Cockpit]]:
    with sandbox_daemon(sandbox) as daemon, running_cockpit(daemon) as cockpit:
        yield daemon, cockpit


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with headless_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Browser, stack: tuple[Daemon, Cockpit]) -> Iterator[Page]:
    context: BrowserContext = browser.new_context(viewport={"width": 1500, "height": 950})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(stack[1].url)
    page.wait_for_selector("body[data-ready]", timeout=WAIT_MS)
    try:
        yield page
    finally:
        context.close()
    assert errors == []


@pytest.fixture
def daemon(stack: tuple[Daemon, Cockpit]) -> Daemon:
    return stack[0]


@pytest.fixture
def repo(sandbox: GitSandbox, request: pytest.FixtureRequest) -> Path:
    return sandbox.repo(request.node.name[:40], {"README.md": "hello\n", "src/app.py": "one\n"})


def lane(daemon: Daemon, repo: Path, title: str, *commands: str) -> dict[str, Any]:
    """A session in its own lane whose fake agent has run ``commands``."""
    body = {
        "projectRoot": str(repo),
        "harness": "codex",
        "prompt": "--fake-mode=edit",
        "isolation": "worktree",
        "title": title,
    }
    reply = daemon.call("POST", "/api/v1/sessions", body)
    assert reply.status == 201, reply.body
    record: dict[str, Any] = reply.json()
    daemon.wait_output(record["id"], "ready")
    for command in commands:
        daemon.call("POST", f"/api/v1/sessions/{record['id']}/input", {"data": command + "\n"})
    if commands:
        daemon.wait_output(record["id"], f"done {len(commands)}\r\n", timeout=20)
    return record


def finish(daemon: Daemon, session_id: str) -> None:
    daemon.call("POST", f"/api/v1/sessions/{session_id}/input", {"data": "exit\n"})
    daemon.wait_status(session_id, {"completed"})


def review_state(daemon: Daemon, session_id: str) -> str:
    state: str = daemon.call("GET", f"/api/v1/sessions/{session_id}").json()["review_state"]
    return state


def open_changes(page: Page, session_id: str) -> Locator:
    """Open the session's Changes pane from its row and wait for its first diff."""
    row = page.locator(f'.row[data-session="{session_id}"]')
    row.wait_for(timeout=WAIT_MS)
    row.locator('button[data-act="changes"]').click()
    pane = page.locator(f'.changes-pane[data-changes="{session_id}"]')
    pane.locator(".diff .dl").first.wait_for(timeout=WAIT_MS)
    return pane


def test_approve_merges_a_lane_and_a_conflicting_lane_is_refused_untouched(
    page: Page, daemon: Daemon, sandbox: GitSandbox, repo: Path
) -> None:
    first = lane(daemon, repo, "first lane", "write src/app.py from-first", "git commit -qam first")
    second = lane(daemon, repo, "second lane", "write src/app.py from-second", "git commit -qam 2")
    for record in (first, second):
        finish(daemon, record["id"])
    pane = open_changes(page, first["id"])
    expect(pane.locator("button.file")).to_have_count(1)
    expect(pane.locator("button.file")).to_contain_text("modified")
    expect(pane.locator("button.file")).to_contain_text("src/app.py")
    expect(pane.locator("button.file")).to_contain_text("+1")
    expect(pane.locator(".diff .dl.add")).to_contain_text("+from-first")
    expect(pane.locator(".diff .dl.del")).to_contain_text("-one")
    expect(pane.locator(".review")).to_have_text("unreviewed")
    screenshot(page, "review-diff")
    pane.get_by_role("button", name="Approve & merge").click()
    expect(pane.locator(".review")).to_have_text("merged", timeout=WAIT_MS)
    assert review_state(daemon, first["id"]) == "merged"
    assert (repo / "src/app.py").read_text() == "from-first"  # the checkout's main has it
    assert sandbox.run(repo, "log", "-1", "--format=%s", "main") == "first"
    expect(page.locator(f'.row[data-session="{first["id"]}"] .review')).to_have_text("merged")
    expect(pane.get_by_role("button", name="Approve & merge")).to_be_disabled()

    before = fingerprint(repo)
    other = open_changes(page, second["id"])
    other.get_by_role("button", name="Approve & merge").click()
    refusal = other.locator(".refusal")
    expect(refusal).to_contain_text("Approve and merge refused:", timeout=WAIT_MS)
    expect(refusal).to_contain_text("(merge_conflict)")
    expect(refusal.locator(".refused-files li")).to_have_text(["src/app.py"])
    screenshot(page, "review-conflict")
    assert fingerprint(repo) == before  # nothing in the checkout moved
    assert (Path(second["worktree_path"]) / "src/app.py").read_text() == "from-second"
    # The reviewer's approval stands; the lane was not merged.
    assert review_state(daemon, second["id"]) == "approved"


def test_requested_changes_reach_the_agent_then_approval_commits_and_merges(
    page: Page, daemon: Daemon, repo: Path
) -> None:
    record = lane(daemon, repo, "needs work", "write README.md hello\\nworld")
    sid = record["id"]
    pane = open_changes(page, sid)
    expect(pane.locator(".diff .dl.add")).to_have_text(["2+world"])
    pane.locator('.diff .dl[data-line="2"]').click()  # comment on README.md line 2
    expect(pane.get_by_label("Comment on line")).to_have_value("2")
    expect(pane.get_by_label("Comment", exact=True)).to_be_focused()
    page.keyboard.type("say it in French")
    pane.get_by_role("button", name="Add comment").click()
    pane.get_by_label("Comment on file").select_option("")
    pane.get_by_label("Comment", exact=True).fill("and add a test")
    pane.get_by_role("button", name="Request changes").click()
    expect(pane.locator(".review-status")).to_contain_text(
        "2 comments sent to the agent", timeout=WAIT_MS
    )
    expected = (
        "heard 2: Review: changes requested. Please address: "
        "(1) README.md:2: say it in French (2) in general: and add a test"
    )
    daemon.wait_output(sid, expected, timeout=10)  # the fake agent read exactly that line
    assert review_state(daemon, sid) == "changes_requested"
    expect(page.locator(f'.row[data-session="{sid}"] .review')).to_have_text("changes requested")
    screenshot(page, "review-changes-requested")
    finish(daemon, sid)
    # Approving uncommitted work: the daemon refuses to merge it as is, and says why;
    # committing it is a second, explicit choice.
    pane.get_by_role("button", name="Approve & merge").click()
    expect(pane.locator(".refusal")).to_contain_text("(lane_dirty)", timeout=WAIT_MS)
    assert (repo / "README.md").read_text() == "hello\n"
    pane.get_by_role("button", name="Commit the lane's work and merge").click()
    expect(pane.locator(".review")).to_have_text("merged", timeout=WAIT_MS)
    assert (repo / "README.md").read_text() == "hello\nworld"


def test_discarding_dirty_work_is_refused_then_forced_only_after_confirmation(
    page: Page, daemon: Daemon, repo: Path
) -> None:
    record = lane(daemon, repo, "throwaway", "write wip.txt unsaved")
    sid, worktree = record["id"], Path(record["worktree_path"])
    finish(daemon, sid)
    page.set_viewport_size({"width": 760, "height": 900})  # a laptop's split screen
    pane = open_changes(page, sid)
    pane.get_by_role("button", name="Discard lane").click()
    refusal = pane.locator(".refusal")
    expect(refusal).to_contain_text("(lane_dirty)", timeout=WAIT_MS)
    expect(refusal.locator(".refused-files li")).to_have_text(["wip.txt"])
    assert (worktree / "wip.txt").read_text() == "unsaved"
    screenshot(page, "review-discard-refused")
    force = pane.get_by_role("button", name="Discard anyway…")
    force.click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_contain_text("wip.txt")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    screenshot(page, "review-discard-confirm")
    page.keyboard.press("Enter")  # the focused choice is Cancel
    expect(pane.locator(".review-status")).to_contain_text("nothing was removed")
    assert worktree.is_dir() and review_state(daemon, sid) == "unreviewed"
    force.click()
    page.locator("dialog[open]").get_by_role("button", name="Discard the work").click()
    expect(pane.locator(".review-status")).to_contain_text(
        "worktree and branch were removed", timeout=WAIT_MS
    )
    assert not worktree.exists()
    assert review_state(daemon, sid) == "discarded"
    expect(page.locator(f'.row[data-session="{sid}"] .review')).to_have_text("discarded")
