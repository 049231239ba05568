"""The values the workspace layer hands out: repository facts, lanes, changes, diffs, merges.

msgspec Structs, frozen, with camelCase wire names (``baseCommit``, ``oldPath``), so
the API can encode them as they are. Paths are strings: absolute for directories on
this machine, repository-relative with ``/`` separators for files in a change list.
File names that are not UTF-8 appear with ``\\xNN`` escapes, so every value encodes
as JSON.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import msgspec


class RepoFacts(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Where a directory's repository is and what it stood at.

    ``git_root`` is the top level of the work tree (symlinks resolved),
    ``base_commit`` the full HEAD sha (None in a repository without commits) and
    ``base_branch`` the short name of the checked-out branch (None when detached;
    the unborn branch's name in an empty repository).
    """

    git_root: str
    base_commit: str | None
    base_branch: str | None


class Lane(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A session's own worktree: everything needed to inspect, merge or discard it later.

    Rebuild it from the session record's stored fields; none of them is derived from
    the lane's current state.
    """

    session_id: str
    git_root: str
    worktree_path: str
    branch: str
    base_commit: str
    base_branch: str | None

    def map_path(self, path: str | Path) -> Path:
        """The lane's counterpart of ``path``, a directory inside the user's checkout.

        ``git_root/sub/dir`` maps to ``worktree_path/sub/dir``; a path outside the
        checkout maps to the lane's top level.
        """
        root = Path(self.git_root)
        resolved = Path(path).resolve()
        try:
            relative = resolved.relative_to(root)
        except ValueError:
            return Path(self.worktree_path)
        return Path(self.worktree_path) / relative


class SkippedInclude(msgspec.Struct, frozen=True, kw_only=True):
    """A ``.worktreeinclude`` match that was not copied, and why."""

    path: str
    reason: str


class LaneCreated(msgspec.Struct, frozen=True, kw_only=True):
    """The new lane, the directory to start the harness in, and what was copied into it."""

    lane: Lane
    cwd: str
    included: tuple[str, ...]
    skipped: tuple[SkippedInclude, ...]


class LaneState(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """What discarding the lane now would lose.

    ``dirty_files`` lists uncommitted work (modified, staged, untracked and not
    ignored); ``unmerged_commits`` counts lane commits its base branch (or, without
    one, its base commit) does not contain. ``safe_to_discard`` is true only when both
    are empty.
    """

    worktree_exists: bool
    branch_exists: bool
    head: str | None
    dirty_files: tuple[str, ...]
    unmerged_commits: int

    @property
    def dirty(self) -> bool:
        return bool(self.dirty_files)

    @property
    def safe_to_discard(self) -> bool:
        return not self.dirty_files and self.unmerged_commits == 0


class DiscardResult(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """What a discard removed. ``state`` is the lane as it was just before.

    ``branch_kept`` says why the branch was left in place (it is checked out in
    another worktree), or is None when it was deleted or did not exist.
    """

    state: LaneState
    removed_worktree: bool
    deleted_branch: bool
    branch_kept: str | None = None


class FileStatus(StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    RENAMED = "renamed"
    UNTRACKED = "untracked"


class ChangedFile(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One file that differs from the base. Binary files count 0 lines and say ``binary``."""

    path: str
    status: FileStatus
    additions: int
    deletions: int
    binary: bool = False
    old_path: str | None = None


class Changes(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A tree's committed and uncommitted work against its base, untracked files included."""

    base_commit: str | None
    head: str | None
    files: tuple[ChangedFile, ...]


class Diff(msgspec.Struct, frozen=True, kw_only=True):
    """A unified diff, cut at a line boundary to the cap when ``truncated``.

    ``bytes`` is the size of the whole diff git produced; a cut diff ends with a line
    saying how much was left out.
    """

    diff: str
    truncated: bool
    bytes: int


class MergeMode(StrEnum):
    FAST_FORWARD = "fast_forward"
    MERGE_COMMIT = "merge_commit"
    UP_TO_DATE = "up_to_date"


class MergeResult(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """How the lane landed on its base branch, and the branch's new head.

    ``lane_commit`` is the commit made from the lane's uncommitted work first, when a
    commit message was given for it.
    """

    mode: MergeMode
    branch: str
    head: str
    lane_commit: str | None = None
