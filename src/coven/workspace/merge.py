"""Merging a lane into the base branch of the user's checkout, all or nothing.

Every check runs before anything is written:

1. the lane has a base branch and the checkout has it checked out
   (``NoBaseBranch``, ``CheckoutNotOnBase``);
2. the lane has no uncommitted work, or the caller gave a message to commit it with
   (``LaneDirty``) — that commit is built as an object first and recorded on the
   lane's branch only once every check below has passed;
3. the merged tree is computed in the object database only (``git merge-tree
   --write-tree``, git 2.38 or newer); conflicts refuse with their files
   (``MergeConflict``);
4. no file the merge would write has local changes in the checkout, and no file it
   would add is already there untracked or ignored (``CheckoutDirty``).

Then the merge commit (when a fast-forward is not possible) is built with
``commit-tree``, the branch is moved to it with a compare-and-swap ``update-ref``,
and ``read-tree -m -u`` brings index and files along, verifying before it writes
that no local change would be overwritten (and the branch is moved back if it
refuses). So the checkout moves completely or not at all: there is never a
half-merged state, conflict markers or a MERGE_HEAD to clean up.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from coven.errors import (
    CheckoutDirty,
    CheckoutNotOnBase,
    GitUnavailable,
    LaneDirty,
    LaneNotFound,
    MergeConflict,
    NoBaseBranch,
)
from coven.workspace.git import Git
from coven.workspace.lanes import lane_state
from coven.workspace.model import Lane, MergeMode, MergeResult
from coven.workspace.porcelain import display_path, ref_sha, split_z, status_paths, worktrees
from coven.workspace.snapshot import snapshot_index

MERGE_TREE_VERSION = (2, 38)

# Used only when git has no identity configured for the user: a merge must not fail
# because a daemon's environment lacks user.name.
FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "Coven",
    "GIT_AUTHOR_EMAIL": "coven@localhost",
    "GIT_COMMITTER_NAME": "Coven",
    "GIT_COMMITTER_EMAIL": "coven@localhost",
}


def merge_lane(
    lane: Lane,
    *,
    checkout: str | Path | None = None,
    commit_message: str | None = None,
    message: str | None = None,
    git: Git | None = None,
) -> MergeResult:
    """Merge ``lane.branch`` into ``lane.base_branch`` as checked out in ``checkout``.

    ``checkout`` defaults to the lane's ``git_root`` (the user's checkout it was made
    from). ``commit_message`` commits the lane's uncommitted work first (otherwise
    such work refuses with ``LaneDirty``); ``message`` replaces the default merge
    commit message. Fast-forwards when the base branch has not moved, else creates a
    merge commit; ``up_to_date`` when the base branch already contains the lane.
    """
    git = git or Git()
    if lane.base_branch is None:
        raise NoBaseBranch(
            "the session started on a detached HEAD: there is no branch to merge its lane into",
            {"branch": lane.branch},
        )
    target = Path(checkout) if checkout is not None else Path(lane.git_root)
    _require_on_base(git, target, lane.base_branch)
    lane_head, before = _lane_candidate(git, lane, commit_message)
    lane_commit = lane_head if before is not None else None
    base_head = ref_sha(git, target, "HEAD")
    assert base_head is not None  # _require_on_base saw the branch checked out
    if before is None and _is_ancestor(git, target, lane_head, base_head):
        return MergeResult(mode=MergeMode.UP_TO_DATE, branch=lane.base_branch, head=base_head)
    fast_forward = _is_ancestor(git, target, base_head, lane_head)
    tree = (
        f"{lane_head}^{{tree}}" if fast_forward else _merged_tree(git, target, base_head, lane_head)
    )
    _require_clean_for(git, target, base_head, tree)
    # Every check has passed: from here on the lane, then the checkout, move.
    if before is not None:
        _record_lane_commit(git, lane, lane_head, before)
    if fast_forward:
        new_head = lane_head
    else:
        text = message or f"Merge {lane.branch} (Coven session {lane.session_id})"
        new_head = _commit_tree(git, target, tree, [base_head, lane_head], text)
    _advance(git, target, base_head, new_head, f"coven merge {lane.branch}")
    return MergeResult(
        mode=MergeMode.FAST_FORWARD if fast_forward else MergeMode.MERGE_COMMIT,
        branch=lane.base_branch,
        head=new_head,
        lane_commit=lane_commit,
    )


def _advance(git: Git, checkout: Path, old: str, new: str, reason: str) -> None:
    """Move the checkout's branch from ``old`` to ``new`` and its files with it, or neither.

    ``git merge --ff-only`` writes the files first and the branch last, so a branch
    it cannot lock leaves the new files staged against the old commit. Here the branch
    moves first (compare-and-swap on ``old``), then ``read-tree -m -u`` updates index
    and files, checking every path before writing one (it refuses to overwrite local
    changes or untracked files); if that fails the branch is put back.
    """
    # Stale stat data would make read-tree call unchanged files "not uptodate".
    git.run(["update-index", "-q", "--refresh"], cwd=checkout, write=True, ok=(0, 1))
    git.run(["update-ref", "-m", reason, "HEAD", new, old], cwd=checkout, write=True)
    try:
        git.run(["read-tree", "-m", "-u", old, new], cwd=checkout, write=True)
    except BaseException:
        git.run(
            ["update-ref", "-m", f"{reason}: undone", "HEAD", old, new], cwd=checkout, write=True
        )
        raise
    # Like git merge: ORIG_HEAD lets the user undo with `git reset --merge ORIG_HEAD`.
    git.run(["update-ref", "ORIG_HEAD", old], cwd=checkout, write=True)


def _require_on_base(git: Git, checkout: Path, base_branch: str) -> None:
    out = git.run(["symbolic-ref", "--quiet", "HEAD"], cwd=checkout, ok=(0, 1))
    current = os.fsdecode(out.stdout.strip()) if out.returncode == 0 else None
    expected = f"refs/heads/{base_branch}"
    if current != expected:
        shown = current.removeprefix("refs/heads/") if current else "a detached HEAD"
        raise CheckoutNotOnBase(
            f"{checkout} is on {shown}, not on {base_branch}; switch to {base_branch} to merge",
            {"expected": base_branch, "actual": current and current.removeprefix("refs/heads/")},
        )


def _lane_candidate(git: Git, lane: Lane, commit_message: str | None) -> tuple[str, str | None]:
    """The commit to merge: the lane branch's head, or a new commit of its uncommitted work.

    Returns ``(commit, head before)``; ``head before`` is None when the lane was
    clean. The new commit is only an object yet (built from a snapshot index, on top of
    the lane's head): the lane's branch and index stay as they are until every check
    has passed (``_record_lane_commit``). Refuses uncommitted work with ``LaneDirty``
    when no message was given, or when the lane's worktree has left its branch.
    """
    state = lane_state(lane, git=git)
    if state.head is None:
        raise LaneNotFound(f"branch {lane.branch} no longer exists", {"branch": lane.branch})
    if not state.dirty_files:
        return state.head, None
    on_branch = any(
        w.branch == f"refs/heads/{lane.branch}"
        and os.path.realpath(w.path) == os.path.realpath(lane.worktree_path)
        for w in worktrees(git, lane.git_root)
    )
    if commit_message is None or not on_branch:
        why = "" if on_branch else f" and its worktree is no longer on {lane.branch}"
        raise LaneDirty(
            f"lane {lane.branch} has uncommitted work in {len(state.dirty_files)} file(s){why}; "
            "commit it (or ask for it to be committed) before merging",
            {"branch": lane.branch, "files": list(state.dirty_files)},
        )
    with snapshot_index(git, lane.worktree_path) as snap:
        tree = git.run(["write-tree"], cwd=snap.top, extra_env=snap.env, write=True)
    candidate = _commit_tree(
        git, Path(lane.worktree_path), tree.stdout.decode().strip(), [state.head], commit_message
    )
    return candidate, state.head


def _record_lane_commit(git: Git, lane: Lane, commit: str, previous: str) -> None:
    """Make ``commit`` the lane's head, as ``git commit`` would have; files stay as they are.

    Anything the agent changed after the snapshot stays uncommitted in the lane.
    """
    top = lane.worktree_path
    git.run(
        ["update-ref", "-m", "coven: commit lane work", "HEAD", commit, previous],
        cwd=top,
        write=True,
    )
    git.run(["read-tree", commit], cwd=top, write=True)
    git.run(["update-index", "-q", "--refresh"], cwd=top, write=True, ok=(0, 1))


def _merged_tree(git: Git, checkout: Path, ours: str, theirs: str) -> str:
    """The tree of merging ``theirs`` into ``ours``, written to the object database only."""
    if git.version(cwd=checkout) < MERGE_TREE_VERSION:
        raise GitUnavailable(
            "merging a lane safely needs git 2.38 or newer (git merge-tree --write-tree)",
            {"needed": "2.38"},
        )
    out = git.run(
        ["merge-tree", "--write-tree", "--name-only", "--no-messages", "-z", ours, theirs],
        cwd=checkout,
        ok=(0, 1),  # 1: the merge has conflicts
    )
    fields = split_z(out.stdout)
    if out.returncode == 1:
        files = sorted({display_path(p) for p in fields[1:]})
        raise MergeConflict(
            f"merging would conflict in {len(files)} file(s): {', '.join(files[:10])}",
            {"files": files},
        )
    return fields[0]


def _require_clean_for(git: Git, checkout: Path, head: str, tree: str) -> None:
    """Refuse when the files the merge writes have local work in the checkout."""
    out = git.run(
        ["diff-tree", "-r", "--no-renames", "--name-status", "-z", head, tree], cwd=checkout
    )
    fields = split_z(out.stdout)
    touched = dict(zip(fields[1::2], fields[0::2], strict=True))
    local = set(status_paths(git, checkout))
    blocked = {path for path in touched if path in local}
    blocked |= {p for p, kind in touched.items() if kind == "A" and _occupied(checkout, p)}
    if blocked:
        files = sorted(display_path(p) for p in blocked)
        raise CheckoutDirty(
            f"{checkout} has local changes to {len(files)} file(s) the merge would write: "
            f"{', '.join(files[:10])}",
            {"files": files},
        )


def _occupied(checkout: Path, path: str) -> bool:
    """Whether adding ``path`` would replace something on disk (an ignored file, say)."""
    here = checkout
    parts = PurePosixPath(path).parts
    for part in parts[:-1]:
        here = here / part
        try:
            if not stat.S_ISDIR(os.lstat(here).st_mode):
                return True  # a file or symlink where the merge needs a directory
        except FileNotFoundError:
            return False
    return os.path.lexists(here / parts[-1])


def _commit_tree(git: Git, cwd: Path, tree: str, parents: list[str], text: str) -> str:
    args = ["commit-tree", "--no-gpg-sign", tree]
    for parent in parents:
        args += ["-p", parent]
    out = git.run(args, cwd=cwd, write=True, input=text.encode(), extra_env=_identity(git, cwd))
    return out.stdout.decode().strip()


def _is_ancestor(git: Git, cwd: Path, older: str, newer: str) -> bool:
    out = git.run(["merge-base", "--is-ancestor", older, newer], cwd=cwd, ok=(0, 1))
    return out.returncode == 0


def _identity(git: Git, cwd: str | Path) -> dict[str, str]:
    """No extra environment when git knows who commits; the fallback identity otherwise."""
    for var in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"):
        if git.run(["var", var], cwd=cwd, ok=range(256)).returncode != 0:
            return dict(FALLBACK_IDENTITY)
    return {}
