"""Lanes: a session's own git worktree on branch ``coven/<short-id>``.

``create_lane`` makes one from the user's base commit and never reuses an existing
branch or directory; ``lane_state`` says what discarding it would lose;
``discard_lane`` removes worktree and branch only when nothing would be lost (or
when forced), and never deletes anything outside the worktrees directory.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

from coven.errors import (
    CovenError,
    InvalidRequest,
    LaneDirty,
    LaneExists,
    LaneNotFound,
    LanePathRefused,
    LaneUnmerged,
    RepositoryEmpty,
)
from coven.workspace.git import Git
from coven.workspace.include import copy_included, make_directory_chain
from coven.workspace.model import DiscardResult, Lane, LaneCreated, LaneState, RepoFacts
from coven.workspace.porcelain import (
    Worktree,
    display_path,
    ref_sha,
    status_paths,
    worktrees,
)

BRANCH_PREFIX = "coven/"
SHORT_ID_LENGTH = 8
# A session id becomes a directory name and part of a branch name: keep it to one
# plain path component that git accepts in a ref.
_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def lane_branch(session_id: str) -> str:
    """The branch of a session's lane: ``coven/`` and the first 8 characters of its id."""
    return BRANCH_PREFIX + _checked_id(session_id)[:SHORT_ID_LENGTH]


def create_lane(
    facts: RepoFacts,
    session_id: str,
    worktrees_dir: str | Path,
    *,
    cwd: str | Path | None = None,
    git: Git | None = None,
) -> LaneCreated:
    """Create the lane of ``session_id`` at ``worktrees_dir/<session_id>``.

    The worktree starts at ``facts.base_commit`` on a new branch ``lane_branch(id)``,
    receives the ignored files ``.worktreeinclude`` lists (see ``include``), and
    ``LaneCreated.cwd`` is ``cwd``'s counterpart inside it (created when the
    directory is not tracked; the lane's top level when ``cwd`` is outside the
    checkout). Refuses with ``LaneExists`` when the branch or directory exists,
    ``RepositoryEmpty`` without a base commit. On any failure after git created the
    worktree, the fresh worktree and branch are removed again.
    """
    git = git or Git()
    branch = lane_branch(session_id)
    if facts.base_commit is None:
        raise RepositoryEmpty(
            f"{facts.git_root} has no commit yet; a lane needs one to start from",
            {"gitRoot": facts.git_root},
        )
    home = Path(worktrees_dir)
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = home.resolve() / session_id
    if os.path.lexists(target):
        raise LaneExists(f"{target} already exists", {"path": str(target)})
    root = Path(facts.git_root)
    if ref_sha(git, root, f"refs/heads/{branch}") is not None:
        raise LaneExists(f"branch {branch} already exists", {"branch": branch})
    git.run(
        ["worktree", "add", "--quiet", "-b", branch, str(target), facts.base_commit],
        cwd=root,
        write=True,
    )
    lane = Lane(
        session_id=session_id,
        git_root=str(root),
        worktree_path=str(target),
        branch=branch,
        base_commit=facts.base_commit,
        base_branch=facts.base_branch,
    )
    try:
        included, skipped = copy_included(git, root, target)
        start = _lane_cwd(lane, cwd)
    except BaseException:
        _undo_create(git, lane)
        raise
    return LaneCreated(lane=lane, cwd=str(start), included=included, skipped=skipped)


def lane_state(lane: Lane, *, git: Git | None = None) -> LaneState:
    """What the lane holds that is not elsewhere: uncommitted files and unmerged commits.

    Unmerged commits are those reachable from the lane branch (or from whatever the
    lane's worktree has checked out, should the agent have switched branches) and not
    from the base branch; with no base branch (or a deleted one), not from the base
    commit. Read-only.
    """
    git = git or Git()
    root = Path(lane.git_root)
    head = ref_sha(git, root, f"refs/heads/{lane.branch}")
    registered = _registered(git, lane)
    worktree_exists = registered is not None and Path(lane.worktree_path).is_dir()
    dirty: tuple[str, ...] = ()
    tips = [head] if head else []
    if registered is not None and worktree_exists:
        dirty = tuple(display_path(p) for p in status_paths(git, lane.worktree_path))
        if registered.head and registered.head not in tips:
            tips.append(registered.head)
    unmerged = 0
    if tips:
        base = None
        if lane.base_branch is not None:
            base = ref_sha(git, root, f"refs/heads/{lane.base_branch}")
        count = git.run(["rev-list", "--count", *tips, "--not", base or lane.base_commit], cwd=root)
        unmerged = int(count.stdout.decode().strip() or "0")
    return LaneState(
        worktree_exists=worktree_exists,
        branch_exists=head is not None,
        head=head,
        dirty_files=dirty,
        unmerged_commits=unmerged,
    )


def discard_lane(
    lane: Lane,
    *,
    worktrees_dir: str | Path,
    force: bool = False,
    git: Git | None = None,
) -> DiscardResult:
    """Remove the lane's worktree and branch.

    Without ``force`` refuses with ``LaneDirty`` (uncommitted work, ``details.files``)
    or ``LaneUnmerged`` (``details.commits``) and changes nothing. Always refuses with
    ``LanePathRefused`` when the worktree path is not a directory directly inside
    ``worktrees_dir`` (checked on the real path), so even a forced discard cannot
    delete anything else; ``LaneNotFound`` when neither worktree nor branch exists.
    The branch is kept (and ``branch_kept`` says so) while another worktree has it
    checked out. The caller must make sure no harness still runs in the lane.
    """
    git = git or Git()
    target = _contained(lane, Path(worktrees_dir))
    state = lane_state(lane, git=git)
    registered = _registered(git, lane)
    if registered is None and not state.branch_exists and not os.path.lexists(target):
        raise LaneNotFound(
            f"lane {lane.branch} has neither a worktree nor a branch any more",
            {"branch": lane.branch, "worktreePath": lane.worktree_path},
        )
    if registered is None and os.path.lexists(target) and not force:
        raise LanePathRefused(
            f"{target} is not a worktree of {lane.git_root}; refusing to delete it unforced",
            {"worktreePath": str(target)},
        )
    if not force:
        _refuse_losses(lane, state)
    root = Path(lane.git_root)
    removed = False
    if registered is not None and state.worktree_exists:
        args = ["worktree", "remove", *(["--force", "--force"] if force else []), str(target)]
        git.run(args, cwd=root, write=True)
        removed = True
    elif registered is None and os.path.lexists(target):
        shutil.rmtree(target)  # forced, and _contained proved it is inside worktrees_dir
        removed = True
    git.run(["worktree", "prune"], cwd=root, write=True)
    deleted, kept = _delete_branch(git, lane, state.head)
    return DiscardResult(
        state=state, removed_worktree=removed, deleted_branch=deleted, branch_kept=kept
    )


def _refuse_losses(lane: Lane, state: LaneState) -> None:
    if state.dirty_files:
        raise LaneDirty(
            f"lane {lane.branch} has uncommitted work in {len(state.dirty_files)} file(s)",
            {"branch": lane.branch, "files": list(state.dirty_files)},
        )
    if state.unmerged_commits:
        raise LaneUnmerged(
            f"lane {lane.branch} has {state.unmerged_commits} commit(s) "
            f"not on {lane.base_branch or lane.base_commit[:12]}",
            {
                "branch": lane.branch,
                "baseBranch": lane.base_branch,
                "commits": state.unmerged_commits,
            },
        )


def _delete_branch(git: Git, lane: Lane, head: str | None) -> tuple[bool, str | None]:
    if head is None:
        return False, None
    ref = f"refs/heads/{lane.branch}"
    holders = [w.path for w in worktrees(git, lane.git_root) if w.branch == ref and not w.prunable]
    if holders:
        return False, f"checked out in {holders[0]}"
    # The expected old value makes the delete refuse if the branch moved since it was checked.
    git.run(["update-ref", "-d", ref, head], cwd=lane.git_root, write=True)
    return True, None


def _registered(git: Git, lane: Lane) -> Worktree | None:
    """The registered worktree at the lane's path, if git knows one there."""
    want = os.path.realpath(lane.worktree_path)
    for tree in worktrees(git, lane.git_root):
        if os.path.realpath(tree.path) == want:
            return tree
    return None


def _contained(lane: Lane, worktrees_dir: Path) -> Path:
    """The lane's path, proven to be a direct child of ``worktrees_dir`` (real paths)."""
    home = Path(os.path.realpath(worktrees_dir))
    path = Path(lane.worktree_path)
    parent = Path(os.path.realpath(path.parent))
    if not path.is_absolute() or parent != home or path.name in ("", ".", ".."):
        raise LanePathRefused(
            f"{path} is not inside the worktrees directory {home}",
            {"worktreePath": str(path), "worktreesDir": str(home)},
        )
    if path.is_symlink():
        raise LanePathRefused(f"{path} is a symlink", {"worktreePath": str(path)})
    return home / path.name


def _lane_cwd(lane: Lane, cwd: str | Path | None) -> Path:
    top = Path(lane.worktree_path)
    if cwd is None:
        return top
    mapped = lane.map_path(cwd)
    parts = mapped.relative_to(top).parts
    if make_directory_chain(Path(lane.git_root), top, parts):
        return mapped
    return top  # a symlink or file in the lane where the directory should be


def _undo_create(git: Git, lane: Lane) -> None:
    """Remove a lane this call created a moment ago; it holds nothing of anyone's yet."""
    with contextlib.suppress(CovenError, OSError):
        git.run(
            ["worktree", "remove", "--force", "--force", lane.worktree_path],
            cwd=lane.git_root,
            write=True,
        )
    with contextlib.suppress(CovenError, OSError):
        git.run(["branch", "-D", lane.branch], cwd=lane.git_root, write=True)


def _checked_id(session_id: str) -> str:
    if not _SESSION_ID.fullmatch(session_id):
        raise InvalidRequest(
            "a lane's session id must be 1-128 letters, digits, '-' or '_'",
            {"sessionId": session_id},
        )
    return session_id
