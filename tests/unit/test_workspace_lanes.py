"""Lanes: a worktree per session, what it copies in, what it holds, and guarded discard."""

from __future__ import annotations

import os
import shutil
import stat
import threading
from pathlib import Path

import pytest

from coven.errors import (
    InvalidRequest,
    LaneDirty,
    LaneExists,
    LaneNotFound,
    LanePathRefused,
    LaneUnmerged,
    RepositoryEmpty,
)
from coven.workspace import (
    Lane,
    LaneCreated,
    RepoFacts,
    SkippedInclude,
    changes,
    create_lane,
    discard_lane,
    lane_branch,
    lane_state,
    repository_facts,
)
from tests.support.gitrepo import GitSandbox, write

SESSION = "0f1e2d3c-4b5a-4678-9abc-def012345678"
OTHER = "a1b2c3d4-0000-4000-8000-000000000001"


@pytest.fixture
def sandbox(tmp_path: Path) -> GitSandbox:
    return GitSandbox(tmp_path)


def _facts(sandbox: GitSandbox, repo: Path) -> RepoFacts:
    facts = repository_facts(repo, git=sandbox.git)
    assert facts is not None
    return facts


def _lane(
    sandbox: GitSandbox, repo: Path, session: str = SESSION, cwd: Path | None = None
) -> LaneCreated:
    return create_lane(_facts(sandbox, repo), session, sandbox.worktrees, cwd=cwd, git=sandbox.git)


def test_a_lane_is_a_worktree_on_its_own_branch_from_the_base_commit(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    created = _lane(sandbox, repo)
    lane = created.lane
    assert lane.branch == "coven/0f1e2d3c" == lane_branch(SESSION)
    assert lane.worktree_path == str(sandbox.worktrees.resolve() / SESSION)
    assert lane.base_commit == sandbox.head(repo)
    assert lane.base_branch == "main"
    assert lane.git_root == str(repo)
    top = Path(lane.worktree_path)
    assert (top / "src" / "app.py").read_text() == "print('one')\n"
    assert sandbox.run(top, "rev-parse", "--abbrev-ref", "HEAD") == "coven/0f1e2d3c"
    assert created.cwd == lane.worktree_path
    assert stat.S_IMODE(sandbox.worktrees.stat().st_mode) == 0o700
    # The user's checkout is untouched: same branch, nothing new in it.
    assert sandbox.run(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert sandbox.run(repo, "status", "--porcelain") == ""


def test_the_start_directory_maps_into_the_lane(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    (repo / "build" / "out").mkdir(parents=True)  # untracked: absent from a fresh worktree
    created = _lane(sandbox, repo, cwd=repo / "src")
    assert created.cwd == str(Path(created.lane.worktree_path) / "src")
    other = _lane(sandbox, repo, OTHER, cwd=repo / "build" / "out")
    assert other.cwd == str(Path(other.lane.worktree_path) / "build" / "out")
    assert Path(other.cwd).is_dir()
    outside = sandbox.base / "elsewhere"
    assert created.lane.map_path(outside) == Path(created.lane.worktree_path)


def test_worktreeinclude_copies_only_matching_ignored_files(sandbox: GitSandbox) -> None:
    repo = sandbox.repo(
        files={
            ".gitignore": ".env\n*.local.json\nsecrets/\nbuild/\n",
            ".worktreeinclude": ".env\n*.local.json\nsecrets/*\nnotes.txt\n!secrets/skip.key\n",
            "README.md": "hi\n",
        }
    )
    write(
        repo,
        {
            ".env": "TOKEN=1\n",
            "config/app.local.json": "{}\n",
            "secrets/a.key": "A\n",
            "secrets/skip.key": "S\n",
            "notes.txt": "matched but not ignored: work in progress, not configuration\n",
            "build/cache.bin": "ignored but not listed\n",
        },
    )
    (repo / ".env").chmod(0o600)
    (repo / "secrets" / "a.key").chmod(0o640)
    created = _lane(sandbox, repo)
    top = Path(created.lane.worktree_path)
    assert created.included == (".env", "config/app.local.json", "secrets/a.key")
    assert created.skipped == ()
    assert (top / ".env").read_text() == "TOKEN=1\n"
    assert stat.S_IMODE((top / ".env").stat().st_mode) == 0o600
    assert stat.S_IMODE((top / "secrets" / "a.key").stat().st_mode) == 0o640
    assert not (top / "secrets" / "skip.key").exists()
    assert not (top / "notes.txt").exists()
    assert not (top / "build").exists()
    # Copied configuration is ignored in the lane too: it is not the lane's work.
    assert lane_state(created.lane, git=sandbox.git).dirty_files == ()


def test_worktreeinclude_never_follows_symlinks_out_of_the_repository(sandbox: GitSandbox) -> None:
    outside = sandbox.base / "outside.txt"
    outside.write_text("not yours\n")
    repo = sandbox.repo(
        files={
            ".gitignore": "*.env\nlinked/\n",
            ".worktreeinclude": "*.env\nlinked/\n",
            "README.md": "hi\n",
        }
    )
    write(repo, {"real.env": "A=1\n"})
    (repo / "escape.env").symlink_to(outside)
    (repo / "inside.env").symlink_to("real.env")
    outside_dir = sandbox.base / "outside-dir"
    outside_dir.mkdir()
    (outside_dir / "x.env").write_text("nope\n")
    (repo / "linked").symlink_to(outside_dir)
    created = _lane(sandbox, repo)
    top = Path(created.lane.worktree_path)
    assert "real.env" in created.included
    assert "inside.env" in created.included
    assert os.readlink(top / "inside.env") == "real.env"
    assert SkippedInclude(
        path="escape.env", reason="a symlink that leads out of the repository"
    ) in (created.skipped)
    assert not os.path.lexists(top / "escape.env")
    assert not (top / "linked" / "x.env").exists()


def test_worktreeinclude_never_overwrites_a_file_in_the_lane(sandbox: GitSandbox) -> None:
    repo = sandbox.repo(files={"settings.env": "committed\n", "README.md": "hi\n"})
    sandbox.run(repo, "rm", "-q", "--cached", "settings.env")
    write(repo, {".gitignore": "settings.env\n", ".worktreeinclude": "settings.env\n"})
    (repo / "settings.env").write_text("local\n")
    sandbox.commit_all(repo, "stop tracking settings")
    # The lane starts from the commit *before*, which still tracks settings.env.
    facts = _facts(sandbox, repo)
    older = RepoFacts(
        git_root=facts.git_root,
        base_commit=sandbox.run(repo, "rev-parse", "HEAD~1"),
        base_branch="main",
    )
    created = create_lane(older, SESSION, sandbox.worktrees, git=sandbox.git)
    top = Path(created.lane.worktree_path)
    assert (top / "settings.env").read_text() == "committed\n"
    assert [s.path for s in created.skipped] == ["settings.env"]


def test_an_existing_directory_or_branch_is_never_reused(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    taken = sandbox.worktrees / SESSION
    taken.mkdir(parents=True)
    (taken / "keep.txt").write_text("mine\n")
    with pytest.raises(LaneExists) as caught:
        _lane(sandbox, repo)
    assert caught.value.code == "lane_exists"
    assert (taken / "keep.txt").read_text() == "mine\n"

    sandbox.run(repo, "branch", "coven/a1b2c3d4")
    before = sandbox.run(repo, "rev-parse", "coven/a1b2c3d4")
    with pytest.raises(LaneExists):
        _lane(sandbox, repo, OTHER)
    assert sandbox.run(repo, "rev-parse", "coven/a1b2c3d4") == before
    assert not (sandbox.worktrees / OTHER).exists()


def test_a_lane_needs_a_commit_and_a_plain_session_id(sandbox: GitSandbox) -> None:
    empty = sandbox.base / "empty"
    empty.mkdir()
    sandbox.run(empty, "init", "-q", "-b", "main")
    with pytest.raises(RepositoryEmpty) as caught:
        _lane(sandbox, empty)
    assert caught.value.code == "repository_empty"
    repo = sandbox.repo()
    for bad in ("../escape", "a/b", "", ".hidden", "x" * 200, "white space"):
        with pytest.raises(InvalidRequest):
            _lane(sandbox, repo, bad)
    assert not sandbox.worktrees.exists() or list(sandbox.worktrees.iterdir()) == []


def test_two_concurrent_lanes_keep_their_changes_apart(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    made: dict[str, LaneCreated] = {}
    errors: list[BaseException] = []

    def make(session: str) -> None:
        try:
            made[session] = _lane(sandbox, repo, session)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=make, args=(s,)) for s in (SESSION, OTHER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    one, two = made[SESSION].lane, made[OTHER].lane
    write(Path(one.worktree_path), {"src/app.py": "print('lane one')\n"})
    write(Path(two.worktree_path), {"docs/new.md": "lane two\n"})
    sandbox.run(Path(two.worktree_path), "add", "docs/new.md")
    sandbox.run(Path(two.worktree_path), "commit", "-q", "-m", "docs")

    first = changes(one.worktree_path, one.base_commit, git=sandbox.git)
    second = changes(two.worktree_path, two.base_commit, git=sandbox.git)
    assert [(f.path, f.status) for f in first.files] == [("src/app.py", "modified")]
    assert [(f.path, f.status) for f in second.files] == [("docs/new.md", "added")]
    assert sandbox.run(repo, "status", "--porcelain") == ""
    assert (repo / "src" / "app.py").read_text() == "print('one')\n"


def test_lane_state_counts_uncommitted_files_and_unmerged_commits(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    lane = _lane(sandbox, repo).lane
    top = Path(lane.worktree_path)
    clean = lane_state(lane, git=sandbox.git)
    assert clean.safe_to_discard
    assert (clean.worktree_exists, clean.branch_exists) == (True, True)
    assert clean.head == lane.base_commit

    write(top, {"src/app.py": "changed\n", "new.txt": "new\n"})
    dirty = lane_state(lane, git=sandbox.git)
    assert dirty.dirty_files == ("new.txt", "src/app.py")
    assert dirty.unmerged_commits == 0
    assert not dirty.safe_to_discard

    sandbox.commit_all(top, "work")
    committed = lane_state(lane, git=sandbox.git)
    assert committed.dirty_files == ()
    assert committed.unmerged_commits == 1
    assert committed.head == sandbox.head(top)


def test_lane_state_sees_commits_on_a_branch_the_agent_switched_to(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    lane = _lane(sandbox, repo).lane
    top = Path(lane.worktree_path)
    sandbox.run(top, "checkout", "-q", "-b", "agent-side-branch")
    write(top, {"side.txt": "side\n"})
    sandbox.commit_all(top, "side work")
    assert lane_state(lane, git=sandbox.git).unmerged_commits == 1


def test_discard_refuses_uncommitted_work_and_changes_nothing(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    lane = _lane(sandbox, repo).lane
    top = Path(lane.worktree_path)
    write(top, {"draft.txt": "unsaved thoughts\n"})
    with pytest.raises(LaneDirty) as caught:
        discard_lane(lane, worktrees_dir=sandbox.worktrees, git=sandbox.git)
    assert caught.value.code == "lane_dirty"
    assert caught.value.details == {"branch": lane.branch, "files": ["draft.txt"]}
    assert (top / "draft.txt").read_text() == "unsaved thoughts\n"
    assert lane_state(lane, git=sandbox.git).branch_exists


def test_discard_refuses_unmerged_commits_and_changes_nothing(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    lane = _lane(sandbox, repo).lane
    top = Path(lane.worktree_path)
    write(top, {"feature.txt": "done\n"})
    sandbox.commit_all(top, "feature")
    with pytest.raises(LaneUnmerged) as caught:
        discard_lane(lane, worktrees_dir=sandbox.worktrees, git=sandbox.git)
    assert caught.value.code == "lane_unmerged"
    assert (caught.value.details or {})["commits"] == 1
    assert (top / "feature.txt").exists()
    assert sandbox.run(repo, "rev-parse", lane.branch) == sandbox.head(top)


def test_forced_discard_removes_worktree_and_branch(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    lane = _lane(sandbox, repo).lane
    top = Path(lane.worktree_path)
    write(top, {"feature.txt": "done\n"})
    sandbox.commit_all(top, "feature")
    write(top, {"draft.txt": "more\n"})
    result = discard_lane(lane, worktrees_dir=sandbox.worktrees, force=True, git=sandbox.git)
    assert result.removed_worktree and result.deleted_branch
    assert result.state.unmerged_commits == 1
    assert result.state.dirty_files == ("draft.txt",)
    assert not top.exists()
    assert sandbox.run(repo, "branch", "--list", lane.branch) == ""
    assert SESSION not in sandbox.run(repo, "worktree", "list")
    assert (repo / "README.md").exists()


def test_a_clean_lane_is_discarded_without_force(sandbox: GitSandbox) -> None:
    repo = sandbox.repo(files={".gitignore": ".env\n", ".worktreeinclude": ".env\n", "a": "a\n"})
    (repo / ".env").write_text("X=1\n")
    lane = _lane(sandbox, repo).lane
    result = discard_lane(lane, worktrees_dir=sandbox.worktrees, git=sandbox.git)
    assert result.removed_worktree and result.deleted_branch
    assert not Path(lane.worktree_path).exists()
    assert (repo / ".env").read_text() == "X=1\n"
    with pytest.raises(LaneNotFound) as caught:
        discard_lane(lane, worktrees_dir=sandbox.worktrees, git=sandbox.git)
    assert caught.value.code == "lane_not_found"


def test_even_a_forced_discard_never_deletes_outside_the_worktrees_dir(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    lane = _lane(sandbox, repo).lane
    precious = sandbox.base / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work\n")
    for path in (precious, repo, sandbox.worktrees / ".." / "precious", Path("relative")):
        forged = Lane(**{**_fields(lane), "worktree_path": str(path)})
        with pytest.raises(LanePathRefused) as caught:
            discard_lane(forged, worktrees_dir=sandbox.worktrees, force=True, git=sandbox.git)
        assert caught.value.code == "lane_path_refused"
    # A symlink inside the worktrees dir that leads elsewhere is refused too.
    trap = sandbox.worktrees / "trap"
    trap.symlink_to(precious)
    forged = Lane(**{**_fields(lane), "worktree_path": str(trap)})
    with pytest.raises(LanePathRefused):
        discard_lane(forged, worktrees_dir=sandbox.worktrees, force=True, git=sandbox.git)
    assert (precious / "thesis.tex").read_text() == "years of work\n"
    assert (repo / "README.md").exists()
    assert Path(lane.worktree_path).is_dir()


def test_a_directory_git_does_not_know_is_only_deleted_when_forced(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    stray = Lane(
        session_id=OTHER,
        git_root=str(repo),
        worktree_path=str(sandbox.worktrees.resolve() / OTHER),
        branch=lane_branch(OTHER),
        base_commit=sandbox.head(repo),
        base_branch="main",
    )
    Path(stray.worktree_path).mkdir(parents=True)
    (Path(stray.worktree_path) / "left.txt").write_text("left over\n")
    with pytest.raises(LanePathRefused):
        discard_lane(stray, worktrees_dir=sandbox.worktrees, git=sandbox.git)
    assert (Path(stray.worktree_path) / "left.txt").exists()
    result = discard_lane(stray, worktrees_dir=sandbox.worktrees, force=True, git=sandbox.git)
    assert result.removed_worktree
    assert not Path(stray.worktree_path).exists()


def test_a_lane_whose_directory_vanished_is_discarded_by_branch(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    lane = _lane(sandbox, repo).lane
    shutil.rmtree(lane.worktree_path)
    state = lane_state(lane, git=sandbox.git)
    assert (state.worktree_exists, state.branch_exists) == (False, True)
    result = discard_lane(lane, worktrees_dir=sandbox.worktrees, git=sandbox.git)
    assert result.deleted_branch and not result.removed_worktree
    assert sandbox.run(repo, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_a_branch_checked_out_elsewhere_is_kept(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    lane = _lane(sandbox, repo).lane
    sandbox.run(Path(lane.worktree_path), "checkout", "-q", "--detach")
    sandbox.run(repo, "checkout", "-q", lane.branch)
    result = discard_lane(lane, worktrees_dir=sandbox.worktrees, git=sandbox.git)
    assert result.removed_worktree
    assert not result.deleted_branch
    assert result.branch_kept == f"checked out in {repo}"
    assert sandbox.run(repo, "rev-parse", "--abbrev-ref", "HEAD") == lane.branch


def _fields(lane: Lane) -> dict[str, str | None]:
    return {
        "session_id": lane.session_id,
        "git_root": lane.git_root,
        "worktree_path": lane.worktree_path,
        "branch": lane.branch,
        "base_commit": lane.base_commit,
        "base_branch": lane.base_branch,
    }
