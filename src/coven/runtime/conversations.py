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
import time
import uuid
from collections.abc import Collection, Iterable
from pathlib import Path

import msgspec

from coven import authority
from coven.errors import InvalidRequest
from coven.harness import Adapter
from coven.schema.codex_home import codex_home
from coven.store import SessionRow, StoreReader

CODEX_HARNESS = "codex"
# How much of a rollout file's first line we read: its session_meta record.
_FIRST_LINE_LIMIT = 64 * 1024


class ConversationPlan(msgspec.Struct, frozen=True):
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
    base = codex_home(env)
    return Path(base) / "sessions" if base else None


class Rollout(msgspec.Struct, frozen=True, order=True):
    """A Codex rollout file's thread: when the file was last written, the id, the cwd."""

    mtime: float
    thread: str
    cwd: str


def find_codex_thread(
    sessions_dir: Path, cwd: str, since: float, claimed: frozenset[str] = frozenset()
) -> str | None:
    """The thread id of the Codex run that started in ``cwd`` at or after ``since``.

    Ids in ``claimed`` (recorded by other sessions) are skipped. When several
    unclaimed runs match, the oldest file wins. Blocking (filesystem).
    """
    return choose_codex_thread(codex_rollouts(sessions_dir, since), cwd, since, claimed)


def choose_codex_thread(
    rollouts: Iterable[Rollout], cwd: str, since: float, claimed: Collection[str]
) -> str | None:
    """The oldest of ``rollouts`` written in ``cwd`` at or after ``since`` whose thread
    is not in ``claimed`` (recorded by another session); ``None`` when there is none."""
    mine = [r for r in rollouts if r.cwd == cwd and r.mtime >= since and r.thread not in claimed]
    return min(mine).thread if mine else None


def codex_rollouts(sessions_dir: Path, since: float) -> list[Rollout]:
    """The threads of rollout files under ``sessions_dir`` modified at or after ``since``.

    Reads each such file's first record (``session_meta``: ``payload.id``,
    ``payload.cwd``). Codex files them by day (``YYYY/MM/DD``): days, months and
    years before ``since`` (with a day's margin for time zones) are not walked, so
    a long history costs nothing. Blocking (filesystem); never raises for
    unreadable or foreign files.
    """
    found: list[Rollout] = []
    oldest = time.gmtime(max(0.0, since - 86_400.0))
    floor = (oldest.tm_year, oldest.tm_mon, oldest.tm_mday)
    # Walked lazily (pruning ``dirs`` in place skips them); a missing directory yields nothing.
    for dirpath, dirs, names in os.walk(sessions_dir):
        dated = _date_parts(Path(dirpath).relative_to(sessions_dir).parts)
        dirs[:] = [d for d in dirs if not _before((*dated, d), floor)]
        for name in names:
            if not name.endswith(".jsonl"):
                continue
            rollout = _read_rollout(os.path.join(dirpath, name), since)
            if rollout is not None:
                found.append(rollout)
    return found


def _date_parts(parts: tuple[str, ...]) -> tuple[str, ...]:
    return parts if all(p.isdigit() for p in parts) else ("x",)


def _before(parts: tuple[str, ...], floor: tuple[int, int, int]) -> bool:
    """Whether a ``YYYY[/MM[/DD]]`` directory holds only days before ``floor``."""
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        return False
    numbers = tuple(int(p) for p in parts)
    return numbers < floor[: len(numbers)]


def _read_rollout(path: str, since: float) -> Rollout | None:
    try:
        mtime = os.stat(path).st_mtime
        if mtime < since:
            return None
        with open(path, "rb") as fh:
            first = fh.readline(_FIRST_LINE_LIMIT)
        record = json.loads(first)
    except (OSError, ValueError):
        return None
    payload = record.get("payload") if isinstance(record, dict) else None
    if not isinstance(payload, dict):
        return None
    thread, where = payload.get("id"), payload.get("cwd")
    if isinstance(thread, str) and isinstance(where, str):
        return Rollout(mtime, thread, where)
    return None
