"""Merging a lane: fast-forward or merge commit, and every refusal leaves everything as it was."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from coven.errors import (
    CheckoutDirty,
    CheckoutNotOnBase,
    GitFailed,
    LaneDirty,
    MergeConflict,
    NoBaseBranch,
)
from coven.workspace import (
    Git,
    GitResult,
    Lane,
    MergeMode,
    create_lane,
    discard_lane,
    lane_state,
    merge_lane,
    repository_facts,
)
from tests.support.gitrepo import GitSandbox, fingerprint, write

SESSION = "5e55i0n0-0000-4000-8000-00000000abcd"


@pytest.fixture
def sandbox(tmp_path: Path) -> GitSandbox:
    return GitSandbox(tmp_path)


def _setup(sandbox: GitSandbox, files: dict[str, str] | None = None) -> tuple[Path, Lane, Path]:
    repo = sandbox.repo(files=files)
    facts = repository_facts(repo, git=sandbox.git)
    assert facts is not None
    lane = create_lane(facts, SESSION, sandbox.worktrees, git=sandbox.git).lane
    return repo, lane, Path(lane.worktree_path)


def _parents(sandbox: GitSandbox, repo: Path, commit: str) -> list[str]:
    return sandbox.run(repo, "rev-list", "--parents", "-n", "1", commit).split()[1:]


def test_a_lane_on_an_unmoved_base_fast_forwards(sandbox: GitSandbox) -> None:
    repo, lane, top = _setup(sandbox)
    write(top, {"src/app.py": "print('two')\n", "added.txt": "new\n"})
    lane_head = sandbox.commit_all(top, "lane work")
    result = merge_lane(lane, git=sandbox.git)
    assert result.mode is MergeMode.FAST_FORWARD
    assert result.branch == "main"
    assert result.head == lane_head == sandbox.head(repo)
    assert (repo / "src" / "app.py").read_text() == "print('two')\n"
    assert (repo / "added.txt").read_text() == "new\n"
    assert sandbox.run(repo, "status", "--porcelain") == ""
    assert lane_state(lane, git=sandbox.git).unmerged_commits == 0
    # Merged work is no longer at risk: a plain discard is allowed now.
    discard_lane(lane, worktrees_dir=sandbox.worktrees, git=sandbox.git)


def test_a_moved_base_gets_a_merge_commit_with_both_sides(sandbox: GitSandbox) -> None:
    repo, lane, top = _setup(sandbox)
    write(top, {"lane.txt": "from the lane\n"})
    lane_head = sandbox.commit_all(top, "lane work")
    write(repo, {"user.txt": "from the user\n"})
    user_head = sandbox.commit_all(repo, "user work")
    result = merge_lane(lane, git=sandbox.git)
    assert result.mode is MergeMode.MERGE_COMMIT
    assert result.head == sandbox.head(repo)
    assert _parents(sandbox, repo, result.head) == [user_head, lane_head]
    assert (repo / "lane.txt").exists() and (repo / "user.txt").exists()
    message = sandbox.run(repo, "log", "-1", "--format=%s%n%an")
    assert message == f"Merge coven/5e55i0n0 (Coven session {SESSION})\nTest Author"
    assert sandbox.run(repo, "status", "--porcelain") == ""
    assert not (repo / ".git" / "MERGE_HEAD").exists()
    assert lane_state(lane, git=sandbox.git).unmerged_commits == 0


def test_merging_again_is_up_to_date(sandbox: GitSandbox) -> None:
    repo, lane, top = _setup(sandbox)
    write(top, {"lane.txt": "x\n"})
    sandbox.commit_all(top, "lane work")
    merge_lane(lane, git=sandbox.git)
    again = merge_lane(lane, git=sandbox.git)
    assert again.mode is MergeMode.UP_TO_DATE
    assert again.head == sandbox.head(repo)


def test_a_conflict_is_refused_with_its_files_and_nothing_changes(sandbox: GitSandbox) -> None:
    repo, lane, top = _setup(sandbox, {"shared.txt": "base\n", "other.txt": "o\n"})
    write(top, {"shared.txt": "lane version\n", "other.txt": "lane o\n"})
    sandbox.commit_all(top, "lane edits")
    write(repo, {"shared.txt": "user version\n"})
    sandbox.commit_all(repo, "user edits")
    write(repo, {"scratch.txt": "an untracked note\n"})  # local state must survive too
    before = fingerprint(repo)
    lane_before = fingerprint(top)
    with pytest.raises(MergeConflict) as caught:
        merge_lane(lane, git=sandbox.git)
    assert caught.value.code == "merge_conflict"
    assert caught.value.status == 409
    assert caught.value.details == {"files": ["shared.txt"]}
    assert fingerprint(repo) == before
    assert fingerprint(top) == lane_before
    assert sandbox.run(repo, "status", "--porcelain") == "?? scratch.txt"


def test_local_changes_to_files_the_merge_writes_are_refused(sandbox: GitSandbox) -> None:
    repo, lane, top = _setup(sandbox)
    write(top, {"src/app.py": "lane\n", "new/file.txt": "lane adds\n"})
    sandbox.commit_all(top, "lane work")
    write(repo, {"src/app.py": "user's unsaved edit\n", "new/file.txt": "user's own untracked\n"})
    before = fingerprint(repo)
    with pytest.raises(CheckoutDirty) as caught:
        merge_lane(lane, git=sandbox.git)
    assert caught.value.code == "checkout_dirty"
    assert caught.value.details == {"files": ["new/file.txt", "src/app.py"]}
    assert fingerprint(repo) == before


def test_an_ignored_file_in_the_way_of_an_added_file_is_refused(sandbox: GitSandbox) -> None:
    """git would overwrite an ignored file silently; Coven does not."""
    repo, lane, top = _setup(sandbox, {".gitignore": "*.cache\n", "a.txt": "a\n"})
    write(top, {"keep.cache": "lane forces it in\n"})
    sandbox.run(top, "add", "-f", "keep.cache")
    sandbox.run(top, "commit", "-q", "-m", "add an ignored-pattern file")
    write(repo, {"keep.cache": "user's local cache\n"})
    with pytest.raises(CheckoutDirty) as caught:
        merge_lane(lane, git=sandbox.git)
    assert caught.value.details == {"files": ["keep.cache"]}
    assert (repo / "keep.cache").read_text() == "user's local cache\n"


def test_local_changes_elsewhere_do_not_block_and_survive(sandbox: GitSandbox) -> None:
    repo, lane, top = _setup(sandbox)
    write(top, {"lane.txt": "lane\n"})
    sandbox.commit_all(top, "lane work")
    write(repo, {"README.md": "user's unsaved edit\n", "notes.txt": "untracked\n"})
    sandbox.run(repo, "add", "notes.txt")
    result = merge_lane(lane, git=sandbox.git)
    assert result.mode is MergeMode.FAST_FORWARD
    assert (repo / "README.md").read_text() == "user's unsaved edit\n"
    assert (repo / "lane.txt").read_text() == "lane\n"
    assert sandbox.run(repo, "diff", "--name-only") == "README.md"  # still unstaged
    assert sandbox.run(repo, "diff", "--cached", "--name-only") == "notes.txt"  # still staged


def test_a_checkout_on_another_branch_is_refused(sandbox: GitSandbox) -> None:
    repo, lane, top = _setup(sandbox)
    write(top, {"lane.txt": "lane\n"})
    sandbox.commit_all(top, "lane work")
    sandbox.run(repo, "checkout", "-q", "-b", "elsewhere")
    before = fingerprint(repo)
    with pytest.raises(CheckoutNotOnBase) as caught:
        merge_lane(lane, git=sandbox.git)
    assert caught.value.code == "checkout_not_on_base_branch"
    assert caught.value.details == {"expected": "main", "actual": "elsewhere"}
    assert fingerprint(repo) == before
    sandbox.run(repo, "checkout", "-q", "--detach")
    with pytest.raises(CheckoutNotOnBase) as detached:
        merge_lane(lane, git=sandbox.git)
    assert detached.value.details == {"expected": "main", "actual": None}


def test_a_lane_started_on_a_detached_head_has_nowhere_to_merge(sandbox: GitSandbox) -> None:
    _, lane, _ = _setup(sandbox)
    detached = Lane(
        session_id=lane.session_id,
        git_root=lane.git_root,
        worktree_path=lane.worktree_path,
        branch=lane.branch,
        base_commit=lane.base_commit,
        base_branch=None,
    )
    with pytest.raises(NoBaseBranch) as caught:
        merge_lane(detached, git=sandbox.git)
    assert caught.value.code == "no_base_branch"


def test_uncommitted_lane_work_is_refused_unless_a_commit_message_is_given(
    sandbox: GitSandbox,
) -> None:
    repo, lane, top = _setup(sandbox)
    write(top, {"src/app.py": "agent edit\n", "brand-new.txt": "agent file\n"})
    before = fingerprint(repo)
    with pytest.raises(LaneDirty) as caught:
        merge_lane(lane, git=sandbox.git)
    assert caught.value.code == "lane_dirty"
    assert (caught.value.details or {})["files"] == ["brand-new.txt", "src/app.py"]
    assert fingerprint(repo) == before
    assert sandbox.run(top, "status", "--porcelain") != ""

    result = merge_lane(lane, commit_message="Agent's work", git=sandbox.git)
    assert result.mode is MergeMode.FAST_FORWARD
    assert result.lane_commit is not None
    assert result.head == result.lane_commit == sandbox.head(repo)
    assert sandbox.run(repo, "log", "-1", "--format=%s") == "Agent's work"
    assert (repo / "brand-new.txt").read_text() == "agent file\n"
    assert sandbox.run(top, "status", "--porcelain") == ""


def test_a_refused_merge_does_not_commit_the_lanes_work_either(sandbox: GitSandbox) -> None:
    repo, lane, top = _setup(sandbox, {"shared.txt": "base\n"})
    write(top, {"shared.txt": "lane version\n"})  # uncommitted
    write(repo, {"shared.txt": "user version\n"})
    sandbox.commit_all(repo, "user edits")
    lane_before, repo_before = fingerprint(top), fingerprint(repo)
    branch_before = sandbox.run(repo, "rev-parse", lane.branch)
    with pytest.raises(MergeConflict) as caught:
        merge_lane(lane, commit_message="lane work", git=sandbox.git)
    assert caught.value.details == {"files": ["shared.txt"]}
    assert sandbox.run(repo, "rev-parse", lane.branch) == branch_before
    assert fingerprint(top) == lane_before
    assert fingerprint(repo) == repo_before
    assert lane_state(lane, git=sandbox.git).dirty_files == ("shared.txt",)


def test_without_a_configured_identity_commits_are_made_as_coven(sandbox: GitSandbox) -> None:
    config = sandbox.base / "gitconfig"
    config.write_text("[user]\n\tuseConfigOnly = true\n")
    repo, lane, top = _setup(sandbox)
    write(top, {"lane.txt": "lane\n"})
    sandbox.commit_all(top, "lane work")
    write(repo, {"user.txt": "user\n"})
    sandbox.commit_all(repo, "user work")
    env = {
        k: v for k, v in sandbox.env.items() if not k.startswith(("GIT_AUTHOR", "GIT_COMMITTER"))
    }
    env["GIT_CONFIG_GLOBAL"] = str(config)
    result = merge_lane(lane, git=Git(env=env))
    assert result.mode is MergeMode.MERGE_COMMIT
    assert sandbox.run(repo, "log", "-1", "--format=%an <%ae>") == "Coven <coven@localhost>"


def test_a_branch_that_cannot_be_moved_leaves_no_half_merge(sandbox: GitSandbox) -> None:
    """git merge --ff-only would write the files, then fail on the lock: new files, old HEAD."""
    repo, lane, top = _setup(sandbox)
    write(top, {"src/app.py": "lane\n"})
    sandbox.commit_all(top, "lane work")
    lock = repo / ".git" / "refs" / "heads" / "main.lock"  # another git holds the branch
    lock.write_text("")
    before = fingerprint(repo)
    with pytest.raises(GitFailed) as caught:
        merge_lane(lane, git=sandbox.git)
    assert "main.lock" in caught.value.message
    assert fingerprint(repo) == before
    assert (repo / "src" / "app.py").read_text() == "print('one')\n"


class _FailingReadTree(Git):
    """Real git, except that updating the files fails, as a racing local edit would make it."""

    def run(self, args: Sequence[str], **kw: Any) -> GitResult:
        if args[:1] == ["read-tree"]:
            raise GitFailed("read-tree refused (injected)")
        return super().run(args, **kw)


def test_a_refused_file_update_puts_the_branch_back(sandbox: GitSandbox) -> None:
    repo, lane, top = _setup(sandbox)
    write(top, {"src/app.py": "lane\n"})
    sandbox.commit_all(top, "lane work")
    head = sandbox.head(repo)
    before = fingerprint(repo)
    with pytest.raises(GitFailed, match="injected"):
        merge_lane(lane, git=_FailingReadTree(env=sandbox.env))
    assert sandbox.head(repo) == head
    assert fingerprint(repo) == before
    assert sandbox.run(repo, "status", "--porcelain") == ""


def test_a_merge_can_be_undone_with_orig_head(sandbox: GitSandbox) -> None:
    repo, lane, top = _setup(sandbox)
    head = sandbox.head(repo)
    write(top, {"lane.txt": "lane\n"})
    sandbox.commit_all(top, "lane work")
    merge_lane(lane, git=sandbox.git)
    assert sandbox.run(repo, "rev-parse", "ORIG_HEAD") == head
    assert "coven merge coven/5e55i0n0" in sandbox.run(repo, "reflog", "-1", "main")


def test_the_users_hooks_never_run(sandbox: GitSandbox) -> None:
    """Hooks of the repository (or a hooksPath in its config) must not run, block or veto."""
    repo = sandbox.repo()
    marker = sandbox.base / "hook-ran"
    hooks = repo / ".git" / "hooks"
    for name in (
        "post-checkout",
        "pre-commit",
        "commit-msg",
        "post-commit",
        "reference-transaction",
    ):
        hook = hooks / name
        hook.write_text(f"#!/bin/sh\necho {name} >> {marker}\nexit 1\n")
        hook.chmod(0o755)
    facts = repository_facts(repo, git=sandbox.git)
    assert facts is not None
    lane = create_lane(facts, SESSION, sandbox.worktrees, git=sandbox.git).lane
    write(Path(lane.worktree_path), {"lane.txt": "lane\n"})
    write(repo, {"user.txt": "user\n"})
    sandbox.run(repo, "-c", "core.hooksPath=/dev/null", "add", "user.txt")
    sandbox.run(repo, "-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "user")
    result = merge_lane(lane, commit_message="lane work", git=sandbox.git)
    assert result.mode is MergeMode.MERGE_COMMIT
    assert not marker.exists()
