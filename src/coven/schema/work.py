"""What a session did to the code: its changes, its diff, merging or discarding its lane, review.

Bodies of ``GET /sessions/:id/changes`` and ``/diff`` and of ``POST /sessions/:id/merge``,
``/discard`` and ``/review``. camelCase like the other additive bodies; paths of changed files are
repository-relative with ``/`` separators (names that are not UTF-8 appear escaped).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from coven.schema.vocabulary import ReviewState

FileChange = Literal["added", "modified", "deleted", "renamed", "untracked"]


class ChangedFile(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One file that differs from the session's base; binary files count 0 lines."""

    path: str
    status: FileChange
    additions: int
    deletions: int
    binary: bool = False
    oldPath: str | None = None


class SessionChanges(msgspec.Struct, kw_only=True):
    """The session's tree (its lane, else the checkout) against its base commit.

    Committed and uncommitted work, untracked files included. ``head`` is the tree's
    current commit.
    """

    sessionId: str
    tree: str
    baseCommit: str | None
    head: str | None
    files: list[ChangedFile]


class SessionDiff(msgspec.Struct, kw_only=True):
    """The unified diff of the same work, cut at a line boundary when ``truncated``.

    ``bytes`` is the size of the whole diff; ``path`` the one file asked for, if any.
    """

    sessionId: str
    path: str | None
    diff: str
    truncated: bool
    bytes: int


class MergeBody(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """``POST /sessions/:id/merge``: ``commitMessage`` commits the lane's uncommitted work first.

    Without it, a lane with uncommitted work is refused (``lane_dirty``).
    """

    commitMessage: str | None = None


class DiscardBody(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """``POST /sessions/:id/discard``: ``force`` also throws away uncommitted and unmerged work."""

    force: bool = False


class MergeOutcome(msgspec.Struct, kw_only=True):
    """How the lane landed on its base branch, and that branch's new head."""

    sessionId: str
    mode: Literal["fast_forward", "merge_commit", "up_to_date"]
    branch: str
    head: str
    laneCommit: str | None


class DiscardOutcome(msgspec.Struct, kw_only=True):
    """What a discard removed; ``branchKept`` says why the branch stayed, if it did."""

    sessionId: str
    removedWorktree: bool
    deletedBranch: bool
    branchKept: str | None
    dirtyFiles: list[str]
    unmergedCommits: int


class ReviewComment(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """One requested change: its text, and the file (and line) it is about, if any."""

    body: str
    path: str | None = None
    line: int | None = None


class ReviewBody(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """``POST /sessions/:id/review``: ``unreviewed``, ``approved`` or ``changes_requested``.

    ``comments`` are recorded (redacted) in the ``review`` event; they are not sent to
    the agent (a client sends them as input if it wants the agent to read them).
    """

    state: str
    comments: list[ReviewComment] = msgspec.field(default_factory=list)


class ReviewOutcome(msgspec.Struct, kw_only=True):
    """The session's review state after the request, the one before, and whether an event
    was recorded (not when the state was already that and no comments came with it)."""

    sessionId: str
    reviewState: ReviewState
    previous: ReviewState
    recorded: bool
