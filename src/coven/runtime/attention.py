"""Attention: what each live session needs from its user, from the strongest signal at hand.

One ``SessionAttention`` per live session, on the event loop, in memory only (the
session record shows it while the session is live; every change is an
``attention`` event). States: ``working``, ``awaiting_input``, ``idle``.

Signals, strongest first (docs/attention.md says the same for users):

1. **hook** — the harness's own structured hooks report through
   ``POST /sessions/:id/attention`` (``coven hook``). A hook's ``awaiting_input``
   or ``idle`` stands until the user types (input), another hook report, or, for
   ``idle``, a question appears on the screen; output alone does not clear it (TUIs
   redraw while they wait).
2. **screen** — after ``SCREEN_QUIET_SECONDS`` without output the session's screen
   is rendered off the loop and read by the harness's prompt detectors
   (``coven.screen.prompts``): a question → ``awaiting_input`` with the question as
   the reason; the question gone → ``working`` again.
3. **quiet** — ``idle_seconds`` without output after ``working`` → ``idle``.

Output turns a quiet ``idle`` back into ``working``; input (from the API or an
attached terminal) turns any ``awaiting_input`` or ``idle`` into ``working``.
The output path pays one timestamp and a flag per chunk read; all checks run on
one timer per session.

Nothing is recorded once the session is being killed or has exited: its ``exit``
event stays its last. Reasons and prompt text are redacted before they are kept,
recorded or sent anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import msgspec

from coven.redaction import Redactor
from coven.schema import AttentionSource, AttentionState, EventKind, RedactionStatus
from coven.schema.vocabulary import MAX_ATTENTION_PROMPT, MAX_ATTENTION_REASON
from coven.screen import ScreenModel
from coven.screen.prompts import PromptMatch, detect_prompt
from coven.store import now_rfc3339

SCREEN_QUIET_SECONDS = 1.0
DEFAULT_IDLE_SECONDS = 5.0
IDLE_SECONDS_ENV = "COVEN_ATTENTION_IDLE_SECONDS"

# (session_id, kind, payload, redaction) -> queued; the event sink's ``append``.
Record = Callable[[str, EventKind, dict[str, Any], RedactionStatus], object]


class AttentionView(msgspec.Struct, frozen=True):
    """What a session record shows: the state, its one-line reason, and since when."""

    state: AttentionState
    reason: str | None
    since: str


class AttentionChange(msgspec.Struct, frozen=True):
    """One transition, as notifiers see it (reason already redacted)."""

    session_id: str
    harness: str
    title: str
    state: AttentionState
    reason: str | None
    source: AttentionSource


def idle_seconds_from(env: dict[str, str]) -> float:
    """``COVEN_ATTENTION_IDLE_SECONDS`` from the daemon's environment (0.2 .. 3600), else 5.

    A session never goes idle sooner than ``SCREEN_QUIET_SECONDS`` (its screen is read first)."""
    raw = env.get(IDLE_SECONDS_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_IDLE_SECONDS
    return value if 0.2 <= value <= 3600 else DEFAULT_IDLE_SECONDS


def bounded(text: str | None, limit: int, *, one_line: bool = False) -> str | None:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut); ``one_line``
    folds every run of whitespace into one space first."""
    if text is None:
        return None
    if one_line:
        text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SessionAttention:
    """The attention state machine of one live session (all methods on the event loop)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        session_id: str,
        harness: str,
        title: str,
        *,
        record: Record,
        redactor: Redactor,
        screen: Callable[[], ScreenModel | None],
        on_change: Callable[[AttentionChange], None],
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
    ) -> None:
        self._loop = loop
        self.session_id = session_id
        self.harness = harness
        self.title = title
        self._record = record
        self._redactor = redactor
        self._screen = screen
        self._on_change = on_change
        self._idle_seconds = max(idle_seconds, SCREEN_QUIET_SECONDS)
        self.state = AttentionState.WORKING
        self.source = AttentionSource.LAUNCH
        self.reason: str | None = "started"
        self.since = now_rfc3339()
        self._last_output = loop.time()
        self._screened = False
        self._timer: asyncio.TimerHandle | None = None
        self._screening: asyncio.Task[None] | None = None
        self._reason_redacted = False
        self.closed = False

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start watching for quiet (even with no output yet).

        The launch state (``working``) is not recorded: a session is working from its
        launch until its first ``attention`` event says otherwise."""
        self._arm(SCREEN_QUIET_SECONDS)

    def close(self) -> None:
        """The session is ending: no more changes, no more events."""
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def view(self) -> AttentionView | None:
        if self.closed:
            return None
        return AttentionView(self.state, self.reason, self.since)

    # -- signals -----------------------------------------------------------------------------
    def output(self) -> None:
        """Output was read (called per chunk: keep it cheap)."""
        self._last_output = self._loop.time()
        self._screened = False
        if self.state is AttentionState.IDLE and self.source is AttentionSource.QUIET:
            self._change(AttentionState.WORKING, AttentionSource.OUTPUT, "new output")
        if self._timer is None and not self.closed:
            self._arm(SCREEN_QUIET_SECONDS)

    def input(self) -> None:
        """The user typed: whatever the session was waiting for, it is working again."""
        if self.state is not AttentionState.WORKING:
            self._change(AttentionState.WORKING, AttentionSource.INPUT, "input received")

    def report(self, state: AttentionState, reason: str | None, prompt: str | None) -> None:
        """A harness hook's report (the strongest signal)."""
        self._change(state, AttentionSource.HOOK, reason, prompt)

    # -- timer ---------------------------------------------------------------------------------
    def _arm(self, delay: float) -> None:
        self._timer = self._loop.call_later(max(delay, 0.05), self._check)

    def _check(self) -> None:
        self._timer = None
        if self.closed:
            return
        quiet = self._loop.time() - self._last_output
        if quiet < SCREEN_QUIET_SECONDS:
            self._arm(SCREEN_QUIET_SECONDS - quiet)
            return
        if not self._screened:
            self._screened = True
            self._screening = self._loop.create_task(self._read_screen(self._last_output))
            return
        if quiet >= self._idle_seconds:
            if self.state is AttentionState.WORKING:
                self._change(
                    AttentionState.IDLE,
                    AttentionSource.QUIET,
                    f"no output for {self._idle_seconds:g} s",
                )
            return  # the next output arms the timer again
        self._arm(self._idle_seconds - quiet)

    async def _read_screen(self, output_at: float) -> None:
        screen = self._screen()
        found: PromptMatch | None = None
        if screen is not None:
            try:
                # Rendering may emulate a backlog: never on the event loop.
                text = await self._loop.run_in_executor(None, screen.text)
            except (ValueError, RuntimeError):
                text = ""  # the model was closed meanwhile (the session ended)
            found = detect_prompt(self.harness, text)
        if self.closed:
            return
        if self._last_output != output_at:  # output arrived while rendering: look again
            self._arm(SCREEN_QUIET_SECONDS)
            return
        self._apply_screen(found)
        self._arm(max(0.0, self._idle_seconds - (self._loop.time() - self._last_output)))

    def _apply_screen(self, found: PromptMatch | None) -> None:
        hook_wait = (
            self.source is AttentionSource.HOOK and self.state is AttentionState.AWAITING_INPUT
        )
        if found is not None:
            if not hook_wait:
                self._change(
                    AttentionState.AWAITING_INPUT,
                    AttentionSource.SCREEN,
                    found.question,
                    found.prompt,
                    found.detector,
                )
        elif self.state is AttentionState.AWAITING_INPUT and self.source is AttentionSource.SCREEN:
            self._change(AttentionState.WORKING, AttentionSource.SCREEN, "question answered")

    # -- transitions -----------------------------------------------------------------------------
    def _change(
        self,
        state: AttentionState,
        source: AttentionSource,
        reason: str | None,
        prompt: str | None = None,
        detector: str | None = None,
    ) -> None:
        if self.closed:
            return
        redacted = self._redactor.text(reason) if reason else reason
        safe_reason = bounded(redacted, MAX_ATTENTION_REASON, one_line=True)
        if state is self.state and safe_reason == self.reason:
            return
        self.state, self.source, self.reason = state, source, safe_reason
        self._reason_redacted = redacted != reason
        self.since = now_rfc3339()
        self._emit(prompt, detector)
        self._on_change(
            AttentionChange(self.session_id, self.harness, self.title, state, safe_reason, source)
        )

    def _emit(self, prompt: str | None, detector: str | None) -> None:
        payload: dict[str, Any] = {
            "state": self.state,
            "reason": self.reason,
            "source": self.source,
        }
        changed = self._reason_redacted
        if prompt:
            safe, prompt_changed = self._redactor.payload(bounded(prompt, MAX_ATTENTION_PROMPT))
            payload["prompt"] = safe
            changed = changed or prompt_changed
        if detector is not None:
            payload["detector"] = detector
        status = RedactionStatus.REDACTED if changed else RedactionStatus.CLEAN
        with contextlib.suppress(Exception):  # storage trouble must not break the session
            self._record(self.session_id, EventKind.ATTENTION, payload, status)
