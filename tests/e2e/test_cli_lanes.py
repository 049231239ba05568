"""`coven changes|diff|merge|discard`, `coven run --worktree|--continue|--root` and the default
project root, end to end: the real CLI, a real daemon, a real git repository made here."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import COVEN, Cli
from tests.support.gitrepo import REAL_GIT, write

IDENTITY = {
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.invalid",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.invalid",
}


def git(cli: Cli, *args: str) -> str:
    done = subprocess.run(
        [REAL_GIT or "git", *args],
        cwd=cli.project,
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo_cli(cli: Cli) -> Cli:
    """The CLI's project is a repository on `main` with `sub/` tracked; the agent is `edit`."""
    cli.env.update(IDENTITY)
    cli.env["FAKE_MODE"] = "edit"
    git(cli, "init", "-q", "-b", "main")
    write(cli.project, {"README.md": "hello\n", "sub/mod.py": "x = 1\n"})
    git(cli, "add", "-A")
    git(cli, "commit", "-q", "-m", "initial")
    return cli


def coven(cli: Cli, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [*COVEN, *args],
        cwd=cwd or cli.project,
        env=cli.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def detached(cli: Cli, *args: str, cwd: Path | None = None) -> dict[str, Any]:
    proc = coven(cli, "run", "codex", "--detach", *args, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    record = cli.session(proc.stdout.strip())
    cli.wait_output(record["id"], "ready")
    return record


def agent(cli: Cli, sid: str, *commands: str) -> None:
    for n, command in enumerate(commands, 1):
        reply = cli.api("POST", f"/api/v1/sessions/{sid}/input", {"data": command + "\n"})
        assert reply.status == 202
        cli.wait_output(sid, f"done {n}\r\n", timeout=20)


def test_the_default_root_is_the_repository_top_and_cwd_is_the_users(repo_cli: Cli) -> None:
    cli = repo_cli
    sub = cli.project / "sub"
    record = detached(cli, "--", "--fake-mode=sleep", cwd=sub)
    assert record["project_root"] == str(cli.project.resolve())
    assert record["git_root"] == str(cli.project.resolve()) and record["base_branch"] == "main"
    assert f"cwd={sub.resolve()}" in cli.output(record["id"])
    up = detached(cli, "--cwd", "..", "--", "--fake-mode=sleep", cwd=sub)
    assert f"cwd={cli.project.resolve()}\r\n" in cli.output(up["id"])
    narrow = detached(cli, "--root", ".", "--", "--fake-mode=sleep", cwd=sub)
    assert narrow["project_root"] == str(sub.resolve())
    outside = coven(cli, "run", "codex", "--detach", "--root", ".", "--cwd", "..", "x", cwd=sub)
    assert outside.returncode == 1 and "outside" in outside.stderr
    for sid in (record["id"], up["id"], narrow["id"]):
        cli.run("kill", sid, ok=True)


def test_worktree_changes_diff_merge_and_discard(repo_cli: Cli) -> None:
    cli = repo_cli
    record = detached(cli, "--worktree", "--", "--fake-mode=edit")
    sid = record["id"]
    assert record["branch"] == "coven/" + sid[:8]
    agent(cli, sid, "write sub/mod.py x = 2", "write new.txt fresh")
    table = coven(cli, "changes", sid[:8])
    assert table.returncode == 0, table.stderr
    assert "M" in table.stdout and "sub/mod.py" in table.stdout and "new.txt" in table.stdout
    assert "2 file(s)" in table.stdout
    doc = json.loads(coven(cli, "changes", sid, "--json").stdout)
    assert {f["path"] for f in doc["files"]} == {"sub/mod.py", "new.txt"}
    diff = coven(cli, "diff", sid)
    assert "+x = 2" in diff.stdout and "-x = 1" in diff.stdout
    one = json.loads(coven(cli, "diff", sid, "new.txt", "--json").stdout)
    assert one["path"] == "new.txt" and "mod.py" not in one["diff"]
    live = coven(cli, "discard", sid)
    assert live.returncode == 1 and "kill it" in live.stderr
    cli.run("kill", sid, ok=True)
    refused = coven(cli, "discard", sid)
    assert refused.returncode == 1
    assert "[lane_dirty]" in refused.stderr and "new.txt" in refused.stderr
    dirty = coven(cli, "merge", sid)
    assert dirty.returncode == 1 and "lane_dirty" in dirty.stderr
    merged = coven(cli, "merge", sid, "-m", "agent work")
    assert merged.returncode == 0, merged.stderr
    assert "fast-forwarded" in merged.stdout
    assert (cli.project / "sub/mod.py").read_text() == "x = 2"
    gone = coven(cli, "discard", sid)
    assert gone.returncode == 0, gone.stderr
    assert not Path(record["worktree_path"]).exists()


def test_continue_resumes_the_recorded_conversation(repo_cli: Cli) -> None:
    cli = repo_cli
    proc = coven(cli, "run", "claude", "--detach", "--worktree", "--", "--fake-mode=sleep")
    first = cli.session(proc.stdout.strip())
    cli.run("kill", first["id"], ok=True)
    again = coven(
        cli, "run", "claude", "--detach", "--continue", first["id"][:8], "--", "--fake-mode=sleep"
    )
    assert again.returncode == 0, again.stderr
    second = cli.session(again.stdout.strip())
    assert second["continues"] == first["id"]
    assert second["conversation_id"] == first["conversation_id"]
    assert second["worktree_path"] == first["worktree_path"]
    text = cli.wait_output(second["id"], "argv=")
    assert f'"--resume", "{first["conversation_id"]}"' in text
    wrong = coven(cli, "run", "codex", "--detach", "--continue", first["id"], "x")
    assert wrong.returncode == 1 and "harness `claude`" in wrong.stderr
    cli.run("kill", second["id"], ok=True)


def test_outside_a_repository_work_commands_say_so(cli: Cli) -> None:
    sid = cli.detached("--fake-mode=sleep")
    assert cli.session(sid)["project_root"] == str(cli.project.resolve())
    for args in (("changes", sid), ("diff", sid), ("merge", sid), ("discard", sid)):
        proc = coven(cli, *args)
        assert proc.returncode == 1 and "git repository" in proc.stderr, (args, proc.stderr)
    worktree = coven(cli, "run", "codex", "--detach", "--worktree", "x")
    assert worktree.returncode == 1 and "not inside a git repository" in worktree.stderr
    usage = coven(cli, "diff", sid, "--max-bytes", "5")
    assert usage.returncode == 2
    cli.run("kill", sid, ok=True)
