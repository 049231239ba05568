"""The daemon's attention service: one state machine per live session, hooks, notices.

``watch`` starts following a session at launch; ``report`` applies a harness
hook's report (``POST /sessions/:id/attention``); ``view`` is what a session record
shows; ``finished`` sends the "session finished" notice. Notices go out when a
session starts awaiting input, when a hook says its turn is over (``idle``), and
when it exits — not when it merely falls quiet (that would notify on every pause).
"""

from __future__ import annotations

from coven.errors import InvalidRequest, SessionNotLive
from coven.runtime.attention import (
    AttentionChange,
    AttentionView,
    SessionAttention,
)
from coven.runtime.event_sink import EventSink
from coven.runtime.ledger import Ledger
from coven.runtime.live import LiveSession, LiveTable
from coven.runtime.notify import Notice, Notifier
from coven.schema import AttentionSource, AttentionState, SessionStatus
from coven.schema.attention import AttentionNow, AttentionReport
from coven.schema.vocabulary import MAX_ATTENTION_PROMPT, MAX_ATTENTION_REASON


class AttentionService:
    """Attention of every live session; all methods run on the event loop."""

    def __init__(
        self,
        ledger: Ledger,
        sink: EventSink,
        table: LiveTable,
        notifier: Notifier,
        idle_seconds: float,
    ) -> None:
        self.ledger = ledger
        self.sink = sink
        self.table = table
        self.notifier = notifier
        self.idle_seconds = idle_seconds

    def watch(self, session: LiveSession, harness: str, title: str) -> None:
        """Follow a session that just started (its first state is ``working``)."""
        pipeline = session.pipeline
        attention = SessionAttention(
            self.ledger.loop,
            session.session_id,
            harness,
            title,
            record=self.sink.append,
            redactor=self.sink.redactor,
            screen=lambda: pipeline.screen,
            on_change=self._changed,
            idle_seconds=self.idle_seconds,
        )
        session.watch_attention(attention)

    def view(self, session_id: str) -> AttentionView | None:
        """The live session's attention; None when it is not live."""
        session = self.table.get(session_id)
        if session is None or session.attention is None:
            return None
        return session.attention.view

    async def report(self, session_id: str, report: AttentionReport) -> AttentionNow:
        """Apply a hook's report to a running session (``SessionNotLive`` otherwise)."""
        if report.reason is not None and len(report.reason) > MAX_ATTENTION_REASON:
            raise InvalidRequest(
                f"`reason` must be at most {MAX_ATTENTION_REASON} characters",
                {"field": "reason", "limit": MAX_ATTENTION_REASON},
            )
        if report.prompt is not None and len(report.prompt) > MAX_ATTENTION_PROMPT:
            raise InvalidRequest(
                f"`prompt` must be at most {MAX_ATTENTION_PROMPT} characters",
                {"field": "prompt", "limit": MAX_ATTENTION_PROMPT},
            )
        if report.hook is not None and (len(report.hook) > 64 or not report.hook.isprintable()):
            raise InvalidRequest("`hook` must be a short printable name", {"field": "hook"})
        row = await self.ledger.session(session_id)
        session = self.table.running(session_id)
        if row.status != SessionStatus.RUNNING or session is None or session.attention is None:
            raise SessionNotLive("Session is not live.", {"sessionId": session_id})
        attention = session.attention
        attention.report(report.state, report.reason, report.prompt)
        return AttentionNow(
            sessionId=session_id,
            attention=attention.state,
            attention_reason=attention.reason,
            attention_since=attention.since,
        )

    def finished(self, session_id: str, harness: str, title: str, status: str) -> None:
        """The session exited: tell the user (title already redacted).

        Not when it was killed: someone asked for that (a ``coven kill``, the cockpit,
        a daemon stop ending every session), and a notice per session would only echo
        it back, by the dozen on a stop."""
        if status == SessionStatus.KILLED:
            return
        self.notifier.send(Notice(session_id, title, harness, status, None))

    def _changed(self, change: AttentionChange) -> None:
        waiting = change.state is AttentionState.AWAITING_INPUT
        turn_over = change.state is AttentionState.IDLE and change.source is AttentionSource.HOOK
        if waiting or turn_over:
            self.notifier.send(
                Notice(change.session_id, change.title, change.harness, change.state, change.reason)
            )

    def close(self) -> None:
        self.notifier.close()
