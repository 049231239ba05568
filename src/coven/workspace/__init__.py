"""Git for sessions: repository facts, lanes (worktrees), changes, diffs, merge and discard.

Every function here is synchronous and may take as long as git does (bounded by the
timeouts of its ``Git``): the daemon calls them from its worker pool, never on the
event loop. Each takes an optional ``git=Git(...)`` that says how git runs (the
environment to take PATH, HOME and identity from, the timeouts); the default uses the
daemon's own environment. Imports only ``coven.errors``.

Facts
    ``repository_facts(path) -> RepoFacts | None`` — ``git_root``, ``base_commit``
    (None without commits), ``base_branch`` (None when detached); None outside a work
    tree. ``require_facts`` raises ``NotAGitRepository`` instead.

Lanes
    ``create_lane(facts, session_id, worktrees_dir, cwd=None) -> LaneCreated`` — a
    worktree at ``worktrees_dir/<session_id>`` on new branch ``coven/<first 8 of id>``
    from ``facts.base_commit``, with the ignored files ``.worktreeinclude`` lists
    copied in, and the lane's counterpart of ``cwd`` to start the harness in.
    ``lane_state(lane) -> LaneState`` — uncommitted files and unmerged commits.
    ``discard_lane(lane, worktrees_dir=…, force=False) -> DiscardResult``.
    ``Lane`` is rebuilt from stored fields (session id, git root, worktree path,
    branch, base commit and branch); ``Lane.map_path`` maps a checkout directory.

Changes
    ``changes(tree, base_commit) -> Changes`` and ``diff(tree, base_commit, path=None,
    max_bytes=…) -> Diff``: committed, staged, unstaged and untracked work of ``tree``
    (a lane, or the user's checkout) against the base, read through a temporary copy
    of the index so the tree's own index is never written.

Merge
    ``merge_lane(lane, checkout=None, commit_message=None) -> MergeResult`` — into the
    base branch of the user's checkout, fast-forward or merge commit, all checks
    before any write (see ``coven.workspace.merge``).

Refusals (``coven.errors``, each a ``WorkspaceError`` with a stable code):
``not_a_git_repository``, ``repository_empty``, ``lane_exists``, ``lane_not_found``,
``lane_path_refused``, ``lane_dirty`` (``details.files``), ``lane_unmerged``
(``details.commits``), ``no_base_branch``, ``checkout_not_on_base_branch``,
``checkout_dirty`` (``details.files``), ``merge_conflict`` (``details.files``);
failures: ``git_unavailable``, ``git_failed`` (``details.stderr``), ``git_timeout``.
No function here deletes work without being told to: only ``discard_lane(force=True)``
does, and only inside ``worktrees_dir``.
"""

from coven.workspace.changes import DEFAULT_MAX_DIFF_BYTES, changes, diff
from coven.workspace.facts import repository_facts, require_facts
from coven.workspace.git import Git, GitResult
from coven.workspace.include import INCLUDE_FILE
from coven.workspace.lanes import create_lane, discard_lane, lane_branch, lane_state
from coven.workspace.merge import merge_lane
from coven.workspace.model import (
    ChangedFile,
    Changes,
    Diff,
    DiscardResult,
    FileStatus,
    Lane,
    LaneCreated,
    LaneState,
    MergeMode,
    MergeResult,
    RepoFacts,
    SkippedInclude,
)

__all__ = [
    "DEFAULT_MAX_DIFF_BYTES",
    "INCLUDE_FILE",
    "ChangedFile",
    "Changes",
    "Diff",
    "DiscardResult",
    "FileStatus",
    "Git",
    "GitResult",
    "Lane",
    "LaneCreated",
    "LaneState",
    "MergeMode",
    "MergeResult",
    "RepoFacts",
    "SkippedInclude",
    "changes",
    "create_lane",
    "diff",
    "discard_lane",
    "lane_branch",
    "lane_state",
    "merge_lane",
    "repository_facts",
    "require_facts",
]
