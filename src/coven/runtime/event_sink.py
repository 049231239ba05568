"""The event sink: every event a session records goes redact → event → write → notify.

One object per daemon. Output has its own path (``output_pipeline`` builds the
per-session ``OutputPipeline`` that coalesces, redacts in a stream and applies
backpressure) but ends in the same ``append``; typed input is held until it
can be judged, then stored redacted as a whole (``runtime.typed_input``); the daemon's own facts (kill requests, launch warnings) are
recorded as they are. Whoever waits on ``ledger.changes`` is woken once an
event commits.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

from coven.redaction import Redactor, Released, StreamRedactor
from coven.runtime.ledger import Ledger
from coven.runtime.output import DropStats, OnOffset, OutputPipeline
from coven.runtime.typed_input import TypedInput
from coven.schema import EventKind, RedactionStatus
from coven.screen import ScreenModel
from coven.store import AppendEvents, EventRow, NewEvent, encode_payload


class ReadFlow:
    """Pause and resume of one session's terminal reads, decided by its output pipeline.

    Made before the pipeline and the live session; the session binds its output
    source once reading starts, and a pause that came first is applied then.
    """

    def __init__(self) -> None:
        self._source: Any = None
        self._paused = False

    def bind(self, source: Any) -> None:
        self._source = source
        if self._paused:
            source.pause()

    def unbind(self) -> None:
        self._source = None

    def pause(self) -> None:
        self._paused = True
        if self._source is not None:
            self._source.pause()

    def resume(self) -> None:
        self._paused = False
        if self._source is not None:
            self._source.resume()


class EventSink:
    """Redacts, records and announces the events of every session."""

    def __init__(self, ledger: Ledger, redactor: Redactor) -> None:
        self.ledger = ledger
        self.redactor = redactor
        self.drops = DropStats()

    def append(
        self,
        session_id: str,
        kind: EventKind,
        payload: dict[str, Any],
        redaction: RedactionStatus = RedactionStatus.CLEAN,
    ) -> Future[int]:
        """Queue one event whose payload is already safe to store; resolves to its seq."""
        event = NewEvent(session_id, kind, encode_payload(payload), redaction)
        inner = self.ledger.submit(AppendEvents([event]))
        outer: Future[int] = Future()
        loop = self.ledger.loop
        notify = self.ledger.changes.notify

        def done(f: Future[list[EventRow]]) -> None:
            # Runs on the writer thread.
            exc = f.exception()
            if exc is not None:
                outer.set_exception(exc)
                return
            outer.set_result(f.result()[0].seq)
            loop.call_soon_threadsafe(notify, session_id)

        inner.add_done_callback(done)
        return outer

    def record_input(
        self, session_id: str, payload: dict[str, Any], typed: TypedInput
    ) -> Future[int] | None:
        """Queue the ``input`` event of one input request, if it has anything to store yet.

        Its ``data`` goes to the session's held typed input and only what can
        be judged now is stored (``runtime.typed_input``); the body's other
        members are stored (redacted) with this request's event. ``None`` when
        nothing was stored.
        """
        extras, changed = self.redactor.payload({k: v for k, v in payload.items() if k != "data"})
        data = payload.get("data")
        released = typed.accept(data) if isinstance(data, str) else Released("", False)
        if not released.text and not extras:
            return None
        redaction = changed or released.redacted
        status = RedactionStatus.REDACTED if redaction else RedactionStatus.CLEAN
        return self.append(session_id, EventKind.INPUT, {**extras, "data": released.text}, status)

    def record_typed(self, session_id: str, piece: Released) -> Future[int]:
        """Queue an ``input`` event for typed text released after its request."""
        status = RedactionStatus.REDACTED if piece.redacted else RedactionStatus.CLEAN
        return self.append(session_id, EventKind.INPUT, {"data": piece.text}, status)

    def release_held_input(self, session_id: str, typed: TypedInput) -> Future[int] | None:
        """Store what is still held of a session's typed input: it is ending (kill, exit)
        or this daemon is handing it over. The queued event, or ``None`` if nothing was held."""
        rest = typed.close()
        return self.record_typed(session_id, rest) if rest.text else None

    def typed_input(self, session_id: str) -> TypedInput:
        """The holder of one session's typed input until it can be judged."""
        return TypedInput(
            self.ledger.loop, self.redactor, lambda piece: self.record_typed(session_id, piece)
        )

    def output_pipeline(
        self,
        session_id: str,
        flow: ReadFlow,
        rows: int,
        cols: int,
        *,
        on_offset: OnOffset | None = None,
        byte_base: int = 0,
    ) -> OutputPipeline:
        """The output path of one session, built before the live session that feeds it.

        It follows the session's screen (a ``ScreenModel`` of the PTY's size) for
        attach and ``coven screen``. ``on_offset(seq, offset)`` hears, after each
        commit, the offset in the harness's byte stream (which starts at
        ``byte_base``) up to which output is committed."""

        def submit(text: str, status: str) -> Future[int]:
            return self.append(
                session_id, EventKind.OUTPUT, {"data": text}, RedactionStatus(status)
            )

        def submit_marker(dropped_bytes: int, dropped_events: int) -> Future[int]:
            payload = {"droppedBytes": dropped_bytes, "droppedEvents": dropped_events}
            return self.append(session_id, EventKind.OUTPUT_TRUNCATED, payload)

        return OutputPipeline(
            self.ledger.loop,
            submit,
            StreamRedactor(self.redactor),
            on_pause=flow.pause,
            on_resume=flow.resume,
            on_commit=lambda _seq: None,  # ``append`` already wakes the waiters
            storage_ok=lambda: self.ledger.healthy,
            submit_marker=submit_marker,
            drops=self.drops,
            screen=ScreenModel(cols, rows),
            on_offset=on_offset,
            byte_base=byte_base,
        )
