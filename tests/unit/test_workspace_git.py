"""How git runs: deadlines that kill the whole process group, a sealed environment, clear errors."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from coven.errors import GitFailed, GitTimeout, GitUnavailable
from coven.workspace import Git, repository_facts
from tests.support.gitrepo import GitSandbox


@pytest.fixture
def sandbox(tmp_path: Path) -> GitSandbox:
    return GitSandbox(tmp_path)


def _fake_git(directory: Path, body: str) -> dict[str, str]:
    directory.mkdir()
    script = directory / "git"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return {"PATH": str(directory), "HOME": str(directory)}


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def test_a_hanging_git_times_out_and_its_children_are_killed(tmp_path: Path) -> None:
    """A git (or a hook or filter it ran) that never finishes must not hang the daemon's worker."""
    pidfile = tmp_path / "child.pid"
    env = _fake_git(tmp_path / "bin", f"/bin/sleep 30 &\necho $! > {pidfile}\nwait\n")
    git = Git(env=env, read_timeout=0.5)
    started = time.monotonic()
    with pytest.raises(GitTimeout) as caught:
        git.run(["status"], cwd=tmp_path)
    assert time.monotonic() - started < 5.0
    assert caught.value.code == "git_timeout"
    assert caught.value.status == 504
    assert caught.value.details == {"command": "status", "timeoutSeconds": 0.5}
    # The grandchild held the output pipe open; it died with the process group.
    assert _gone(int(pidfile.read_text()), within=3.0)


def test_a_hanging_git_times_out_during_facts_too(tmp_path: Path) -> None:
    env = _fake_git(tmp_path / "bin", "exec /bin/sleep 30\n")
    with pytest.raises(GitTimeout):
        repository_facts(tmp_path, git=Git(env=env, read_timeout=0.3))


def test_writes_get_the_longer_deadline(tmp_path: Path) -> None:
    env = _fake_git(tmp_path / "bin", "exec /bin/sleep 0.6\n")
    git = Git(env=env, read_timeout=0.2, write_timeout=5.0)
    assert git.run(["commit"], cwd=tmp_path, write=True).returncode == 0
    with pytest.raises(GitTimeout):
        git.run(["status"], cwd=tmp_path)


def test_no_git_on_path_is_git_unavailable(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    with pytest.raises(GitUnavailable) as caught:
        repository_facts(tmp_path, git=Git(env={"PATH": str(empty)}))
    assert caught.value.code == "git_unavailable"
    assert caught.value.status == 503


def test_a_failing_command_reports_its_exit_status_and_stderr(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    with pytest.raises(GitFailed) as caught:
        sandbox.git.run(["rev-parse", "--verify", "no-such-ref"], cwd=repo)
    details = caught.value.details or {}
    assert details["exitCode"] == 128
    assert details["command"] == "rev-parse --verify no-such-ref"
    assert "Needed a single revision" in details["stderr"]
    assert "Needed a single revision" in caught.value.message


def test_git_runs_with_a_sealed_environment(tmp_path: Path) -> None:
    """Only allowlisted variables pass; prompts, pagers and editors are switched off."""
    dump = tmp_path / "env.txt"
    env = _fake_git(tmp_path / "bin", f'/usr/bin/env > {dump}\necho "$@" >> {dump}\n')
    env.update(
        GIT_DIR="/elsewhere",
        GIT_INDEX_FILE="/elsewhere/index",
        GIT_CONFIG_PARAMETERS="'core.hooksPath'='/evil'",
        SECRET_TOKEN="s3cr3t",
        GIT_AUTHOR_NAME="Someone",
    )
    Git(env=env).run(["status"], cwd=tmp_path)
    seen = dump.read_text()
    assert "GIT_DIR=" not in seen
    assert "GIT_INDEX_FILE=" not in seen
    assert "GIT_CONFIG_PARAMETERS" not in seen
    assert "s3cr3t" not in seen
    assert "GIT_AUTHOR_NAME=Someone" in seen
    for fixed in ("LC_ALL=C", "GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0", "GIT_EDITOR=:"):
        assert fixed in seen.splitlines()
    assert "-c core.hooksPath=/dev/null" in seen
    assert "-c core.fsmonitor=false" in seen
    assert "-c gc.auto=0" in seen


def test_write_commands_keep_optional_locks(tmp_path: Path) -> None:
    dump = tmp_path / "env.txt"
    env = _fake_git(tmp_path / "bin", f"/usr/bin/env > {dump}\n")
    Git(env=env).run(["commit"], cwd=tmp_path, write=True)
    assert "GIT_OPTIONAL_LOCKS" not in dump.read_text()


def test_large_input_and_output_do_not_deadlock(sandbox: GitSandbox) -> None:
    """stdin is fed while stdout is drained, so a big path list through --stdin completes."""
    repo = sandbox.repo()
    paths = b"".join(b"dir/file-%06d.txt\0" % i for i in range(40000))
    out = sandbox.git.run(
        ["check-ignore", "-z", "--stdin", "--no-index", "--verbose", "--non-matching"],
        cwd=repo,
        ok=(0, 1),
        input=paths,
    )
    assert out.stdout.count(b"dir/file-") == 40000


def test_version_is_read_as_numbers(sandbox: GitSandbox) -> None:
    version = sandbox.git.version()
    assert len(version) >= 2
    assert version >= (2, 0)
