"""The words of the wire: session statuses, event kinds, launch options, limits.

Every status and event kind the daemon writes or compares is a member of one of
these enums; no other module spells them as string literals (a test checks).
Members are ``str`` subclasses, so they encode, compare and bind to SQL as
their plain values.
"""

from __future__ import annotations

import enum
from typing import Literal


class SessionStatus(enum.StrEnum):
    """The seven statuses ``coven.daemon.v1`` clients accept (some throw on any other)."""

    CREATED = "created"
    RUNNING = "running"
    IDLE = "idle"
    COMPLETED = "completed"
    FAILED = "failed"
    KILLED = "killed"
    ORPHANED = "orphaned"


SESSION_STATUSES: tuple[SessionStatus, ...] = tuple(SessionStatus)
# A session whose harness may still produce output (``created`` is never held long).
ACTIVE_STATUSES = frozenset({SessionStatus.CREATED, SessionStatus.RUNNING})
LIVE_STATUSES = frozenset({SessionStatus.RUNNING})
TERMINAL_STATUSES = frozenset(
    {
        SessionStatus.COMPLETED,
        SessionStatus.FAILED,
        SessionStatus.KILLED,
        SessionStatus.ORPHANED,
        SessionStatus.IDLE,
    }
)


class EventKind(enum.StrEnum):
    """Kinds of events this daemon writes, plus the ones other writers use that we render.

    The ``kind`` of a stored event stays an open string on the wire (other writers
    sharing a store may add kinds); these are the ones with a meaning here.
    """

    OUTPUT = "output"
    """``{"data": text}``: harness output, redacted, coalesced."""
    OUTPUT_TRUNCATED = "output_truncated"
    """``{"droppedBytes", "droppedEvents"}``: output that could not be stored."""
    INPUT = "input"
    """The accepted input body (redacted)."""
    KILL = "kill"
    """``{"reason", "status": "killed"}``: a kill was requested; ``exit`` follows."""
    EXIT = "exit"
    """``{"exitCode", "status"[, "signal", "reason"]}``: the session's last event."""
    METADATA = "metadata"
    """Facts about the session (launch warnings; ``{"orphaned": true, "reason"}``)."""
    ERROR = "error"
    """Written by other clients; rendered as an error line in log previews."""
    TOOL_CALL = "tool_call"
    """Written by other clients; rendered as a tool line in log previews."""
    CAST = "cast"
    """``{"cast_id", "code", "target"}``: a Cast Code recorded by ``POST /cast`` (grants nothing)."""
    REVIEW = "review"
    """``{"state", "previous", "source"[, "comments"]}``: the session's review state changed
    (``source``: ``review`` (a client said so), ``merge`` or ``discard`` (its lane was))."""
    ATTENTION = "attention"
    """``{"state", "reason", "source"[, "prompt"]}``: a live session's attention changed."""


class ReviewState(enum.StrEnum):
    """Where the review of a session's work stands; every client sees the same one.

    ``merged`` and ``discarded`` are set by the daemon when the session's lane is
    merged or discarded, never by a client, and close the review.
    """

    UNREVIEWED = "unreviewed"
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    MERGED = "merged"
    DISCARDED = "discarded"


CLIENT_REVIEW_STATES = frozenset(
    {ReviewState.UNREVIEWED, ReviewState.APPROVED, ReviewState.CHANGES_REQUESTED}
)
"""The states ``POST /sessions/:id/review`` may set."""
CLOSED_REVIEW_STATES = frozenset({ReviewState.MERGED, ReviewState.DISCARDED})


class AttentionState(enum.StrEnum):
    """What a live session needs from its user (see docs/attention.md for the signals)."""

    WORKING = "working"
    AWAITING_INPUT = "awaiting_input"
    IDLE = "idle"


class AttentionSource(enum.StrEnum):
    """Which signal set an attention state: strongest first."""

    HOOK = "hook"
    SCREEN = "screen"
    QUIET = "quiet"
    OUTPUT = "output"
    INPUT = "input"
    LAUNCH = "launch"


MAX_ATTENTION_REASON = 300
"""Longest ``attention_reason`` (characters); longer reasons are cut with an ellipsis."""
MAX_ATTENTION_PROMPT = 4000
"""Longest prompt text an ``attention`` event carries (characters)."""


class RedactionStatus(enum.StrEnum):
    """Whether redaction changed a stored event payload."""

    CLEAN = "clean"
    REDACTED = "redacted"


LaunchMode = Literal["interactive", "nonInteractive"]
Permission = Literal["full", "read-only"]
ConversationMode = Literal["init", "resume"]

MAX_DIMENSION = 1000
"""Largest terminal rows/cols a launch, resize or attach may ask for."""
DEFAULT_ROWS = 24
DEFAULT_COLS = 80
MAX_PAGE = 1000
"""Largest ``limit`` of a sessions or events page."""

ENVIRONMENT_NAME_PATTERN = r"[!-<>-~]+"
"""A launch ``environment`` name: printable ASCII without space or ``=`` (every name a
POSIX shell exports, and bash's ``BASH_FUNC_name%%`` for exported functions)."""
MAX_ENVIRONMENT_NAME = 1024
MAX_ENVIRONMENT_ENTRIES = 4096
MAX_ENVIRONMENT_BYTES = 512 * 1024
"""A launch ``environment``'s ``NAME=value`` strings together, at most."""
Isolation = Literal["none", "worktree"]
"""Where a session works: in the user's checkout (``none``) or in its own lane."""
