"""`coven cast` with lanes, changes and resume, end to end: the real CLI and daemon, fake
agents, a real git repository made here (issue 15's delegate, handoff and resume intents)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.test_cli_lanes import IDENTITY, git
from tests.support.cli import Cli
from tests.support.gitrepo import write


def add_team(cli: Cli) -> Cli:
    cli.run("familiars", "add", "sage", "--display-name", "Sage", "--harness", "claude", ok=True)
    cli.run("familiars", "add", "cody", "--display-name", "Cody", "--harness", "codex", ok=True)
    return cli


@pytest.fixture
def team(cli: Cli) -> Cli:
    return add_team(cli)


@pytest.fixture
def repo_team(cli: Cli) -> Cli:
    """A repository on `main`; the daemon (started by the first command) runs `edit` agents."""
    cli.env.update(IDENTITY)
    cli.env["FAKE_MODE"] = "edit"
    git(cli, "init", "-q", "-b", "main")
    write(cli.project, {"README.md": "hello\n", "old.txt": "one\ntwo\n"})
    git(cli, "add", "-A")
    git(cli, "commit", "-q", "-m", "initial")
    return add_team(cli)


def cast(cli: Cli, code: str) -> dict[str, Any]:
    proc = cli.run("cast", code, "--json")
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    doc: dict[str, Any] = json.loads(proc.stdout)
    doc["stderr"] = proc.stderr
    return doc


def launched(doc: dict[str, Any]) -> str:
    (outcome,) = doc["outcomes"]
    assert outcome["action"] == "launch" and outcome["ok"] is True, outcome
    session_id: str = outcome["session_id"]
    return session_id


def agent(cli: Cli, sid: str, *commands: str) -> None:
    for n, command in enumerate(commands, 1):
        reply = cli.api("POST", f"/api/v1/sessions/{sid}/input", {"data": command + "\n"})
        assert reply.status == 202
        cli.wait_output(sid, f"done {n}\r\n", timeout=20)


def test_delegate_runs_in_a_lane_and_handoff_carries_its_changes(repo_team: Cli) -> None:
    cli = repo_team
    sid = launched(cast(cli, "~cody: tidy the files"))
    record = cli.session(sid)
    assert record["worktree_path"] and record["branch"] == f"coven/{sid[:8]}"
    cli.wait_output(sid, "ready")
    agent(cli, sid, "write new.txt a\\nb\\nc", "rm old.txt")
    # The user's checkout is untouched: the work happened in the lane.
    assert not (cli.project / "new.txt").exists() and (cli.project / "old.txt").exists()

    packet = cast(cli, "~<handoff")["packet"]
    assert packet["sessionId"] == sid
    changes = packet["changes"]
    assert changes["branch"] == record["branch"] and changes["baseCommit"] == record["base_commit"]
    files = {f["path"]: (f["status"], f["additions"], f["deletions"]) for f in changes["files"]}
    assert files == {"new.txt": ("untracked", 3, 0), "old.txt": ("deleted", 0, 2)}
    assert changes["stat"] == {"files": 2, "additions": 3, "deletions": 2}

    printed = cli.run("cast", "~<handoff", ok=True).stdout
    assert "Changed files against" in printed
    assert "2 file(s) changed, 3 insertion(s)(+), 2 deletion(s)(-)" in printed
    cli.api("POST", f"/api/v1/sessions/{sid}/kill", {})


def test_delegate_outside_a_repository_runs_in_place_and_says_why(team: Cli) -> None:
    doc = cast(team, "~cody: look around")
    sid = launched(doc)
    assert team.session(sid)["worktree_path"] is None
    assert "is not a git repository with a commit (not_a_git_repository)" in doc["stderr"]
    packet = cast(team, "~<handoff")["packet"]
    assert "changes" not in packet  # no git facts, nothing to ask the changes route
    team.api("POST", f"/api/v1/sessions/{sid}/kill", {})


def test_resume_continues_the_familiars_conversation_in_its_lane(repo_team: Cli) -> None:
    cli = repo_team
    first = launched(cast(cli, "~sage: start the work"))
    cli.wait_output(first, "ready")
    agent(cli, first, "write notes.txt started")
    cli.api("POST", f"/api/v1/sessions/{first}/input", {"data": "exit\n"})
    done = cli.wait_status(first, {"completed", "idle"})
    assert done["conversation_id"] and done["worktree_path"]

    resumed_doc = cast(cli, "~^sage")
    second = launched(resumed_doc)
    assert f"continues session {first}" in resumed_doc["stderr"]
    record = cli.session(second)
    assert record["continues"] == first
    assert record["conversation_id"] == done["conversation_id"]
    assert record["worktree_path"] == done["worktree_path"]  # the same lane
    shown = cli.wait_output(second, "argv=")
    argv = json.loads(shown.split("argv=", 1)[1].split("\r\n", 1)[0])
    assert argv[argv.index("--resume") + 1] == done["conversation_id"]


def test_resume_without_a_session_is_refused_clearly(team: Cli) -> None:
    proc = team.run("cast", "~^sage")
    assert proc.returncode == 1 and "no session of sage to resume" in proc.stderr
