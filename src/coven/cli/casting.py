"""What ``coven cast`` does with each intent: ordinary daemon calls, nothing more.

A Cast Code is parsed here, in the client, and never trusted: every effect is
one of the API calls a user could make by hand (launch, input, reads), and the
daemon validates each exactly as if it had been made directly. Nothing here
decides that something is allowed; it only decides *which* call to make. A
refusal is reported with the daemon's own error code, per call.

``perform`` takes a client and the client-side state (the active familiar) and
returns a ``CastResult``; the command renders it. Tests drive ``perform``
against a real daemon to check that property.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from coven.castcodes import Broadcast, CastIntent, Delegate, Handoff, Resume, Status, Switch
from coven.client import ApiError, CovenClient, LaunchOptions
from coven.schema.casting import COCKPIT_SESSION_ID
from coven.schema.cockpit import Overview
from coven.schema.familiars import FamiliarView
from coven.schema.vocabulary import EventKind, SessionStatus
from coven.schema.wire import SessionRecord

HANDOFF_OUTPUT_LINES = 40
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")


class CastRefused(Exception):
    """The cast cannot be carried out; ``code`` is the daemon's error code when it refused."""

    def __init__(self, message: str, code: str = "cast_not_possible") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Outcome:
    """One daemon call a cast made: what, on which session/familiar, and how it ended."""

    action: str
    target: str
    ok: bool
    code: str | None = None
    message: str | None = None
    session_id: str | None = None


@dataclass
class CastResult:
    """What a cast did. ``outcomes`` lists every daemon call with an effect, in order."""

    intent: str
    outcomes: list[Outcome] = field(default_factory=list)
    familiars: list[FamiliarView] = field(default_factory=list)
    sessions: list[SessionRecord] = field(default_factory=list)
    overview: Overview | None = None
    active_familiar: str | None = None
    packet: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)


@dataclass
class CastContext:
    """Client-side facts a cast may use: the project root, the active familiar, a harness."""

    project_root: str
    active_familiar: str | None = None
    harness: str | None = None
    set_active: Callable[[str], None] | None = None


def perform(intent: CastIntent, api: CovenClient, ctx: CastContext) -> CastResult:
    """Carry out ``intent`` through ``api``; ``CastRefused`` when nothing could be done."""
    match intent:
        case Status(familiar=name):
            return _status(api, name)
        case Switch(familiar=name):
            return _switch(api, ctx, name)
        case Delegate(familiar=name, text=text):
            result = CastResult("delegate")
            _launch_for(api, ctx, name, text, result)
            return result
        case Broadcast(familiar=name, text=text):
            return _broadcast(api, name, text)
        case Resume(familiar=name):
            return _resume(api, ctx, name)
        case Handoff(familiar=name):
            return _handoff(api, ctx, name)
    raise TypeError(f"not a Cast intent: {intent!r}")  # pragma: no cover - exhaustive


# -- status and switch -------------------------------------------------------------------


def _roster(api: CovenClient) -> dict[str, FamiliarView]:
    return {f.id: f for f in api.familiars()}


def _require_familiar(roster: dict[str, FamiliarView], name: str) -> FamiliarView:
    """The familiar, or the refusal the daemon gives a launch naming it (``unknown_familiar``)."""
    found = roster.get(name)
    if found is None:
        known = ", ".join(roster) or "none configured"
        raise CastRefused(
            f"unknown familiar `{name}`; expected one of: {known}", "unknown_familiar"
        )
    return found


def _sessions(api: CovenClient) -> list[SessionRecord]:
    return [s for s in api.list_sessions() if s.id != COCKPIT_SESSION_ID]


def _status(api: CovenClient, name: str | None) -> CastResult:
    roster = _roster(api)
    result = CastResult("status", overview=api.overview())
    sessions = _sessions(api)
    if name is None:
        result.familiars = list(roster.values())
        result.sessions = [s for s in sessions if s.status == SessionStatus.RUNNING]
    else:
        result.familiars = [_require_familiar(roster, name)]
        result.sessions = [s for s in sessions if s.familiar_id == name]
    return result


def _switch(api: CovenClient, ctx: CastContext, name: str) -> CastResult:
    _require_familiar(_roster(api), name)
    if ctx.set_active is not None:
        ctx.set_active(name)
    return CastResult("switch", active_familiar=name)


# -- delegate, resume, handoff: launches ---------------------------------------------------


def _launch_for(
    api: CovenClient,
    ctx: CastContext,
    name: str,
    prompt: str,
    result: CastResult,
    conversation: dict[str, str] | None = None,
    harness: str | None = None,
    *,
    lane: bool = True,
) -> SessionRecord | None:
    """Launch ``prompt`` for familiar ``name``; the daemon validates everything.

    The familiar's own harness is used (else the cast's ``--harness``); the
    active familiar, when another one, is recorded as the caller (a Coven Call).
    With ``lane``, the work gets a worktree lane of its own (``isolation:
    "worktree"``) when the daemon serves lanes; a project that is not a git
    repository (or has no commit yet) runs the task in the project directory
    instead, and the result says so. Nothing is checked here first, so any
    other refusal is exactly the direct launch's.
    """
    familiar = _roster(api).get(name)
    harness = harness or (familiar.harness if familiar else None) or ctx.harness
    if harness is None:
        # No client-side refusal: the daemon judges the launch in its own order
        # (project root, harness, ..., familiar) and its refusal is the answer.
        result.notes.append(f"familiar `{name}` names no harness; pass --harness")
        harness = ""
    options: LaunchOptions = {"familiar_id": name, "launch_mode": "nonInteractive"}
    if ctx.active_familiar and ctx.active_familiar != name:
        options["caller_familiar_id"] = ctx.active_familiar
    if conversation is not None:
        options["conversation"] = conversation
    if lane and not _advertises_lanes(api.handshake().capabilities):
        lane = False
        result.notes.append(
            "this daemon does not serve worktree lanes; the task runs in the project directory"
        )
    try:
        if lane:
            try:
                laned: LaunchOptions = {**options, "isolation": "worktree"}
                record = api.launch(ctx.project_root, harness, prompt, **laned)
            except ApiError as exc:
                if exc.code not in _NO_LANE_CODES:
                    raise
                result.notes.append(
                    f"{ctx.project_root} is not a git repository with a commit "
                    f"({exc.code}), so the task runs in the project directory itself, "
                    "not in a lane of its own"
                )
                record = api.launch(ctx.project_root, harness, prompt, **options)
        else:
            record = api.launch(ctx.project_root, harness, prompt, **options)
    except ApiError as exc:
        result.outcomes.append(Outcome("launch", name, False, exc.code, exc.message))
        return None
    result.outcomes.append(Outcome("launch", name, True, session_id=record.id))
    if record.worktree_path:
        result.notes.append(f"lane: {record.worktree_path} (branch {record.branch})")
    return record


# A delegate runs without a lane (and says so) only for these refusals of the lane itself.
_NO_LANE_CODES = frozenset({"not_a_git_repository", "repository_empty"})


def _advertises_lanes(caps: dict[str, Any]) -> bool:
    """Worktree lanes: ``lanes`` (this daemon); older spellings are accepted too."""
    isolation = caps.get("isolation")
    return (
        caps.get("lanes") is True
        or caps.get("worktreeLanes") is True
        or (isinstance(isolation, list) and "worktree" in isolation)
    )


def _last_session(api: CovenClient, name: str | None) -> SessionRecord | None:
    sessions = _sessions(api)  # newest first
    for session in sessions:
        if name is None or session.familiar_id == name:
            return session
    return None


def _resume(api: CovenClient, ctx: CastContext, name: str | None) -> CastResult:
    """Continue the last session of ``name`` (or the latest) as a new, linked session.

    The launch names that session (``conversation: {mode: "resume", id}``): the
    daemon resumes exactly the harness conversation it recorded, in its lane when
    it had one, and links the new record to it (``continues``). A daemon that does
    not advertise ``conversationResume`` is refused here rather than starting a
    fresh conversation.
    """
    if name is not None:
        _require_familiar(_roster(api), name)
    caps = api.handshake().capabilities
    if caps.get("conversationResume") is not True and caps.get("sessionResume") is not True:
        raise CastRefused(
            "resume is not available: this daemon does not advertise conversation resume "
            "(health capabilities.conversationResume)"
        )
    source = _last_session(api, name)
    if source is None:
        raise CastRefused(f"no session of {name or 'any familiar'} to resume")
    familiar = source.familiar_id or name
    if familiar is None:
        raise CastRefused(f"session {source.id} belongs to no familiar; use `coven run --continue`")
    result = CastResult("resume")
    conversation = {"mode": "resume", "id": source.id}
    prompt = "Continue where you left off."
    record = _launch_for(
        api, ctx, familiar, prompt, result, conversation, source.harness, lane=False
    )
    if record is not None:
        result.notes.append(f"continues session {source.id}")
    return result


def _handoff(api: CovenClient, ctx: CastContext, name: str | None) -> CastResult:
    source = _last_session(api, ctx.active_familiar) or _last_session(api, None)
    if source is None:
        raise CastRefused("no session to hand off")
    result = CastResult("handoff", packet=handoff_packet(api, source))
    if name is not None:
        _launch_for(api, ctx, name, render_packet(result.packet or {}), result)
    return result


def handoff_packet(api: CovenClient, session: SessionRecord) -> dict[str, Any]:
    """Title, status, familiar, the last lines of output and, when the session started in a
    git repository, its changed files with their diff stat (the changes route)."""
    text = "".join(
        json.loads(e.payload_json).get("data", "")
        for e in api.iter_events(session.id)
        if e.kind == EventKind.OUTPUT
    )
    lines = [ln.rstrip() for ln in _ANSI.sub("", text).replace("\r", "").split("\n")]
    tail = [ln for ln in lines if ln.strip()][-HANDOFF_OUTPUT_LINES:]
    packet: dict[str, Any] = {
        "sessionId": session.id,
        "title": session.title,
        "status": str(session.status),
        "harness": session.harness,
        "familiar": session.familiar_id,
        "projectRoot": session.project_root,
        "lastOutput": tail,
    }
    attention = getattr(session, "attention", None)
    if attention is not None:
        packet["attention"] = attention
    if session.git_root is not None:
        packet["changes"] = _changes(api, session)
    return packet


def _changes(api: CovenClient, session: SessionRecord) -> dict[str, Any]:
    """Changed files and their diff stat, from the daemon's changes route (or why not)."""
    try:
        changes = api.changes(session.id)
    except ApiError as exc:
        return {"error": {"code": exc.code, "message": exc.message}}
    files = [
        {"path": f.path, "status": f.status, "additions": f.additions, "deletions": f.deletions}
        for f in changes.files
    ]
    return {
        "baseCommit": changes.baseCommit,
        "head": changes.head,
        "branch": session.branch,
        "files": files,
        "stat": {
            "files": len(files),
            "additions": sum(f.additions for f in changes.files),
            "deletions": sum(f.deletions for f in changes.files),
        },
    }


def diff_stat_lines(changes: dict[str, Any]) -> list[str]:
    """``git diff --stat``-like lines for a packet's ``changes``."""
    if "error" in changes:
        return [f"(changes unavailable: {changes['error']['message']})"]
    files = changes.get("files") or []
    if not files:
        return ["(no changes against the base commit)"]
    width = max(len(f["path"]) for f in files)
    lines = [
        f"{f['path']:<{width}} | {f['status']:<9} +{f['additions']} -{f['deletions']}"
        for f in files
    ]
    stat = changes["stat"]
    lines.append(
        f"{stat['files']} file(s) changed, {stat['additions']} insertion(s)(+), "
        f"{stat['deletions']} deletion(s)(-)"
    )
    return lines


def render_packet(packet: dict[str, Any]) -> str:
    """The packet as the prompt of the receiving session (plain text)."""
    lines = [
        f"Handoff from Coven session {packet.get('sessionId')}: {packet.get('title')}",
        f"Status: {packet.get('status')} (harness {packet.get('harness')}"
        + (f", familiar {packet['familiar']})" if packet.get("familiar") else ")"),
    ]
    if packet.get("attention"):
        lines.append(f"Attention: {packet['attention']}")
    changes = packet.get("changes")
    if changes is not None:
        base = changes.get("baseCommit")
        where = f" against {base[:12]}" if base else ""
        lines += ["", f"Changed files{where}:", *(f"  {ln}" for ln in diff_stat_lines(changes))]
    output = packet.get("lastOutput") or []
    if output:
        lines += ["", "Last output:", *(f"  {line}" for line in output)]
    lines += ["", "Continue this work."]
    return "\n".join(lines)


# -- broadcast -------------------------------------------------------------------------------


def _broadcast(api: CovenClient, name: str | None, text: str) -> CastResult:
    if name is not None:
        _require_familiar(_roster(api), name)
    result = CastResult("broadcast")
    targets = [
        s
        for s in _sessions(api)
        if s.status == SessionStatus.RUNNING and (name is None or s.familiar_id == name)
    ]
    if not targets:
        result.notes.append(f"no live sessions{'' if name is None else f' of {name}'}")
    for session in targets:
        # Each input is checked live by the daemon; a session that ended meanwhile
        # is refused (session_not_live) and reported, the others still get it.
        try:
            api.send_input(session.id, text + "\n")
        except ApiError as exc:
            result.outcomes.append(Outcome("input", session.id, False, exc.code, exc.message))
        else:
            result.outcomes.append(Outcome("input", session.id, True, session_id=session.id))
    return result


def default_root() -> str:
    return os.path.realpath(os.getcwd())
