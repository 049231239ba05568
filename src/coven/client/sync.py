"""``CovenClient``: the blocking client over the stdlib (no aiohttp import)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict, TypeVar, Unpack

from coven.client import calls, cockpit_calls
from coven.client.calls import Health
from coven.client.errors import ProtocolError, SessionNotFound
from coven.client.ndjson import NdjsonEvents
from coven.client.refs import match_session_ref, ref_not_found
from coven.client.transport import Transport, UnixTransport
from coven.schema.attach import ScreenView
from coven.schema.attention import AttentionNow
from coven.schema.casting import CastAccepted
from coven.schema.cockpit import CovenCall, Overview
from coven.schema.familiars import FamiliarView
from coven.schema.home import SOCKET_NAME
from coven.schema.search import PruneResult, SearchResult
from coven.schema.wire import EventRecord, EventsPage, LogLine, SessionRecord, SessionsPage
from coven.schema.work import DiscardOutcome, MergeOutcome, SessionChanges, SessionDiff

T = TypeVar("T")

_PAGE = 1000


def default_home() -> Path:
    """``$COVEN_HOME`` when set and non-empty, else ``~/.coven``; always absolute.

    A relative ``COVEN_HOME`` is taken against the current directory (once, here),
    so a daemon started from it serves the same directory whatever its own cwd.
    """
    env = os.environ.get("COVEN_HOME")
    return Path(os.path.abspath(env)) if env else Path.home() / ".coven"


class LaunchOptions(TypedDict, total=False):
    """Optional ``launch`` arguments; each maps to one ``POST /sessions`` body key."""

    cwd: str | os.PathLike[str]
    title: str
    launch_mode: str
    model: str
    permission: str
    add_dirs: Sequence[str | os.PathLike[str]]
    rows: int
    cols: int
    labels: Sequence[str]
    conversation_id: str
    # The harness's whole environment (e.g. ``launch_environment()``); absent: the daemon's.
    environment: Mapping[str, str]
    familiar_id: str
    caller_familiar_id: str
    conversation: Mapping[str, str]
    isolation: str
    resume: str


_LAUNCH_KEYS = {
    "cwd": "cwd",
    "title": "title",
    "launch_mode": "launchMode",
    "model": "model",
    "permission": "permission",
    "add_dirs": "addDirs",
    "rows": "rows",
    "cols": "cols",
    "labels": "labels",
    "conversation_id": "conversationId",
    "environment": "environment",
    "familiar_id": "familiarId",
    "caller_familiar_id": "callerFamiliarId",
    "conversation": "conversation",
    "isolation": "isolation",
    "resume": "conversation",
}


def launch_body(
    project_root: str | os.PathLike[str],
    harness: str,
    prompt: str,
    **options: Unpack[LaunchOptions],
) -> dict[str, Any]:
    """The ``POST /sessions`` body; absent or ``None`` options are left out (daemon defaults)."""
    body: dict[str, Any] = {
        "projectRoot": os.fspath(project_root),
        "harness": harness,
        "prompt": prompt,
    }
    value: Any
    for name, value in options.items():
        if name not in _LAUNCH_KEYS:
            raise TypeError(f"unknown launch option {name!r}")
        if value is None:
            continue
        if name == "cwd":
            value = os.fspath(value)
        elif name in ("add_dirs", "labels"):
            value = [os.fspath(v) for v in value]
        elif name in ("environment", "conversation"):
            value = dict(value)
        elif name == "resume":
            # A Coven session id (or a recorded harness conversation id) to continue.
            value = {"mode": "resume", "id": value}
        body[_LAUNCH_KEYS[name]] = value
    return body


def external_body(
    session_id: str,
    project_root: str | os.PathLike[str],
    harness: str,
    *,
    title: str | None = None,
    transcript_path: str | None = None,
    labels: Sequence[str] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": session_id,
        "projectRoot": os.fspath(project_root),
        "harness": harness,
        "transcriptPath": transcript_path,
    }
    if title is not None:
        body["title"] = title
    if labels is not None:
        body["labels"] = list(labels)
    return body


class CovenClient:
    """Blocking client for one daemon. Every call is one HTTP request on a fresh connection.

    All calls except ``health()`` first pass the health gate (``handshake()``),
    once per client. Errors are ``coven.client.errors`` classes. Thread-safe as
    far as the transport is (``UnixTransport`` is).
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._health: Health | None = None

    @classmethod
    def from_home(
        cls, home: Path | str | None = None, *, timeout: float | None = 10.0
    ) -> CovenClient:
        """A client for the daemon of ``home`` (default: ``default_home()``)."""
        home_path = Path(home) if home is not None else default_home()
        return cls(UnixTransport(home_path / SOCKET_NAME, timeout=timeout))

    def _send(self, call: calls.Call[T], *, gated: bool = True) -> T:
        if gated:
            self.handshake()
        response = self.transport.handle(call.request)
        try:
            body = response.read()
        finally:
            response.close()
        return call.parse(response.status, body)

    # -------------------------------------------------------------- daemon

    def health(self) -> Health:
        """``GET /health`` without judging it (see ``handshake()``)."""
        return self._send(calls.health(), gated=False)

    def handshake(self) -> Health:
        """Check the daemon speaks ``coven.daemon.v1`` with sessions/events; cached on success."""
        if self._health is None:
            self._health = calls.check_health(self.health())
        return self._health

    def api_version(self) -> dict[str, Any]:
        return self._send(calls.api_version(), gated=False)

    def capabilities(self) -> dict[str, Any]:
        return self._send(calls.capabilities())

    def harness_ids(self) -> list[str]:
        """The harness ids this daemon can launch, in its listing order."""
        doc = self._send(calls.harness_capabilities())
        manifests = doc.get("harness_capabilities")
        if not isinstance(manifests, list):
            raise ProtocolError("`harness_capabilities` is not a list")
        return [
            m["harness_id"]
            for m in manifests
            if isinstance(m, dict) and isinstance(m.get("harness_id"), str)
        ]

    def action(self, name: str, args: Any = None) -> dict[str, Any]:
        """``POST /actions``; a refusal raises ``ActionRejected``."""
        return self._send(calls.action(name, args))

    # -------------------------------------------------------------- sessions

    def launch(
        self,
        project_root: str | os.PathLike[str],
        harness: str,
        prompt: str,
        **options: Unpack[LaunchOptions],
    ) -> SessionRecord:
        """Launch ``harness`` in ``project_root``; answers the new record (``status`` running)."""
        return self._send(calls.launch(launch_body(project_root, harness, prompt, **options)))

    def list_sessions(self, include_archived: bool = False) -> list[SessionRecord]:
        """All sessions, newest first; archived ones only when asked (then paged by cursor)."""
        if not include_archived:
            return self._send(calls.list_sessions())
        records: list[SessionRecord] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = self.sessions_page(limit=_PAGE, cursor=cursor, include_archived=True)
            records.extend(page.sessions)
            if page.next_cursor is None:
                return records
            if not page.sessions or page.next_cursor in seen:
                raise ProtocolError(f"sessions cursor {page.next_cursor!r} does not advance")
            seen.add(page.next_cursor)
            cursor = page.next_cursor

    def sessions_page(
        self, limit: int | None = None, cursor: str | None = None, include_archived: bool = False
    ) -> SessionsPage:
        return self._send(calls.sessions_page(limit, cursor, include_archived))

    def get_session(self, session_id: str) -> SessionRecord:
        return self._send(calls.get_session(session_id))

    def resolve_session_ref(self, ref: str) -> SessionRecord:
        """A full id, else a unique prefix among all sessions (archived included)."""
        if not ref:
            raise ref_not_found(ref)
        try:
            return self.get_session(ref)
        except (SessionNotFound, ValueError):
            pass
        return match_session_ref(ref, self.list_sessions(include_archived=True))

    def register_external(
        self,
        session_id: str,
        project_root: str | os.PathLike[str],
        harness: str,
        *,
        title: str | None = None,
        transcript_path: str | None = None,
        labels: Sequence[str] | None = None,
    ) -> SessionRecord:
        body = external_body(
            session_id,
            project_root,
            harness,
            title=title,
            transcript_path=transcript_path,
            labels=labels,
        )
        return self._send(calls.register_external(body))

    def complete(self, session_id: str, exit_code: int | None = None) -> SessionRecord:
        return self._send(calls.complete(session_id, exit_code))

    def send_input(self, session_id: str, data: str) -> None:
        self._send(calls.send_input(session_id, data))

    def report_attention(self, session_id: str, report: Mapping[str, Any]) -> AttentionNow:
        """``POST /sessions/:id/attention``: a harness hook's report (``coven hook``)."""
        return self._send(calls.report_attention(session_id, report))

    def kill(self, session_id: str) -> None:
        self._send(calls.kill(session_id))

    def resize(self, session_id: str, rows: int, cols: int) -> None:
        self._send(calls.resize(session_id, rows, cols))

    def archive(self, session_id: str) -> SessionRecord:
        return self._send(calls.archive(session_id))

    def summon(self, session_id: str) -> SessionRecord:
        return self._send(calls.summon(session_id))

    def sacrifice(self, session_id: str, confirm: str) -> None:
        """Delete a finished session; ``confirm`` must be its exact full id (the daemon checks)."""
        result = self._send(calls.sacrifice(session_id, confirm))
        if result.get("ok") is not True:
            raise ProtocolError(f"sacrifice answered without ok: {result!r}")

    # -------------------------------------------------------------- cockpit

    def familiars(self) -> list[FamiliarView]:
        """The roster with live state (``status``, ``active_sessions``, ``last_seen``)."""
        return self._send(cockpit_calls.familiars())

    def add_familiar(self, fields: dict[str, Any]) -> FamiliarView:
        """Ask the daemon to add a roster entry (roster key names: ``id``, ``display_name``...)."""
        return self._send(cockpit_calls.add_familiar(fields))

    def remove_familiar(self, familiar_id: str) -> None:
        self._send(cockpit_calls.remove_familiar(familiar_id))

    def record_cast(self, code: str, target: str | None = None) -> CastAccepted:
        """Record a Cast Code in the daemon's ledger (it grants nothing)."""
        return self._send(cockpit_calls.record_cast(code, target))

    def overview(self) -> Overview:
        return self._send(cockpit_calls.overview())

    def coven_calls(self) -> list[CovenCall]:
        return self._send(cockpit_calls.coven_calls()).calls

    # -------------------------------------------------------------- work: changes, lanes

    def changes(self, session_id: str) -> SessionChanges:
        """Files the session changed against its base commit (``not_a_git_repository`` without)."""
        return self._send(calls.changes(session_id))

    def diff(
        self, session_id: str, path: str | None = None, max_bytes: int | None = None
    ) -> SessionDiff:
        """The session's unified diff (``truncated`` when cut at the cap), or one path's."""
        return self._send(calls.diff(session_id, path, max_bytes))

    def merge(self, session_id: str, commit_message: str | None = None) -> MergeOutcome:
        """Merge the session's lane into its base branch in the user's checkout."""
        return self._send(calls.merge(session_id, commit_message))

    def discard(self, session_id: str, force: bool = False) -> DiscardOutcome:
        """Remove the session's lane; refused with work in it unless ``force``."""
        return self._send(calls.discard(session_id, force))

    # -------------------------------------------------------------- search, prune

    def search(self, text: str, limit: int | None = None) -> SearchResult:
        """Sessions whose output or title holds every word of ``text``, best hits first."""
        return self._send(calls.search(text, limit))

    def prune(self, event_days: int | None = None, dry_run: bool = False) -> PruneResult:
        """Delete (``dry_run``: count) events older than ``event_days`` of finished sessions."""
        return self._send(calls.prune(event_days, dry_run))

    # -------------------------------------------------------------- events

    def events(self, session_id: str, after_seq: int = 0, limit: int | None = None) -> EventsPage:
        page = self._send(calls.events(session_id, after_seq, limit))
        calls.check_events_page(page, after_seq)
        return page

    def iter_events(self, session_id: str, after_seq: int = 0) -> Iterator[EventRecord]:
        """Every stored event after ``after_seq``, page by page until ``hasMore`` is false."""
        cursor = after_seq
        while True:
            page = self.events(session_id, cursor, _PAGE)
            yield from page.events
            if not page.hasMore or page.nextCursor is None:
                return
            cursor = page.nextCursor.afterSeq

    def screen(self, session_id: str, ansi: bool = False, history: int = 0) -> ScreenView:
        """A session's screen as text after up to ``history`` scrollback lines (an ended
        session's final screen, rebuilt by the daemon from its stored output)."""
        return self._send(calls.screen(session_id, ansi, history))

    def log(self, session_id: str) -> list[LogLine]:
        return self._send(calls.log(session_id))

    def follow(self, session_id: str, after_seq: int = 0) -> Iterator[EventRecord]:
        """Events after ``after_seq`` as they are written; ends after the session's ``exit``.

        Closing the generator closes the connection.
        """
        self.handshake()
        response = self.transport.handle(calls.follow_request(session_id, after_seq))
        try:
            if not 200 <= response.status < 300:
                raise calls.error_from_response(response.status, response.read())
            decoder = NdjsonEvents()
            for chunk in response.iter_bytes():
                yield from decoder.feed(chunk)
            decoder.finish()
        finally:
            response.close()
