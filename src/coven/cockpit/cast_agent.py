"""Cast Agent: the cockpit's backend. It gathers workspace context and performs operations.

It holds no authority of its own. Everything it knows it reads from the daemon's
API, everything it does is an ordinary API call that the daemon checks as if a
user had typed it, and every operation it performs (launch, kill, rituals,
input, terminals opened and closed, merge, discard, review) is
written to an activity log the UI shows. The log records what was done to
which session and how the daemon answered; it never holds input text, prompts
or output.

What the daemon can do is read from its health capabilities (``features_of``),
so panels for features a daemon lacks (attention, lanes and their changes,
review state, harness availability) say "not available on this daemon"
instead of failing.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgspec

from coven.cockpit.allowlist import Allowed
from coven.cockpit.daemon_link import DaemonDown, DaemonLink, Upstream

ACTIVITY_LIMIT = 500
SESSION_PAGE = 1000
MAX_SESSION_PAGES = 20
HARNESS_CACHE_SECONDS = 30.0

_decode = msgspec.json.decode


class _SessionsPage(msgspec.Struct):
    """A ``GET /sessions?limit=`` page with its records left undecoded."""

    sessions: msgspec.Raw
    next_cursor: str | None = None


_page_decoder = msgspec.json.Decoder(_SessionsPage)


@dataclass(frozen=True)
class Activity:
    """One operation the cockpit performed and the daemon's answer."""

    seq: int
    at: str
    operation: str
    session_id: str | None
    outcome: str  # "ok" | "refused" (the daemon said no) | "unreachable" (it could not be asked)
    status: int | None = None
    code: str | None = None
    message: str | None = None
    detail: str | None = None
    host: str | None = None  # the named host whose daemon was asked; None for this machine

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "host": self.host,
            "at": self.at,
            "operation": self.operation,
            "sessionId": self.session_id,
            "outcome": self.outcome,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "detail": self.detail,
        }


@dataclass
class ActivityLog:
    """The last ``limit`` operations, numbered from 1 so a reader can ask for what is new."""

    limit: int = ACTIVITY_LIMIT
    entries: deque[Activity] = field(default_factory=deque)
    last_seq: int = 0

    def record(self, operation: str, session_id: str | None, outcome: str, **rest: Any) -> Activity:
        self.last_seq += 1
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        entry = Activity(self.last_seq, at, operation, session_id, outcome, **rest)
        self.entries.append(entry)
        while len(self.entries) > self.limit:
            self.entries.popleft()
        return entry

    def after(self, seq: int) -> list[Activity]:
        return [entry for entry in self.entries if entry.seq > seq]


def features_of(health: dict[str, Any] | None) -> dict[str, bool]:
    """What the UI may offer, from the daemon's advertised health capabilities.

    Unknown or missing flags mean "not on this daemon". The names for features
    still to come (attention, lanes, changes, review, harness availability) are
    the ones the UI checks; a daemon that adds them advertises them there.
    """
    caps = health.get("capabilities") if isinstance(health, dict) else None
    if not isinstance(caps, dict):
        caps = {}
    return {
        "attach": bool(caps.get("attach")),
        "screen": bool(caps.get("screen") or caps.get("attachScreen")),
        "resize": bool(caps.get("resize")),
        "rituals": bool(caps.get("rituals")),
        "harnessAvailability": bool(caps.get("harnessAvailability")),
        "attention": bool(caps.get("attention")),
        "lanes": bool(caps.get("lanes")),
        "changes": bool(caps.get("changes") or caps.get("lanes")),
        "review": bool(caps.get("review") or caps.get("reviewState")),
    }


def _error_of(body: bytes) -> tuple[str | None, str | None]:
    """``(code, message)`` from the daemon's error envelope or action rejection."""
    try:
        doc = _decode(body)
    except msgspec.DecodeError:
        return None, None
    if not isinstance(doc, dict):
        return None, None
    error = doc.get("error")
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
        return (code if isinstance(code, str) else None), (
            message if isinstance(message, str) else None
        )
    reason = doc.get("reason")
    return None, reason if isinstance(reason, str) else None


def _detail(allowed: Allowed, body: bytes | None, upstream: Upstream | None) -> str | None:
    """A short, secret-free description of what was asked: never input text or prompts."""
    request: Any = None
    if body:
        try:
            request = _decode(body)
        except msgspec.DecodeError:
            request = None
    if allowed.operation == "launch":
        parts = []
        if isinstance(request, dict) and isinstance(request.get("harness"), str):
            parts.append(f"harness {request['harness']}")
        if upstream is not None and upstream.status < 300:
            try:
                record = _decode(upstream.body)
            except msgspec.DecodeError:
                record = None
            if isinstance(record, dict) and isinstance(record.get("id"), str):
                parts.append(f"session {record['id']}")
        return ", ".join(parts) or None
    if allowed.operation == "input":
        return f"{len(body or b'')} bytes of input"
    if allowed.operation == "resize" and isinstance(request, dict):
        return f"{request.get('rows')}x{request.get('cols')}"
    if allowed.operation == "review" and isinstance(request, dict):
        # The state and how many comments; the comments' text stays out of the log.
        comments = request.get("comments")
        count = len(comments) if isinstance(comments, list) else 0
        return f"review {request.get('state')}, {count} comment{'' if count == 1 else 's'}"
    if allowed.operation == "discard" and isinstance(request, dict) and request.get("force"):
        return "forced"
    return None


class CastAgent:
    """Workspace context for the UI, and every operation, through ``link`` only."""

    def __init__(
        self,
        link: DaemonLink,
        *,
        default_project_root: str,
        activity: ActivityLog | None = None,
        host: str | None = None,
    ) -> None:
        self.link = link
        self.default_project_root = default_project_root
        # One log for the whole cockpit: another host's agent shares this machine's, and
        # its entries carry ``host``.
        self.activity = activity if activity is not None else ActivityLog()
        self.host = host
        self._harnesses: tuple[float, list[dict[str, Any]]] | None = None

    # -- operations ---------------------------------------------------------------------------
    async def perform(
        self, allowed: Allowed, method: str, target: str, body: bytes | None
    ) -> Upstream:
        """Forward one allowed call; mutating ones are recorded in the activity log."""
        try:
            upstream = await self.link.request(method, target, body)
        except DaemonDown as exc:
            if allowed.mutating:
                self.activity.record(
                    allowed.operation,
                    allowed.session_id,
                    "unreachable",
                    message=str(exc),
                    detail=_detail(allowed, body, None),
                    host=self.host,
                )
            raise
        if allowed.mutating:
            outcome = "ok" if upstream.status < 400 else "refused"
            code, message = _error_of(upstream.body) if outcome == "refused" else (None, None)
            self.activity.record(
                allowed.operation,
                allowed.session_id,
                outcome,
                status=upstream.status,
                code=code,
                message=message,
                detail=_detail(allowed, body, upstream),
                host=self.host,
            )
            if allowed.operation == "launch":
                self._harnesses = None  # a refusal may mean availability changed
        return upstream

    def terminal_opened(self, session_id: str) -> None:
        self.activity.record("attach", session_id, "ok", detail="terminal opened", host=self.host)

    def terminal_refused(self, session_id: str, message: str) -> None:
        self.activity.record("attach", session_id, "refused", message=message, host=self.host)

    def terminal_closed(self, session_id: str) -> None:
        self.activity.record("detach", session_id, "ok", detail="terminal closed", host=self.host)

    # -- context ------------------------------------------------------------------------------
    async def context(
        self, *, sessions_digest: str = "", activity_after: int = 0
    ) -> dict[str, Any]:
        """Everything the UI shows at once: daemon state, features, harnesses, sessions, activity.

        ``sessions`` is left out when its digest equals ``sessions_digest`` (the
        UI already has it); ``activity`` holds the entries after ``activity_after``.
        """
        doc: dict[str, Any] = {
            "cockpit": {"defaultProjectRoot": self.default_project_root},
            "activity": [entry.as_json() for entry in self.activity.after(activity_after)],
            "activitySeq": self.activity.last_seq,
        }
        # Health and the session list are independent reads: ask for both at once.
        health_read = asyncio.ensure_future(self._json("/api/v1/health"))
        sessions_read = asyncio.ensure_future(self._sessions())
        try:
            health = await health_read
            features = features_of(health)
            harnesses = await self._harness_list(features)
            sessions, digest = await sessions_read
        except DaemonDown as exc:
            for read in (health_read, sessions_read):
                read.cancel()
            await asyncio.gather(health_read, sessions_read, return_exceptions=True)
            doc.update(daemon={"reachable": False, "reason": str(exc)}, features=features_of(None))
            doc.update(harnesses=[], sessions=[], sessionsDigest="")
            return doc
        doc.update(daemon={"reachable": True, "health": health}, features=features)
        doc.update(harnesses=harnesses, sessionsDigest=digest)
        if digest != sessions_digest:
            doc["sessions"] = sessions
        return doc

    async def _json(self, target: str) -> Any:
        upstream = await self.link.request("GET", target)
        if upstream.status != 200:
            _code, message = _error_of(upstream.body)
            raise DaemonDown(message or f"the daemon answered {upstream.status} to {target}")
        try:
            return _decode(upstream.body)
        except msgspec.DecodeError as exc:
            raise DaemonDown(f"the daemon sent something that is not JSON for {target}") from exc

    async def _sessions(self) -> tuple[msgspec.Raw, str]:
        """Every session, archived ones included (the UI filters), newest first.

        The records are passed on as the daemon wrote them (``msgspec.Raw``):
        decoding and re-encoding a thousand of them would be most of the cost.
        """
        digest = hashlib.sha256()
        arrays: list[bytes] = []
        cursor: str | None = None
        for _ in range(MAX_SESSION_PAGES):
            target = f"/api/v1/sessions?limit={SESSION_PAGE}&includeArchived=true"
            if cursor:
                target += f"&cursor={cursor}"
            upstream = await self.link.request("GET", target)
            if upstream.status != 200:
                _code, message = _error_of(upstream.body)
                raise DaemonDown(message or f"the daemon answered {upstream.status} to {target}")
            digest.update(upstream.body)
            try:
                page = _page_decoder.decode(upstream.body)
            except msgspec.DecodeError as exc:
                raise DaemonDown("the daemon sent a session page that is not one") from exc
            array = bytes(page.sessions).strip()
            if not array.startswith(b"["):
                raise DaemonDown("the daemon sent a session page without a session list")
            inner = array[1:-1].strip()
            if inner:
                arrays.append(inner)
            cursor = page.next_cursor
            if not cursor:
                break
        return msgspec.Raw(b"[" + b",".join(arrays) + b"]"), digest.hexdigest()[:32]

    async def _harness_list(self, features: dict[str, bool]) -> list[dict[str, Any]]:
        now = time.monotonic()
        if self._harnesses is not None and now - self._harnesses[0] < HARNESS_CACHE_SECONDS:
            return self._harnesses[1]
        if features["harnessAvailability"]:
            doc = await self._json("/api/v1/harnesses")
            harnesses = [h for h in doc.get("harnesses", []) if isinstance(h, dict)]
        else:
            # Older daemons list their harness ids but not whether each can run here.
            doc = await self._json("/api/v1/capabilities/harnesses")
            harnesses = [
                {
                    "id": manifest.get("harness_id"),
                    "label": manifest.get("harness_id"),
                    "available": None,
                    "reason": "this daemon does not report availability; a launch says "
                    "if the harness is missing",
                }
                for manifest in doc.get("harness_capabilities", [])
                if isinstance(manifest, dict) and isinstance(manifest.get("harness_id"), str)
            ]
        self._harnesses = (now, harnesses)
        return harnesses
