"""Store rows → wire records: the one mapping from what the store keeps to what clients see."""

from __future__ import annotations

import json
from collections.abc import Callable

import msgspec

from coven.runtime.attention import AttentionView
from coven.schema import EventRecord, ReviewState, SessionRecord, SessionStatus
from coven.store import EventRow, SessionRow

# session id -> its live attention, or None when it is not live
AttentionLookup = Callable[[str], AttentionView | None]


# Enum lookups by value through a dict: ``SessionStatus(raw)`` costs a microsecond,
# which a 10,000-session listing pays twice a row.
_STATUSES = {status.value: status for status in SessionStatus}
_REVIEW_STATES = {state.value: state for state in ReviewState}


def to_record(row: SessionRow) -> SessionRecord:
    """The session record (the 16 fields, then ours); internal columns (pid, cwd, …) never leave the daemon."""
    binding = json.loads(row.execution_binding_json) if row.execution_binding_json else None
    return SessionRecord(
        id=row.id,
        project_root=row.project_root,
        harness=row.harness,
        title=row.title,
        status=_STATUSES.get(row.status) or SessionStatus(row.status),
        exit_code=row.exit_code,
        archived_at=row.archived_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        conversation_id=row.conversation_id,
        familiar_id=row.familiar_id,
        execution_binding=binding,
        labels=list(row.labels),
        visibility=row.visibility,
        external=row.external,
        transcript_path=row.transcript_path,
        git_root=row.git_root,
        base_commit=row.base_commit,
        base_branch=row.base_branch,
        worktree_path=row.worktree_path,
        branch=row.branch,
        continues=row.continues,
        review_state=_review_state(row.review_state),
    )


def _review_state(raw: str) -> ReviewState:
    # Only this daemon writes the column, but a hand-edited value must not make the
    # session unreadable: anything unknown reads as not reviewed yet.
    return _REVIEW_STATES.get(raw, ReviewState.UNREVIEWED)


def with_attention(record: SessionRecord, lookup: AttentionLookup | None) -> SessionRecord:
    """``record`` with its live attention filled in (unchanged when it is not live)."""
    view = lookup(record.id) if lookup is not None else None
    if view is None:
        return record
    return msgspec.structs.replace(
        record, attention=view.state, attention_reason=view.reason, attention_since=view.since
    )


def to_event_record(row: EventRow) -> EventRecord:
    """The event as clients see it (``payload_json`` stays the stored, redacted JSON text)."""
    return EventRecord(
        seq=row.seq,
        id=row.id,
        session_id=row.session_id,
        kind=row.kind,
        payload_json=row.payload_json,
        created_at=row.created_at,
    )
