"""Sessions and their work, against a real daemon and real git repositories made here.

Changes and diffs after a fake agent edits, adds and deletes files; lanes (worktrees)
that keep two sessions' work apart; merge with and without a conflict; discard and
sacrifice refusing to lose work; resuming exactly the recorded harness conversation.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import error_of, session_count, wait_until
from tests.support.daemon import Daemon
from tests.support.gitrepo import GitSandbox, fingerprint, sandbox_daemon, write


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: Any) -> GitSandbox:
    return GitSandbox(tmp_path_factory.mktemp("lanes"))


@pytest.fixture(scope="module")
def daemon(sandbox: GitSandbox) -> Iterator[Daemon]:
    with sandbox_daemon(sandbox) as d:
        yield d


@pytest.fixture
def repo(sandbox: GitSandbox, request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:60]
    return sandbox.repo(name, {"README.md": "hello\n", "src/app.py": "print('one')\n"})


def launch(daemon: Daemon, root: Path, prompt: str = "--fake-mode=edit", **fields: Any) -> Any:
    body = {"projectRoot": str(root), "harness": "codex", "prompt": prompt, **fields}
    reply = daemon.call("POST", "/api/v1/sessions", body)
    assert reply.status == 201, reply.body
    record = reply.json()
    daemon.wait_output(record["id"], "ready")
    return record


def agent(daemon: Daemon, sid: str, *commands: str) -> None:
    """Have the fake agent run ``commands`` and wait until each one is done."""
    start = len(re.findall(r"^(?:done|failed) \d+", daemon.output(sid), re.M))
    for command in commands:
        reply = daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": command + "\n"})
        assert reply.status == 202, reply.body
    last = start + len(commands)
    text = daemon.wait_output(sid, f"done {last}\r\n", timeout=20)
    assert "failed" not in text.split(f"done {start}")[-1] if start else "failed" not in text


def finish(daemon: Daemon, sid: str) -> dict[str, Any]:
    daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": "exit\n"})
    return daemon.wait_status(sid, {"completed", "idle"})


def get(daemon: Daemon, path: str) -> Any:
    reply = daemon.call("GET", path)
    assert reply.status == 200, reply.body
    return reply.json()


def files_of(changes: dict[str, Any]) -> dict[str, str]:
    return {f["path"]: f["status"] for f in changes["files"]}


# -- changes and diffs ------------------------------------------------------------------------
def test_a_session_in_the_checkout_records_git_facts_and_answers_changes_and_diff(
    daemon: Daemon, sandbox: GitSandbox, repo: Path
) -> None:
    base = sandbox.head(repo)
    record = launch(daemon, repo)
    sid = record["id"]
    assert (record["git_root"], record["base_commit"], record["base_branch"]) == (
        str(repo),
        base,
        "main",
    )
    assert record["worktree_path"] is None and record["branch"] is None
    agent(daemon, sid, "write src/app.py print('two')", "write notes.txt new", "rm README.md")
    changes = get(daemon, f"/api/v1/sessions/{sid}/changes")
    assert changes["baseCommit"] == base and changes["tree"] == str(repo)
    assert files_of(changes) == {
        "README.md": "deleted",
        "notes.txt": "untracked",
        "src/app.py": "modified",
    }
    app = next(f for f in changes["files"] if f["path"] == "src/app.py")
    assert (app["additions"], app["deletions"]) == (1, 1)
    whole = get(daemon, f"/api/v1/sessions/{sid}/diff")
    assert "+print('two')" in whole["diff"] and "-hello" in whole["diff"]
    assert whole["truncated"] is False and whole["path"] is None
    one = get(daemon, f"/api/v1/sessions/{sid}/diff?path=src/app.py")
    assert "+print('two')" in one["diff"] and "README" not in one["diff"]
    agent(daemon, sid, "write big.txt " + "x" * 3000 + "\\n" + "y" * 3000)
    capped = get(daemon, f"/api/v1/sessions/{sid}/diff?maxBytes=1024")
    assert capped["truncated"] is True and capped["bytes"] > 1024
    assert len(capped["diff"].encode()) <= 1024 + 200
    finish(daemon, sid)


def test_outside_git_the_fields_are_null_and_the_routes_say_so(daemon: Daemon) -> None:
    plain = Path(daemon.env["COVEN_TEST_PROJECT"])
    record = launch(daemon, plain)
    sid = record["id"]
    assert record["git_root"] is None and record["base_commit"] is None
    for route in ("changes", "diff"):
        reply = daemon.call("GET", f"/api/v1/sessions/{sid}/{route}")
        assert reply.status == 422 and error_of(reply)["code"] == "not_a_git_repository"
    reply = daemon.call("POST", f"/api/v1/sessions/{sid}/merge", {})
    assert reply.status == 422 and error_of(reply)["code"] == "not_a_git_repository"
    before = session_count(daemon)
    body = {"projectRoot": str(plain), "harness": "codex", "prompt": "x", "isolation": "worktree"}
    reply = daemon.call("POST", "/api/v1/sessions", body)
    assert reply.status == 422 and error_of(reply)["code"] == "not_a_git_repository"
    assert session_count(daemon) == before  # refused before any row was written
    finish(daemon, sid)


# -- lanes --------------------------------------------------------------------------------------
def test_two_lanes_keep_their_work_apart_and_the_checkout_untouched(
    daemon: Daemon, sandbox: GitSandbox, repo: Path
) -> None:
    write(repo, {".worktreeinclude": ".env\n", ".gitignore": ".env\n"})
    sandbox.commit_all(repo, "include list")
    write(repo, {".env": "TOKEN=local\n"})
    # The lanes add branches (refs); the checkout's files, index and HEAD stay as they were.
    untouched = (sandbox.run(repo, "status", "--porcelain"), sandbox.head(repo))
    app = (repo / "src/app.py").read_text()
    a = launch(daemon, repo, isolation="worktree", cwd="src")
    b = launch(daemon, repo, isolation="worktree")
    worktrees = daemon.home / "worktrees"
    for record in (a, b):
        assert record["worktree_path"] == str(worktrees / record["id"])
        assert record["branch"] == "coven/" + record["id"][:8]
        assert record["git_root"] == str(repo) and record["base_branch"] == "main"
        assert (Path(record["worktree_path"]) / ".env").read_text() == "TOKEN=local\n"
    assert f"cwd={worktrees / a['id'] / 'src'}" in daemon.output(a["id"])
    assert a["project_root"] == str(worktrees / a["id"])
    agent(daemon, a["id"], "write app.py print('from a')", "write only-a.txt a")
    agent(daemon, b["id"], "write src/app.py print('from b')")
    changes_a = get(daemon, f"/api/v1/sessions/{a['id']}/changes")
    changes_b = get(daemon, f"/api/v1/sessions/{b['id']}/changes")
    assert files_of(changes_a) == {"src/app.py": "modified", "src/only-a.txt": "untracked"}
    assert files_of(changes_b) == {"src/app.py": "modified"}
    assert "from a" in get(daemon, f"/api/v1/sessions/{a['id']}/diff")["diff"]
    assert "from a" not in get(daemon, f"/api/v1/sessions/{b['id']}/diff")["diff"]
    assert (sandbox.run(repo, "status", "--porcelain"), sandbox.head(repo)) == untouched
    assert (repo / "src/app.py").read_text() == app and not (repo / "src/only-a.txt").exists()
    for record in (a, b):
        finish(daemon, record["id"])


def test_merge_fast_forwards_then_a_conflict_is_refused_with_its_files(
    daemon: Daemon, sandbox: GitSandbox, repo: Path
) -> None:
    a = launch(daemon, repo, isolation="worktree")
    b = launch(daemon, repo, isolation="worktree")
    agent(daemon, a["id"], "write src/app.py print('a')", "git commit -qam a-work")
    agent(daemon, b["id"], "write src/app.py print('b')", "git commit -qam b-work")
    merged = daemon.call("POST", f"/api/v1/sessions/{a['id']}/merge", {})
    assert merged.status == 200, merged.body  # committed work of a live lane merges
    assert merged.json()["mode"] == "fast_forward" and merged.json()["branch"] == "main"
    assert (repo / "src/app.py").read_text() == "print('a')"
    before = fingerprint(repo)
    reply = daemon.call("POST", f"/api/v1/sessions/{b['id']}/merge", {})
    assert reply.status == 409
    error = error_of(reply)
    assert error["code"] == "merge_conflict" and error["details"]["files"] == ["src/app.py"]
    assert fingerprint(repo) == before
    finish(daemon, a["id"])
    done = daemon.call("POST", f"/api/v1/sessions/{a['id']}/discard", {})
    assert done.status == 200 and done.json()["removedWorktree"] is True
    assert not Path(a["worktree_path"]).exists()
    finish(daemon, b["id"])


def test_merge_commits_uncommitted_work_only_when_asked_and_not_while_live(
    daemon: Daemon, repo: Path
) -> None:
    sid = launch(daemon, repo, isolation="worktree")["id"]
    agent(daemon, sid, "write added.txt fresh")
    reply = daemon.call("POST", f"/api/v1/sessions/{sid}/merge", {})
    assert reply.status == 409 and error_of(reply)["code"] == "lane_dirty"
    reply = daemon.call("POST", f"/api/v1/sessions/{sid}/merge", {"commitMessage": "agent work"})
    assert reply.status == 409 and error_of(reply)["code"] == "session_conflict"
    finish(daemon, sid)
    reply = daemon.call("POST", f"/api/v1/sessions/{sid}/merge", {"commitMessage": "agent work"})
    assert reply.status == 200, reply.body
    assert reply.json()["laneCommit"] and (repo / "added.txt").read_text() == "fresh"


def test_discard_refuses_live_and_dirty_lanes_and_force_removes(daemon: Daemon, repo: Path) -> None:
    record = launch(daemon, repo, isolation="worktree")
    sid, lane = record["id"], Path(record["worktree_path"])
    agent(daemon, sid, "write wip.txt unsaved")
    reply = daemon.call("POST", f"/api/v1/sessions/{sid}/discard", {"force": True})
    assert reply.status == 409 and error_of(reply)["code"] == "session_conflict"
    finish(daemon, sid)
    reply = daemon.call("POST", f"/api/v1/sessions/{sid}/discard", {})
    assert reply.status == 409
    assert error_of(reply)["code"] == "lane_dirty"
    assert error_of(reply)["details"]["files"] == ["wip.txt"]
    assert (lane / "wip.txt").exists()
    action = daemon.call(
        "POST", "/api/v1/actions", {"action": "coven.sessions.discard", "args": {"sessionId": sid}}
    )
    assert action.status == 409 and action.json()["code"] == "lane_dirty"
    forced = daemon.call("POST", f"/api/v1/sessions/{sid}/discard", {"force": True})
    assert forced.status == 200 and forced.json()["dirtyFiles"] == ["wip.txt"]
    assert not lane.exists()


def test_sacrifice_refuses_a_lane_with_work_and_removes_a_clean_one(
    daemon: Daemon, repo: Path
) -> None:
    dirty = launch(daemon, repo, isolation="worktree")
    agent(daemon, dirty["id"], "write keep.txt mine", "git add keep.txt", "git commit -qm keep")
    finish(daemon, dirty["id"])
    reply = daemon.call(
        "POST", f"/api/v1/sessions/{dirty['id']}/sacrifice", {"confirm": dirty["id"]}
    )
    assert reply.status == 409 and error_of(reply)["code"] == "lane_unmerged"
    assert daemon.call("GET", f"/api/v1/sessions/{dirty['id']}").status == 200
    assert (Path(dirty["worktree_path"]) / "keep.txt").exists()
    clean = launch(daemon, repo, isolation="worktree")
    finish(daemon, clean["id"])
    archived = daemon.call("POST", f"/api/v1/sessions/{clean['id']}/archive", {})
    assert archived.status == 200 and Path(clean["worktree_path"]).is_dir()  # archive keeps it
    reply = daemon.call(
        "POST", f"/api/v1/sessions/{clean['id']}/sacrifice", {"confirm": clean["id"]}
    )
    assert reply.status == 200, reply.body
    assert not Path(clean["worktree_path"]).exists()


def test_refused_launches_leave_no_lane(daemon: Daemon, repo: Path) -> None:
    worktrees = daemon.home / "worktrees"
    before = set(worktrees.iterdir()) if worktrees.exists() else set()
    body = {"projectRoot": str(repo), "harness": "nope", "prompt": "x", "isolation": "worktree"}
    reply = daemon.call("POST", "/api/v1/sessions", body)
    assert reply.status == 400  # unknown harness: refused before any lane exists
    bad = {"projectRoot": str(repo), "harness": "codex", "prompt": "x", "isolation": "lane"}
    reply = daemon.call("POST", "/api/v1/sessions", bad)
    assert reply.status == 400 and error_of(reply)["details"]["field"] == "isolation"
    reply = daemon.call("POST", "/api/v1/sessions", {**bad, "isolation": 1})
    assert reply.status == 400 and "number" in error_of(reply)["message"]
    after = set(worktrees.iterdir()) if worktrees.exists() else set()
    assert after == before


# -- resume -------------------------------------------------------------------------------------
def argv_of(daemon: Daemon, sid: str) -> list[str]:
    text = daemon.wait_output(sid, "argv=")
    found = re.search(r"argv=(\[.*?\])\r?\n", text)
    assert found, text
    argv: list[str] = json.loads(found.group(1))
    return argv


def test_claude_starts_under_a_recorded_id_and_continue_resumes_it_in_the_same_lane(
    daemon: Daemon, repo: Path
) -> None:
    first = launch(daemon, repo, harness="claude", isolation="worktree")
    conversation = first["conversation_id"]
    assert re.fullmatch(r"[0-9a-f-]{36}", conversation)
    argv = argv_of(daemon, first["id"])
    assert argv[argv.index("--session-id") + 1] == conversation
    agent(daemon, first["id"], "write resumed.txt from-first")
    # Coven's own record of the conversation does not change the exit status.
    assert finish(daemon, first["id"])["status"] == "completed"
    second = launch(
        daemon,
        repo,
        harness="claude",
        conversation={"mode": "resume", "id": first["id"]},
    )
    argv = argv_of(daemon, second["id"])
    assert argv[argv.index("--resume") + 1] == conversation and "--session-id" not in argv
    assert second["continues"] == first["id"] and second["conversation_id"] == conversation
    assert second["worktree_path"] == first["worktree_path"]
    assert second["branch"] == first["branch"]
    assert f"cwd={first['worktree_path']}" in daemon.output(second["id"])
    # The lane is the continuation's too: discarding it while that runs is refused.
    reply = daemon.call("POST", f"/api/v1/sessions/{first['id']}/discard", {"force": True})
    assert reply.status == 409 and error_of(reply)["code"] == "session_conflict"
    finish(daemon, second["id"])


def test_codex_thread_id_is_read_back_and_resumed(daemon: Daemon, repo: Path) -> None:
    thread = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
    sid = launch(daemon, repo)["id"]
    assert daemon.call("GET", f"/api/v1/sessions/{sid}").json()["conversation_id"] is None
    # What Codex does once its thread starts: a rollout file in the session's HOME whose
    # first record names the thread and the directory it runs in.
    rollout = Path(daemon.env["HOME"]) / ".codex" / "sessions" / time.strftime("%Y/%m/%d")
    rollout.mkdir(parents=True, exist_ok=True)
    meta = {"type": "session_meta", "payload": {"id": thread, "cwd": str(repo)}}
    (rollout / f"rollout-x-{thread}.jsonl").write_text(json.dumps(meta) + "\n")

    def recorded() -> Any:
        return daemon.call("GET", f"/api/v1/sessions/{sid}").json()["conversation_id"]

    assert wait_until(recorded, 10, "the codex thread id") == thread
    finish(daemon, sid)
    again = launch(daemon, repo, harness="codex", conversation={"mode": "resume", "id": thread})
    argv = argv_of(daemon, again["id"])
    assert argv[argv.index("resume") + 1] == thread and again["continues"] == sid
    finish(daemon, again["id"])


def test_codex_sessions_started_together_each_get_their_own_thread(
    daemon: Daemon, repo: Path
) -> None:
    first = launch(daemon, repo)["id"]
    second = launch(daemon, repo)["id"]
    day = Path(daemon.env["HOME"]) / ".codex" / "sessions" / time.strftime("%Y/%m/%d")
    day.mkdir(parents=True, exist_ok=True)
    for n, thread in enumerate(("thread-a", "thread-b")):  # thread-a's file is the older
        meta = {"type": "session_meta", "payload": {"id": thread, "cwd": str(repo)}}
        path = day / f"rollout-{thread}.jsonl"
        path.write_text(json.dumps(meta) + "\n")
        os.utime(path, (time.time() + n, time.time() + n))

    def recorded() -> Any:
        ids = [
            daemon.call("GET", f"/api/v1/sessions/{sid}").json()["conversation_id"]
            for sid in (first, second)
        ]
        return ids if all(ids) else None

    assert wait_until(recorded, 10, "both codex thread ids") == ["thread-a", "thread-b"]
    finish(daemon, first)
    finish(daemon, second)


def test_resume_refusals(daemon: Daemon, repo: Path) -> None:
    claude = launch(daemon, repo, harness="claude")
    finish(daemon, claude["id"])
    body = {"projectRoot": str(repo), "harness": "codex", "prompt": "x"}
    reply = daemon.call(
        "POST", "/api/v1/sessions", {**body, "conversation": {"mode": "resume", "id": claude["id"]}}
    )
    assert reply.status == 400 and error_of(reply)["details"]["reason"] == "harness_mismatch"
    plain = launch(daemon, repo)  # codex, no thread recorded
    finish(daemon, plain["id"])
    reply = daemon.call(
        "POST", "/api/v1/sessions", {**body, "conversation": {"mode": "resume", "id": plain["id"]}}
    )
    assert reply.status == 400 and error_of(reply)["details"]["reason"] == "no_conversation"


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "suffix", "body", "status", "code"),
    [
        ("GET", "/diff?maxBytes=abc", None, 400, "invalid_request"),
        ("GET", "/diff?maxBytes=10", None, 400, "invalid_request"),
        ("GET", "/diff?path=../outside", None, 400, "invalid_request"),
        ("GET", "/diff?path=%ff", None, 400, "invalid_request"),
        ("GET", "/diff?path=", None, 400, "invalid_request"),
        ("POST", "/merge", {"commitMessage": "  "}, 400, "invalid_request"),
        ("POST", "/merge", {"commitMessage": 3}, 400, "invalid_request"),
        ("POST", "/merge", {"other": 1}, 400, "invalid_request"),
        ("POST", "/merge", b"{nope", 400, "invalid_request"),
        ("POST", "/discard", {"force": "yes"}, 400, "invalid_request"),
        ("POST", "/discard", [1], 400, "invalid_request"),
        ("POST", "/discard", {}, 400, "invalid_request"),  # no lane of its own
        ("POST", "/merge", {}, 400, "invalid_request"),
    ],
)
def test_bad_input_on_the_work_routes(
    daemon: Daemon, repo: Path, method: str, suffix: str, body: Any, status: int, code: str
) -> None:
    sid = launch(daemon, repo)["id"]
    reply = daemon.call(method, f"/api/v1/sessions/{sid}{suffix}", body)
    assert reply.status == status, reply.body
    assert error_of(reply)["code"] == code
    finish(daemon, sid)


def test_unknown_sessions_are_not_found(daemon: Daemon) -> None:
    for method, suffix in (
        ("GET", "changes"),
        ("GET", "diff"),
        ("POST", "merge"),
        ("POST", "discard"),
    ):
        reply = daemon.call(
            method, f"/api/v1/sessions/no-such-session/{suffix}", {} if method == "POST" else None
        )
        assert reply.status == 404 and error_of(reply)["code"] == "session_not_found"


# -- permissions ----------------------------------------------------------------------------
def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_lane_and_merge_files_get_the_users_mask(
    sandbox: GitSandbox, repo: Path, mask: int
) -> None:
    # The daemon makes its own files private (umask 077). A lane's checkout and the files
    # a merge writes into the user's checkout are the user's: with a private mask they
    # came out 0600/0700, so a web server or a container build could not read them.
    files, dirs = 0o666 & ~mask, 0o777 & ~mask
    with sandbox_daemon(sandbox, f"home-{mask:o}", umask=mask) as d:
        record = launch(d, repo, isolation="worktree")
        lane = Path(record["worktree_path"])
        assert (_mode(lane / "README.md"), _mode(lane / "src")) == (files, dirs)
        agent(d, record["id"], "write docs/guide.txt read me", "git add -A", "git commit -qm docs")
        finish(d, record["id"])
        merged = d.call("POST", f"/api/v1/sessions/{record['id']}/merge", {})
        assert merged.status == 200, merged.body
        assert (repo / "docs/guide.txt").read_text() == "read me"
        assert (_mode(repo / "docs/guide.txt"), _mode(repo / "docs")) == (files, dirs)
        # The daemon's own files stay private.
        assert _mode(d.home / "worktrees") == 0o700
