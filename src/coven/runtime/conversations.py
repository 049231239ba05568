"""Harness conversations: which one a launch starts or resumes, and finding Codex's thread id.

Claude accepts the id of a new conversation (``--session-id <uuid>``), so Coven
makes one and records it as the session's ``conversation_id``. Codex picks its own
thread id and writes it as the first record of a rollout file under
``$CODEX_HOME/sessions`` (default ``$HOME/.codex``, of the environment the harness
runs with); ``find_codex_thread`` reads it back. Resuming passes exactly the recorded
id (``claude --resume <id>``, ``codex resume <id>``), never "the latest conversation".
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from coven import authority
from coven.errors import InvalidRequest
from coven.harness import Adapter
from coven.store import SessionRow, StoreReader

CODEX_HARNESS = "codex"
# How much of a rollout file's first line we read: its session_meta record.
_FIRST_LINE_LIMIT = 64 * 1024


@dataclass(frozen=True, slots=True)
class ConversationPlan:
    """What a launch does about the harness's conversation.

    ``start_id``: the id to start a new conversation under; ``resume_id``: the
    conversation to resume; ``record_id``: what the row stores as ``conversation_id``;
    ``continues``: the Coven session being continued, when the resumed id named one.
    """

    start_id: str | None = None
    resume_id: str | None = None
    record_id: str | None = None
    continues: SessionRow | None = None


def plan_conversation(
    request: authority.LaunchRequest, adapter: Adapter, reader: StoreReader
) -> ConversationPlan:
    """Decide the conversation of a checked launch (blocking: reads the store).

    ``conversation: {mode: "resume", id}`` names a Coven session (by id, then by its
    recorded conversation id) or, failing both, a harness conversation id given as
    is. A named session of another harness, or one that recorded no conversation, is
    refused (``invalid_request``, ``details.reason``).
    """
    conversation = request.conversation
    if conversation is not None and conversation.mode == "resume":
        source = reader.get_session(conversation.id) or reader.session_by_conversation(
            conversation.id
        )
        if source is None:
            resume = conversation.id
        else:
            if source.harness != request.harness:
                raise InvalidRequest(
                    f"session `{source.id}` uses harness `{source.harness}` but harness "
                    f"`{request.harness}` was requested; continue it with `{source.harness}`",
                    {"field": "conversation", "reason": "harness_mismatch"},
                )
            if source.conversation_id is None:
                raise InvalidRequest(
                    f"session `{source.id}` recorded no {adapter.label} conversation to "
                    "resume; start a new session instead",
                    {"field": "conversation", "reason": "no_conversation", "sessionId": source.id},
                )
            resume = source.conversation_id
        return ConversationPlan(
            resume_id=resume, record_id=request.conversation_id or resume, continues=source
        )
    if conversation is not None:
        return ConversationPlan(
            start_id=conversation.id, record_id=request.conversation_id or conversation.id
        )
    if request.conversation_id is not None:
        return ConversationPlan(record_id=request.conversation_id)
    continuity = adapter.continuity_args
    if continuity is not None and continuity.session_id_flag is not None:
        fresh = str(uuid.uuid4())
        return ConversationPlan(start_id=fresh, record_id=fresh)
    return ConversationPlan()


def codex_sessions_dir(env: dict[str, str]) -> Path | None:
    """Where Codex run with ``env`` writes its rollout files, or None without a home."""
    base = env.get("CODEX_HOME") or (
        os.path.join(env["HOME"], ".codex") if env.get("HOME") else None
    )
    return Path(base) / "sessions" if base else None


def find_codex_thread(
    sessions_dir: Path, cwd: str, since: float, claimed: frozenset[str] = frozenset()
) -> str | None:
    """The thread id of the Codex run that started in ``cwd`` at or after ``since``.

    Reads the first record (``session_meta``: ``payload.id``, ``payload.cwd``) of
    rollout files modified since then; ids in ``claimed`` (recorded by other
    sessions) are skipped. When several unclaimed runs match, the oldest file wins.
    Blocking (filesystem); never raises for unreadable or foreign files.
    """
    candidates: list[tuple[float, str]] = []
    try:
        walker = list(os.walk(sessions_dir))
    except OSError:
        return None
    for dirpath, _dirs, names in walker:
        for name in names:
            if not name.endswith(".jsonl"):
                continue
            path = os.path.join(dirpath, name)
            try:
                mtime = os.stat(path).st_mtime
                if mtime < since:
                    continue
                with open(path, "rb") as fh:
                    first = fh.readline(_FIRST_LINE_LIMIT)
                record = json.loads(first)
            except (OSError, ValueError):
                continue
            payload = record.get("payload") if isinstance(record, dict) else None
            if not isinstance(payload, dict):
                continue
            thread, where = payload.get("id"), payload.get("cwd")
            if isinstance(thread, str) and where == cwd and thread not in claimed:
                candidates.append((mtime, thread))
    return min(candidates)[1] if candidates else None
