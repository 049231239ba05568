"""The lossless output path of one session: PTY bytes → events, with backpressure.

Bytes read from the PTY are decoded (UTF-8, incrementally), shown to attached
clients at once (raw, unredacted: the live terminal shows the real output),
and queued for the store. Queued text is *sealed* into an ``output`` event
whenever no earlier event of this session is still being committed, or once
64 KiB has accumulated — so an idle interactive session commits each echo at
once, while a flood coalesces into large rows (adaptive group commit).

Nothing is ever dropped: when the text waiting for the store exceeds
``pause_above`` the owner stops reading the PTY (the harness then blocks on
its own write) and resumes when commits drain below ``resume_below``.

Sealed text passes through a ``StreamRedactor`` that may hold back a tail
which could be the start of a secret split across reads; a short idle timer
releases it. All positions are counted in characters of decoded text
("offsets"), so an attach can be stitched exactly from stored events,
events still in flight, and live text.
"""

from __future__ import annotations

import asyncio
import codecs
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Protocol

import msgspec

from coven.schema import RedactionStatus
from coven.screen import ScreenModel

SEAL_CHARS = 64 * 1024
PAUSE_ABOVE = 4 * 1024 * 1024
RESUME_BELOW = 1 * 1024 * 1024
# Held text (a possible secret prefix) is stored after this much output silence; long
# enough that a secret printed in two parts is still joined, short enough that a
# waiting prompt reaches polling clients.
HOLD_FLUSH_SECONDS = 2.0
# After this much output silence the screen model reads its backlog on a worker thread,
# so the next attach renders at once and the model holds its emulator, not raw output.
SCREEN_CATCH_UP_SECONDS = 1.0
# How long a session may stay paused while persistence is down before the daemon lets the
# harness run on and counts what it cannot store (exact ``output_truncated`` markers).
OUTAGE_GRACE_SECONDS = 60.0


def utf8_len(text: str) -> int:
    """Length of ``text`` in UTF-8 without copying it when it is ASCII (most output)."""
    # str.isascii() reads a flag CPython keeps on every string: O(1).
    return len(text) if text.isascii() else len(text.encode("utf-8", "replace"))


class Redactor(Protocol):
    def feed(self, text: str) -> str: ...
    def flush(self) -> str: ...
    @property
    def held(self) -> int: ...


class Subscriber(Protocol):
    """An attached client; ``push`` must never block (it may decide to drop the client).

    ``data`` is the decoded text re-encoded as UTF-8: the same bytes the screen model is
    fed, so a subscriber can be stitched to a screen snapshot by byte count."""

    def push_output(self, data: bytes, end_offset: int) -> None: ...


class InFlight(msgspec.Struct):
    text: str  # the redacted text as it will be stored
    end_offset: int  # raw offset just past this event's source text
    future: Future[int]
    byte_end: int | None = None  # offset in the harness's byte stream just past it, if exact


# (text, redaction_status) -> future resolving to the committed seq
SubmitOutput = Callable[[str, str], "Future[int]"]
# (dropped bytes, dropped chunks) -> future of the marker event's commit
SubmitMarker = Callable[[int, int], "Future[int]"]
# (seq, byte offset): output up to that offset of the harness's stream is committed
OnOffset = Callable[[int, int], None]


def _raw_size(text: str) -> int | None:
    """Bytes of the harness's stream that decoded to ``text``, or ``None`` if not certain.

    Exact unless ``text`` holds U+FFFD: that may stand for 1 to 3 undecodable bytes.
    """
    if text.isascii():
        return len(text)
    if "\ufffd" in text:
        return None
    return len(text.encode("utf-8"))


class DropStats(msgspec.Struct):
    """Daemon-wide totals of output that could not be stored (persistence down)."""

    bytes: int = 0
    events: int = 0


class OutputPipeline:
    """Per-session output accounting. All methods run on the event loop thread."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        submit: SubmitOutput,
        redactor: Redactor,
        on_pause: Callable[[], None],
        on_resume: Callable[[], None],
        on_commit: Callable[[int], None],
        storage_ok: Callable[[], bool] = lambda: True,
        submit_marker: SubmitMarker | None = None,
        drops: DropStats | None = None,
        screen: ScreenModel | None = None,
        on_offset: OnOffset | None = None,
        byte_base: int = 0,
    ) -> None:
        self._loop = loop
        # Byte offsets of the harness's output stream (a holder acknowledges by them):
        # ``_bytes_fed`` counts every byte fed, from ``byte_base`` (where an adopted
        # session's stream resumed).
        self._on_offset = on_offset
        self._bytes_fed = byte_base
        self.screen = screen
        self._screen_timer: asyncio.TimerHandle | None = None
        self._screen_fed_at_timer = 0
        self._storage_ok = storage_ok
        self._submit_marker = submit_marker
        self._drops = drops if drops is not None else DropStats()
        self._truncating = False
        self._dropped_bytes = 0
        self._dropped_chunks = 0
        self._outage_timer: asyncio.TimerHandle | None = None
        self._submit = submit
        self._redactor = redactor
        self._on_pause = on_pause
        self._on_resume = on_resume
        self._on_commit = on_commit
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending: list[str] = []
        self._pending_chars = 0
        self._held_raw = ""  # raw text the redactor is holding back
        self._inflight: deque[InFlight] = deque()
        self._inflight_chars = 0
        self._fed = 0  # raw chars decoded so far
        self._sealed_to = 0  # raw offset consumed by sealed events
        self._paused = False
        self._hold_timer: asyncio.TimerHandle | None = None
        self.subscribers: set[Subscriber] = set()
        # Told of every chunk read (attention's quiet timer); must be as cheap as a timestamp.
        self.on_activity: Callable[[], None] | None = None
        self.committed_seq = 0
        self.recent_ends: deque[tuple[int, int]] = deque(maxlen=4096)  # (seq, end_offset)
        self.stored_bytes = 0
        self.emitted_bytes = 0
        self.failed_commits = 0

    # -- input side -------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Account bytes read from the PTY; may pause reading."""
        self.emitted_bytes += len(data)
        if self.on_activity is not None:
            self.on_activity()
        self._bytes_fed += len(data)
        self._add_text(self._decoder.decode(data))

    def finish(self) -> None:
        """The PTY reached EOF: release everything (decoder tail, held text) into events."""
        self._add_text(self._decoder.decode(b"", final=True))
        if self._truncating:
            self._end_truncation()  # the marker is queued; it lands when storage recovers
        if self._outage_timer is not None:
            self._outage_timer.cancel()
            self._outage_timer = None
        self._seal(final=True)

    def _add_text(self, text: str) -> None:
        if not text:
            return
        self._fed += len(text)
        data = text.encode("utf-8", "replace")
        if self.screen is not None:
            self.screen.feed(data)
            if self._screen_timer is None:
                self._screen_timer = self._loop.call_later(
                    SCREEN_CATCH_UP_SECONDS, self._screen_pause_check, self._fed
                )
        for sub in list(self.subscribers):
            sub.push_output(data, self._fed)
        if self._truncating:
            if not self._storage_ok():
                size = utf8_len(text)
                self._dropped_bytes += size
                self._dropped_chunks += 1
                self._drops.bytes += size
                self._drops.events += 1
                return
            self._end_truncation()
        self._pending.append(text)
        self._pending_chars += len(text)
        if not self._inflight or self._pending_chars >= SEAL_CHARS:
            self._seal()
        if not self._paused and self.backlog > PAUSE_ABOVE:
            self._paused = True
            self._on_pause()
            if self._submit_marker is not None and self._outage_timer is None:
                self._outage_timer = self._loop.call_later(OUTAGE_GRACE_SECONDS, self._outage_check)

    def _screen_pause_check(self, fed_then: int) -> None:
        screen = self.screen
        if screen is None:
            self._screen_timer = None
            return
        if self._fed != fed_then:  # still flowing: look again later
            self._screen_timer = self._loop.call_later(
                SCREEN_CATCH_UP_SECONDS, self._screen_pause_check, self._fed
            )
            return
        self._screen_timer = None
        # Rendering work (up to the backlog limit) never runs on the event loop.
        self._loop.run_in_executor(None, _quiet_catch_up, screen)

    def close_screen(self) -> None:
        """The session ended: stop following its screen and free the model."""
        if self._screen_timer is not None:
            self._screen_timer.cancel()
            self._screen_timer = None
        screen, self.screen = self.screen, None
        if screen is not None:
            # A render may be running on a worker thread; close waits for it there.
            self._loop.run_in_executor(None, screen.close)

    def _outage_check(self) -> None:
        self._outage_timer = None
        if self._paused and not self._storage_ok():
            # Persistence has been down for the whole grace period: a frozen agent helps
            # nobody, so let it run on and count exactly what cannot be stored.
            self._truncating = True
            self._paused = False
            self._on_resume()

    def _end_truncation(self) -> None:
        self._truncating = False
        if self._dropped_chunks and self._submit_marker is not None:
            marker = self._submit_marker(self._dropped_bytes, self._dropped_chunks)
            marker.add_done_callback(lambda _f: None)
        self._dropped_bytes = 0
        self._dropped_chunks = 0

    @property
    def backlog(self) -> int:
        """Characters read from the PTY and not yet committed."""
        return self._pending_chars + len(self._held_raw) + self._inflight_chars

    @property
    def settled(self) -> bool:
        """Nothing is waiting to be committed but text the redactor holds back."""
        return not self._inflight and not self._pending

    @property
    def idle(self) -> bool:
        """True when every character read so far is committed."""
        return self.backlog == 0

    # -- sealing ----------------------------------------------------------------------------
    def _seal(self, final: bool = False) -> None:
        new = "".join(self._pending)
        self._pending.clear()
        self._pending_chars = 0
        if not new and not final:
            return
        # The redactor keeps its own held tail; feed it only new text. ``_held_raw``
        # mirrors that tail so attach snapshots can show it.
        safe = self._redactor.feed(new) if new else ""
        if final:
            safe += self._redactor.flush()
        held = 0 if final else self._redactor.held
        raw = self._held_raw + new
        consumed = raw[: len(raw) - held] if held else raw
        self._held_raw = raw[len(raw) - held :] if held else ""
        if self._hold_timer is not None:
            self._hold_timer.cancel()
            self._hold_timer = None
        if self._held_raw:
            self._hold_timer = self._loop.call_later(HOLD_FLUSH_SECONDS, self._release_held)
        self._emit(safe, consumed, self._byte_end(self._held_raw))

    def _release_held(self) -> None:
        self._hold_timer = None
        if not self._held_raw:
            return
        raw, self._held_raw = self._held_raw, ""
        self._emit(self._redactor.flush(), raw, self._byte_end("".join(self._pending)))

    def _byte_end(self, after: str) -> int | None:
        """The stream offset just before ``after`` (decoded text at the very end), if exact."""
        undecoded = len(self._decoder.getstate()[0])
        size = _raw_size(after) if after else 0
        return None if size is None else self._bytes_fed - undecoded - size

    def _emit(self, safe: str, raw: str, byte_end: int | None = None) -> None:
        """Queue ``safe`` (the redacted form of ``raw``) as one output event."""
        self._sealed_to += len(raw)
        if safe:
            status = RedactionStatus.CLEAN if safe == raw else RedactionStatus.REDACTED
            future = self._submit(safe, status)
            self._track(InFlight(safe, self._sealed_to, future, byte_end), len(raw))

    def _track(self, item: InFlight, chars: int) -> None:
        self._inflight.append(item)
        self._inflight_chars += chars

        def done(future: Future[int]) -> None:
            # Runs on the writer thread: hop back to the loop.
            self._loop.call_soon_threadsafe(self._committed, item, chars, future)

        item.future.add_done_callback(done)

    def _committed(self, item: InFlight, chars: int, future: Future[int]) -> None:
        # Writer commits in submission order, so the head of the deque is this item.
        if self._inflight and self._inflight[0] is item:
            self._inflight.popleft()
        else:  # pragma: no cover - defensive; order is guaranteed by the single writer
            self._inflight.remove(item)
        self._inflight_chars -= chars
        exc = future.exception()
        if exc is None:
            seq = future.result()
            self.committed_seq = max(self.committed_seq, seq)
            self.recent_ends.append((seq, item.end_offset))
            self.stored_bytes += utf8_len(item.text)
            self._on_commit(seq)
            if self._on_offset is not None and item.byte_end is not None:
                self._on_offset(seq, item.byte_end)
        else:
            self.failed_commits += 1
            # A write that failed for good (the writer retries storage faults itself; this
            # is e.g. the session's row deleted): that output can never be stored, so a
            # holder must not keep it and hold the harness back for it.
            if self._on_offset is not None and item.byte_end is not None:
                self._on_offset(self.committed_seq, item.byte_end)
        if self._pending and not self._inflight:
            self._seal()
        if self._paused and self.backlog < RESUME_BELOW:
            self._paused = False
            if self._outage_timer is not None:
                self._outage_timer.cancel()
                self._outage_timer = None
            self._on_resume()

    # -- attach support -----------------------------------------------------------------------
    def snapshot(self) -> tuple[int, str, int]:
        """(committed seq, text not yet in the store, raw offset at the end of that text).

        Events with seq <= committed seq are in the store; the returned text covers
        exactly what follows them up to this instant (in-flight events as they will be
        stored, then held and pending raw text). Live pushes after this call continue
        from the returned offset — no gap, no duplicate.
        """
        parts = [item.text for item in self._inflight]
        parts.append(self._held_raw)
        parts.extend(self._pending)
        return self.committed_seq, "".join(parts), self._fed

    def resume_seq_for(self, delivered_offset: int) -> int:
        """Highest committed seq whose text lies entirely within ``delivered_offset``."""
        best = 0
        for seq, end in self.recent_ends:
            if end <= delivered_offset:
                best = seq
            else:
                break
        return best


def _quiet_catch_up(screen: ScreenModel) -> None:
    # A closed model raises ValueError; the session ended meanwhile, nothing to do.
    try:
        screen.catch_up()
    except ValueError:
        return
