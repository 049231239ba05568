"""What sessions did to the code: repository facts at launch, lanes, changes, diffs, merge, discard.

Every git command runs through ``coven.workspace`` on the runtime's worker pool
(``Ledger.read``), never on the event loop, with the workspace layer's deadlines
and sealed environment; git takes PATH and HOME from the daemon's environment.

Guards (no path here silently destroys work):

* ``discard`` refuses while any session still runs in the lane
  (``session_conflict``), and without ``force`` refuses a lane with uncommitted
  or unmerged work (``lane_dirty``, ``lane_unmerged``);
* ``merge`` of a live session's lane merges committed work only: a
  ``commitMessage`` (which would commit files the agent may be writing) is refused
  while the session runs, and uncommitted work refuses as ``lane_dirty``;
* a successful merge or discard settles the session's review state (``merged``,
  ``discarded``; see ``coven.runtime.review``);
* ``release_for_sacrifice`` removes a lane only when nothing would be lost and no
  other session uses it, and otherwise refuses the sacrifice with the workspace's
  code; archiving keeps lanes untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Container
from pathlib import Path

from coven.errors import (
    CovenError,
    GitFailed,
    GitTimeout,
    GitUnavailable,
    InvalidRequest,
    LaneNotFound,
    NotAGitRepository,
    SessionConflict,
)
from coven.runtime.ledger import Ledger
from coven.runtime.review import Reviews
from coven.schema import ACTIVE_STATUSES, ReviewState
from coven.schema.work import (
    ChangedFile,
    DiscardOutcome,
    MergeOutcome,
    SessionChanges,
    SessionDiff,
)
from coven.store import SessionRow
from coven.workspace import (
    DEFAULT_MAX_DIFF_BYTES,
    Git,
    Lane,
    LaneCreated,
    RepoFacts,
    changes,
    create_lane,
    diff,
    discard_lane,
    merge_lane,
    repository_facts,
)

MIN_DIFF_BYTES = 1024
MAX_DIFF_BYTES = 8 << 20


def lane_of(row: SessionRow) -> Lane | None:
    """The lane recorded on a session row, or None when it ran in the user's checkout."""
    if (
        row.worktree_path is None
        or row.branch is None
        or row.git_root is None
        or row.base_commit is None
    ):
        return None
    return Lane(
        session_id=Path(row.worktree_path).name,
        git_root=row.git_root,
        worktree_path=row.worktree_path,
        branch=row.branch,
        base_commit=row.base_commit,
        base_branch=row.base_branch,
    )


class Work:
    """Git for sessions, as the daemon serves it; all public coroutines run git off the loop."""

    def __init__(
        self,
        ledger: Ledger,
        worktrees: Path,
        env: dict[str, str],
        live: Container[str],
        reviews: Reviews,
        umask: int | None = None,
    ):
        self.ledger = ledger
        self.reviews = reviews
        self.worktrees = worktrees
        # Lanes' checkouts and merges are the user's files: made with the user's mask.
        self.git = Git(env=env, umask=umask)
        self.live = live

    # -- launch (called on the worker pool by the launcher) --------------------------------
    def facts(self, directory: Path) -> RepoFacts | None:
        """The repository ``directory`` is in, or None (no repository, or git unusable)."""
        try:
            return repository_facts(directory, git=self.git)
        except (GitUnavailable, GitTimeout, GitFailed):
            return None  # a launch outside git works as it always did

    def open_lane(self, facts: RepoFacts, session_id: str, cwd: Path) -> LaneCreated:
        return create_lane(facts, session_id, self.worktrees, cwd=cwd, git=self.git)

    def remove_fresh_lane(self, lane: Lane) -> None:
        """Remove a lane made for a launch that then failed (it holds nothing of anyone's)."""
        # Best effort: a leftover empty lane is visible and discardable.
        with contextlib.suppress(CovenError):
            discard_lane(lane, worktrees_dir=self.worktrees, force=True, git=self.git)

    # -- routes ------------------------------------------------------------------------------
    async def changes(self, session_id: str) -> SessionChanges:
        row = await self.ledger.session(session_id)
        tree, base = self._tree(row)
        found = await self.ledger.read(changes, tree, base, git=self.git)
        files = [
            ChangedFile(
                path=f.path,
                status=f.status.value,
                additions=f.additions,
                deletions=f.deletions,
                binary=f.binary,
                oldPath=f.old_path,
            )
            for f in found.files
        ]
        return SessionChanges(
            sessionId=row.id, tree=tree, baseCommit=found.base_commit, head=found.head, files=files
        )

    async def diff(
        self, session_id: str, path: str | None, max_bytes: int = DEFAULT_MAX_DIFF_BYTES
    ) -> SessionDiff:
        row = await self.ledger.session(session_id)
        tree, base = self._tree(row)
        found = await self.ledger.read(
            diff, tree, base, path=path, max_bytes=max_bytes, git=self.git
        )
        return SessionDiff(
            sessionId=row.id,
            path=path,
            diff=found.diff,
            truncated=found.truncated,
            bytes=found.bytes,
        )

    async def merge(self, session_id: str, commit_message: str | None) -> MergeOutcome:
        row = await self.ledger.session(session_id)
        lane = self._require_lane(row)
        if commit_message is not None and await self._lane_live(lane):
            raise SessionConflict(
                "a session still runs in this lane; merge its committed work without "
                "commitMessage, or commit after it has finished",
                {"sessionId": session_id, "worktreePath": lane.worktree_path},
            )
        result = await self.ledger.read(
            merge_lane, lane, commit_message=commit_message, git=self.git
        )
        await self.reviews.settle(row.id, ReviewState.MERGED)
        return MergeOutcome(
            sessionId=row.id,
            mode=result.mode.value,
            branch=result.branch,
            head=result.head,
            laneCommit=result.lane_commit,
        )

    async def discard(self, session_id: str, force: bool) -> DiscardOutcome:
        row = await self.ledger.session(session_id)
        lane = self._require_lane(row)
        if await self._lane_live(lane):
            raise SessionConflict(
                f"a session still runs in lane {lane.branch}; kill it before discarding the lane",
                {"sessionId": session_id, "worktreePath": lane.worktree_path},
            )
        result = await self.ledger.read(
            discard_lane, lane, worktrees_dir=self.worktrees, force=force, git=self.git
        )
        await self.reviews.settle(row.id, ReviewState.DISCARDED)
        return DiscardOutcome(
            sessionId=row.id,
            removedWorktree=result.removed_worktree,
            deletedBranch=result.deleted_branch,
            branchKept=result.branch_kept,
            dirtyFiles=list(result.state.dirty_files),
            unmergedCommits=result.state.unmerged_commits,
        )

    async def release_for_sacrifice(self, row: SessionRow) -> None:
        """Before a sacrifice: remove the session's lane if that loses nothing, else refuse.

        A lane another session also uses stays (it is that session's work too).
        """
        lane = lane_of(row)
        if lane is None:
            return
        users = await self.ledger.read(self.ledger.reader.lane_sessions, lane.worktree_path)
        if any(other.id != row.id for other in users):
            return
        try:
            await self.ledger.read(
                discard_lane, lane, worktrees_dir=self.worktrees, force=False, git=self.git
            )
        except LaneNotFound:
            return  # already gone

    # -- helpers -------------------------------------------------------------------------------
    def _tree(self, row: SessionRow) -> tuple[str, str | None]:
        if row.git_root is None:
            raise NotAGitRepository(
                f"session `{row.id}` did not start in a git repository; it has no changes to show",
                {"sessionId": row.id, "projectRoot": row.project_root},
            )
        return row.worktree_path or row.git_root, row.base_commit

    def _require_lane(self, row: SessionRow) -> Lane:
        if row.git_root is None:
            self._tree(row)  # raises not_a_git_repository
        lane = lane_of(row)
        if lane is None:
            raise InvalidRequest(
                f"session `{row.id}` has no lane of its own (it was not launched with "
                "isolation `worktree`); its changes are in your checkout",
                {"sessionId": row.id, "reason": "no_lane"},
            )
        return lane

    async def _lane_live(self, lane: Lane) -> bool:
        users = await self.ledger.read(self.ledger.reader.lane_sessions, lane.worktree_path)
        return any(u.id in self.live or u.status in ACTIVE_STATUSES for u in users)


def diff_cap(raw: int | None) -> int:
    """A client's diff size cap, bounded to ``MIN_DIFF_BYTES..MAX_DIFF_BYTES``."""
    if raw is None:
        return DEFAULT_MAX_DIFF_BYTES
    if not MIN_DIFF_BYTES <= raw <= MAX_DIFF_BYTES:
        raise InvalidRequest(
            f"maxBytes must be between {MIN_DIFF_BYTES} and {MAX_DIFF_BYTES}",
            {"maxBytes": raw},
        )
    return raw
