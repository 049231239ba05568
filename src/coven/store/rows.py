"""Row types: what the store hands out and takes in.

Attribute names are the column names of the ``sessions`` and ``events``
tables, so the API layer can map them onto the wire records one to one.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from coven.schema.vocabulary import RedactionStatus
from coven.store.clock import now_rfc3339

SESSION_COLUMNS: tuple[str, ...] = (
    "id",
    "project_root",
    "harness",
    "title",
    "status",
    "exit_code",
    "archived_at",
    "created_at",
    "updated_at",
    "conversation_id",
    "labels",
    "visibility",
    "familiar_id",
    "execution_binding_json",
    "external",
    "transcript_path",
    "transcript_indexed_at",
    "cwd",
    "launch_mode",
    "pid",
    "pgid",
    "proc_start",
    "daemon_instance",
    "git_root",
    "base_commit",
    "base_branch",
    "worktree_path",
    "branch",
    "continues",
    "review_state",
)

EVENT_COLUMNS: tuple[str, ...] = (
    "seq",
    "id",
    "session_id",
    "kind",
    "payload_json",
    "created_at",
    "redaction_status",
    "sensitive",
)

REDACTION_STATUSES = frozenset(RedactionStatus)


class SessionRow(msgspec.Struct, frozen=True):
    """One ``sessions`` row. ``labels`` is decoded (NULL → ``[]``), ``external`` is a bool.

    A frozen struct rather than a frozen dataclass: one is built for every row read,
    and the dataclass's ``__init__`` (an ``object.__setattr__`` per field) was two
    fifths of listing 10,000 sessions.
    """

    id: str
    project_root: str
    harness: str
    title: str
    status: str
    created_at: str
    updated_at: str
    exit_code: int | None = None
    archived_at: str | None = None
    conversation_id: str | None = None
    labels: list[str] = msgspec.field(default_factory=list)
    visibility: str = "private"
    familiar_id: str | None = None
    execution_binding_json: str | None = None
    external: bool = False
    transcript_path: str | None = None
    transcript_indexed_at: str | None = None
    cwd: str | None = None
    launch_mode: str | None = None
    pid: int | None = None
    pgid: int | None = None
    proc_start: int | None = None
    daemon_instance: str | None = None
    git_root: str | None = None
    base_commit: str | None = None
    base_branch: str | None = None
    worktree_path: str | None = None
    branch: str | None = None
    continues: str | None = None
    review_state: str = "unreviewed"


class EventRow(msgspec.Struct, frozen=True):
    """One committed ``events`` row; ``seq`` is global and strictly increasing (a frozen
    struct, as ``SessionRow``: a page builds up to a thousand)."""

    seq: int
    id: str
    session_id: str
    kind: str
    payload_json: str
    created_at: str
    redaction_status: str
    sensitive: bool | None


class NewEvent(msgspec.Struct, frozen=True):
    """An event to append. ``payload_json`` must already be redacted compact JSON.

    ``created_at`` defaults to the moment this object was built (for coalesced
    output, pass the time of the first chunk instead).
    """

    session_id: str
    kind: str
    payload_json: str
    redaction_status: str = "redacted"
    created_at: str = msgspec.field(default_factory=now_rfc3339)
    sensitive: bool | None = None

    def __post_init__(self) -> None:
        if self.redaction_status not in REDACTION_STATUSES:
            raise ValueError(f"redaction_status must be one of {sorted(REDACTION_STATUSES)}")
        if not self.session_id:
            raise ValueError("session_id must be non-empty")
        if not self.kind:
            raise ValueError("kind must be non-empty")


def encode_payload(payload: dict[str, Any]) -> str:
    """Compact JSON with sorted keys: the stored ``payload_json`` encoding."""
    # msgspec: the same bytes as json.dumps(sort_keys=True, ensure_ascii=False), several
    # times faster on the large output payloads this encodes on the hot path.
    return msgspec.json.encode(payload, order="sorted").decode("utf-8")


def encode_labels(labels: list[str] | None) -> str | None:
    """Labels are stored as a JSON array string, or NULL when there are none."""
    if not labels:
        return None
    if not all(isinstance(label, str) for label in labels):
        raise ValueError("labels must be strings")
    return json.dumps(list(labels), separators=(",", ":"), ensure_ascii=False)


def decode_labels(raw: str | None) -> list[str]:
    """Decode a stored labels value; anything that is not a JSON array of strings reads as ``[]``.

    Other writers (the reference CLI) share this column, so a bad value must not
    make a session unreadable.
    """
    if raw is None:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return []


# Where each of SessionRow's fields is in a row selected as SESSION_COLUMNS.
_FIELD_COLUMNS = tuple(SESSION_COLUMNS.index(name) for name in SessionRow.__struct_fields__)
_LABELS = SessionRow.__struct_fields__.index("labels")
_EXTERNAL = SessionRow.__struct_fields__.index("external")


def session_from_row(row: tuple[Any, ...]) -> SessionRow:
    if len(row) != len(SESSION_COLUMNS):
        raise ValueError(f"a sessions row has {len(SESSION_COLUMNS)} columns, not {len(row)}")
    values = [row[i] for i in _FIELD_COLUMNS]
    values[_LABELS] = decode_labels(values[_LABELS])
    values[_EXTERNAL] = bool(values[_EXTERNAL])
    return SessionRow(*values)


def session_to_params(session: SessionRow) -> tuple[Any, ...]:
    params: list[Any] = []
    for name in SESSION_COLUMNS:
        value = getattr(session, name)
        if name == "labels":
            value = encode_labels(value)
        elif name == "external":
            value = 1 if value else 0
        params.append(value)
    return tuple(params)


def event_from_row(row: tuple[Any, ...]) -> EventRow:
    seq, id_, session_id, kind, payload_json, created_at, redaction_status, sensitive = row
    return EventRow(
        seq=seq,
        id=id_,
        session_id=session_id,
        kind=kind,
        payload_json=payload_json,
        created_at=created_at,
        redaction_status=redaction_status,
        sensitive=None if sensitive is None else bool(sensitive),
    )
