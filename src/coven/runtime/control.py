"""Health document, capability catalog and control-plane actions."""

from __future__ import annotations

import os
import time
from typing import Any

from coven import __version__
from coven.errors import CovenError
from coven.runtime.sessions import SessionManager
from coven.schema import API_VERSION

CAPABILITY_FLAGS: dict[str, Any] = {
    # The 16 documented fields; features this daemon does not implement say so honestly.
    "sessions": True,
    "events": True,
    "travel": False,
    "scheduler": False,
    "hub": False,
    "executorDispatch": False,
    "eventCursor": "sequence",
    "structuredErrors": True,
    "sessionHandoff": False,
    "sessionLaunchPolicy": False,
    "afs": False,
    "afsMount": False,
    "afsCommit": False,
    "afsCommitDryRun": False,
    "executionBindingContracts": [],
    "requestAdoptionContracts": [],
    # Additive (ours).
    "attach": "websocket",
    "follow": "ndjson",
    "rituals": True,
    "resize": True,
    "externalSessions": True,
    "openapi": "/api/v1/openapi.json",
}

REFRESH = "coven.capabilities.refresh"
ARCHIVE = "coven.sessions.archive"
SUMMON = "coven.sessions.summon"
SACRIFICE = "coven.sessions.sacrifice"
KILL = "coven.sessions.kill"

CATALOG: list[dict[str, Any]] = [
    {
        "id": "coven.sessions",
        "label": "Project-scoped harness sessions",
        "adapter": "coven-daemon",
        "status": "available",
        "policy": "allow",
        "actions": [],
    },
    {
        "id": "coven.control.actions",
        "label": "Coven control-plane action router",
        "adapter": "coven-daemon",
        "status": "available",
        "policy": "allow",
        "actions": [REFRESH],
    },
    {
        "id": "coven.rituals",
        "label": "Archive and summon sessions",
        "adapter": "coven-daemon",
        "status": "available",
        "policy": "allow",
        "actions": [ARCHIVE, SUMMON],
    },
    {
        "id": "coven.rituals.destructive",
        "label": "Kill live sessions and sacrifice finished ones",
        "adapter": "coven-daemon",
        "status": "available",
        "policy": "requiresApproval",
        "actions": [KILL, SACRIFICE],
    },
]


class Health:
    def __init__(self, manager: SessionManager, daemon_info: dict[str, Any]) -> None:
        self.manager = manager
        self.daemon_info = daemon_info
        self._disk_checked = 0.0
        self._storage: dict[str, Any] = {}

    def _storage_stats(self) -> dict[str, Any]:
        # statvfs and file sizes are cheap, but health is hot: refresh at most once a second.
        now = time.monotonic()
        if now - self._disk_checked > 1.0:
            db = str(self.manager.home / "coven.sqlite3")
            try:
                vfs = os.statvfs(db)
                free = vfs.f_bavail * vfs.f_frsize
            except OSError:
                free = None
            self._storage = {
                "databaseBytes": _size(db),
                "walBytes": _size(db + "-wal"),
                "freeDiskBytes": free,
            }
            self._disk_checked = now
        return self._storage

    def document(self) -> dict[str, Any]:
        stats = self.manager.writer.stats()
        storage = dict(self._storage_stats())
        if stats.state == "healthy":
            storage["status"] = "ok"
        else:
            storage["status"] = "degraded"
        storage["writerBacklogEvents"] = stats.queued_ops
        storage["writerBacklogBytes"] = stats.queued_bytes
        writer: dict[str, Any] = {
            "state": stats.state,
            "queuedEvents": stats.queued_ops,
            "queuedBytes": stats.queued_bytes,
            "droppedOutputEvents": self.manager.drops.events,
            "droppedOutputBytes": self.manager.drops.bytes,
            "transactions": stats.transactions,
            "committedEvents": stats.committed_events,
            "lastCommitAt": stats.last_commit_at,
        }
        if stats.last_error:
            writer["lastError"] = stats.last_error
        if stats.degraded_since:
            writer["degradedSince"] = stats.degraded_since
        return {
            "ok": True,
            "apiVersion": API_VERSION,
            "covenVersion": __version__,
            "capabilities": CAPABILITY_FLAGS,
            "daemon": self.daemon_info,
            "eventWriter": writer,
            "storage": storage,
            "liveSessions": len(self.manager.live),
        }


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def rejection(action: str, reason: str, code: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ok": False,
        "accepted": False,
        "action": action,
        "status": "rejected",
        "reason": reason,
    }
    if code:
        body["code"] = code
    return body


async def run_action(manager: SessionManager, body: object) -> tuple[int, dict[str, Any]]:
    """Route a control-plane action. Unknown ids fail closed before anything runs."""
    if body is MALFORMED:
        return 400, rejection("(unknown)", "failed to parse request body")
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return 400, rejection("(unknown)", "request body must be a JSON object")
    action = body.get("action")
    action = action.strip() if isinstance(action, str) else ""
    if not action:
        return 400, rejection("", "request body requires string field `action`")
    event: dict[str, Any] = {"action": action}
    for key in ("origin", "intentId"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            event[key] = value.strip()
    args = body.get("args")
    args = args if isinstance(args, dict) else {}
    try:
        if action == REFRESH:
            event.update(kind="capabilities.refreshed", payload={"capabilities": len(CATALOG)})
        elif action in (ARCHIVE, SUMMON, SACRIFICE, KILL):
            session_id = args.get("sessionId")
            if not isinstance(session_id, str) or not session_id:
                return 400, rejection(action, "args.sessionId must be a session id string")
            if action == ARCHIVE:
                record = await manager.archive(session_id, True)
                event.update(kind="session.archived", payload={"sessionId": record.id})
            elif action == SUMMON:
                record = await manager.archive(session_id, False)
                event.update(kind="session.summoned", payload={"sessionId": record.id})
            elif action == KILL:
                await manager.kill(session_id)
                event.update(kind="session.killed", payload={"sessionId": session_id})
            else:
                await manager.sacrifice(session_id, args.get("confirm"))
                event.update(kind="session.sacrificed", payload={"sessionId": session_id})
        else:
            return 400, rejection(action, f"unknown action `{action}`")
    except CovenError as exc:
        return exc.status, rejection(action, exc.message, exc.code)
    ordered = {"kind": event.pop("kind"), "action": action, **event}
    return 200, {
        "ok": True,
        "accepted": True,
        "action": action,
        "status": "completed",
        "event": ordered,
    }


# Stands for "the body was not JSON" (the actions route answers that in its own shape).
MALFORMED: Any = object()
