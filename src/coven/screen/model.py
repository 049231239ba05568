"""``ScreenModel``: the screen of one session, cheap to feed, rendered on demand."""

from __future__ import annotations

import threading
from collections import deque

import msgspec

from . import native
from .modes import DEFAULT_MODES, ModeTracker, TerminalModes, transition_sequence
from .render import render_snapshot, render_text
from .scan import Reset, Scanner

DEFAULT_HISTORY = 1000
DEFAULT_BACKLOG_LIMIT = 2 * 1024 * 1024
MIN_BACKLOG_LIMIT = 64 * 1024
MAX_PIECE = 256 * 1024  # larger chunks are queued in pieces of this size
MAX_SIZE = 4096  # columns or rows; larger is a caller bug, not a terminal
# Emulator memory per line of scrollback and column, with room for styles; the library
# prunes whole pages (about 400 KB), so it keeps at least this much and up to a page more.
_SCROLLBACK_BYTES_PER_CELL = 16
_UTF8_CONTINUATION = bytes(range(0x80, 0xC0))


class ScreenSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A rendered screen and exactly which output it reflects.

    ``data`` reproduces the screen on a terminal of ``cols`` x ``rows`` (see
    ``ScreenModel.snapshot``). ``offset`` is the number of output bytes it covers: the
    attaching client must be sent the session's output from that byte on, and nothing
    before it. ``exact`` is False when output was skipped (see the package docstring).
    """

    data: bytes
    offset: int
    cols: int
    rows: int
    modes: TerminalModes
    exact: bool


class _Chunk(msgspec.Struct):
    data: bytes
    offset: int  # stream offset of data[0]
    lead_in: bytes  # the end of the previous chunk that begins a sequence finished here
    modes: TerminalModes  # modes before lead_in


class _Resize(msgspec.Struct):
    cols: int
    rows: int


class _ResetPoint(msgspec.Struct):
    chunk: _Chunk
    index: int  # into chunk.lead_in + chunk.data
    kind: Reset
    modes: TerminalModes  # modes just before the reset sequence

    @property
    def offset(self) -> int:
        return self.chunk.offset - len(self.chunk.lead_in) + self.index


class _Skip(msgspec.Struct):
    """Output was dropped unread: what the emulator needs to continue after the gap."""

    modes: TerminalModes  # the modes where the kept output starts
    size: tuple[int, int] | None  # the last resize dropped with the output


def _validate_size(cols: int, rows: int) -> None:
    if not (1 <= cols <= MAX_SIZE and 1 <= rows <= MAX_SIZE):
        raise ValueError(f"terminal size {cols}x{rows} is outside 1..{MAX_SIZE}")


class ScreenModel:
    """The screen of one session, as a terminal showing its output would show it.

    ``feed`` is cheap (a native-speed scan and an append) and never waits for rendering;
    the emulator reads the queued output (the *backlog*) only when a render asks for the
    screen, or ``catch_up`` is called. The backlog is bounded by ``backlog_limit`` bytes
    (plus one piece of at most 256 KiB): beyond it, output is skipped up to the latest
    reset point, or else the oldest output is dropped (the screen is then
    ``exact=False``; see the package docstring).

    Thread-safety: ``feed``, ``resize`` and ``modes`` may be called from one thread while
    ``catch_up``/``snapshot``/``text`` run on another; the emulator works without holding
    the GIL, and ``feed`` only waits for a renderer to take the backlog (a list swap).
    """

    def __init__(
        self,
        cols: int,
        rows: int,
        *,
        history: int = DEFAULT_HISTORY,
        backlog_limit: int = DEFAULT_BACKLOG_LIMIT,
    ) -> None:
        _validate_size(cols, rows)
        if history < 0:
            raise ValueError("history must be >= 0 lines")
        if backlog_limit < MIN_BACKLOG_LIMIT:
            raise ValueError(f"backlog_limit must be >= {MIN_BACKLOG_LIMIT} bytes")
        self._history = history
        self._limit = backlog_limit
        # Trim in batches: past the limit by an eighth, drop down to the limit.
        self._trim_above = backlog_limit + backlog_limit // 8
        self._lock = threading.Lock()  # the backlog, the tracker, the counters
        self._render_lock = threading.Lock()  # the emulator
        self._tracker = ModeTracker(rows)
        self._scanner = Scanner(self._tracker)
        self._backlog: deque[_Chunk | _Resize] = deque()
        self._backlog_bytes = 0
        self._reset: _ResetPoint | None = None
        self._skip: _Skip | None = None
        self._size = (cols, rows)  # after everything fed
        self._fed = 0  # output bytes fed
        self._backlog_start = 0  # stream offset of the first byte not yet emulated or skipped
        self._skipped = 0  # output bytes dropped unread, in total
        self._last_skip_end = -1  # stream offset where the last skipped range ended
        self._last_full_reset = -1  # stream offset of the last RIS
        # Emulator side (guarded by _render_lock).
        self._initial_size = (cols, rows)
        self._emulator: native.NativeTerminal | None = None
        self._emulator_modes = DEFAULT_MODES
        self._closed = False

    # -- feeding (hot path) ------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Queue ``data`` (output in stream order; UTF-8 characters and escape sequences
        may be split across calls)."""
        if len(data) > MAX_PIECE:
            # Queue large chunks in pieces: output can only be skipped piece by piece.
            for start in range(0, len(data), MAX_PIECE):
                self.feed(data[start : start + MAX_PIECE])
            return
        if not data:
            return
        with self._lock:
            if self._closed:
                return
            modes = self._tracker.modes()
            found = self._scanner.scan(data)
            chunk = _Chunk(data, self._fed, found.lead_in, modes)
            self._backlog.append(chunk)
            self._backlog_bytes += len(data)
            self._fed += len(data)
            if found.reset is not None and found.reset_modes is not None:
                self._reset = _ResetPoint(chunk, found.reset_at, found.reset, found.reset_modes)
            if found.full_reset_at >= 0:
                self._last_full_reset = chunk.offset - len(found.lead_in) + found.full_reset_at
            if self._backlog_bytes > self._trim_above:
                self._trim()

    def resize(self, cols: int, rows: int) -> None:
        """The terminal was resized at this point of the output (applied in order)."""
        _validate_size(cols, rows)
        with self._lock:
            if not self._closed and (cols, rows) != self._size:
                self._size = (cols, rows)
                self._tracker.resize(rows)
                self._backlog.append(_Resize(cols, rows))

    def _trim(self) -> None:
        """Drop output the emulator has not read, down to ``backlog_limit`` bytes (plus at
        most one piece): from the latest reset point if the output after it fits, else the
        oldest chunks. Records what the emulator needs to continue after the gap."""
        backlog = self._backlog
        dropped_size = self._skip.size if self._skip is not None else None
        reset = self._reset
        if (
            reset is not None
            and reset.offset > self._backlog_start
            and self._fed - reset.offset <= self._limit
        ):
            while backlog[0] is not reset.chunk:
                dropped_size = self._drop_front(dropped_size)
            old = reset.chunk
            kept = (old.lead_in + old.data)[reset.index :]
            front = _Chunk(kept, reset.offset, b"", reset.modes)
            self._backlog_bytes += len(kept) - len(old.data)
            backlog[0] = front
            self._reset = None
        else:
            if len(backlog) < 2:
                return  # a single chunk larger than the limit: nothing older to drop
            while self._backlog_bytes > self._limit and len(backlog) > 1:
                dropped_size = self._drop_front(dropped_size)
            while isinstance(backlog[0], _Resize):
                dropped_size = self._drop_front(dropped_size)
            old = backlog[0]
            assert isinstance(old, _Chunk)
            # Start with the sequence the dropped chunk began, never inside a character.
            whole = old.lead_in + old.data
            kept = whole.lstrip(_UTF8_CONTINUATION)
            stripped = len(whole) - len(kept)
            front = _Chunk(kept, old.offset - len(old.lead_in) + stripped, b"", old.modes)
            self._backlog_bytes += len(kept) - len(old.data)
            backlog[0] = front
            if self._reset is not None:
                if self._reset.chunk is old:
                    self._reset.chunk = front
                    self._reset.index -= stripped
                if self._reset.offset < front.offset:
                    self._reset = None  # dropped with its chunk, or with the stripped bytes
        # A lead-in may repeat bytes the emulator already read (a sequence split across a
        # catch-up): re-reading an unfinished sequence's start is harmless, its escape
        # restarts the parser; it is not counted as skipped output.
        if front.offset > self._backlog_start:
            self._skipped += front.offset - self._backlog_start
            self._backlog_start = front.offset
            self._last_skip_end = front.offset
        self._skip = _Skip(front.modes, dropped_size)

    def _drop_front(self, size: tuple[int, int] | None) -> tuple[int, int] | None:
        entry = self._backlog.popleft()
        if isinstance(entry, _Resize):
            return (entry.cols, entry.rows)
        self._backlog_bytes -= len(entry.data)
        return size

    # -- reading -----------------------------------------------------------------------

    def modes(self) -> TerminalModes:
        """The modes the application has switched on, as of everything fed (no rendering)."""
        with self._lock:
            return self._tracker.modes()

    @property
    def size(self) -> tuple[int, int]:
        with self._lock:
            return self._size

    @property
    def fed_bytes(self) -> int:
        """Output bytes fed so far (the stream offset of the next ``feed``)."""
        with self._lock:
            return self._fed

    @property
    def backlog_bytes(self) -> int:
        """Output bytes queued for the emulator (at most ``backlog_limit``)."""
        with self._lock:
            return self._backlog_bytes

    @property
    def skipped_bytes(self) -> int:
        """Output bytes dropped without being emulated, in total."""
        with self._lock:
            return self._skipped

    @property
    def exact(self) -> bool:
        """True unless output after the last full reset (RIS) was skipped."""
        with self._lock:
            return self._last_skip_end <= self._last_full_reset

    def catch_up(self) -> int:
        """Let the emulator read the backlog; returns the stream offset it now reflects.
        Costs up to ``backlog_limit`` bytes of emulation (30-150 ms for 2 MiB); call it
        off the event loop."""
        with self._render_lock:
            offset, _, _ = self._catch_up_locked()
            return offset

    def _catch_up_locked(self) -> tuple[int, TerminalModes, bool]:
        with self._lock:
            if self._closed:
                raise ValueError("the screen model is closed")
            entries = self._backlog
            skip = self._skip
            self._backlog = deque()
            self._backlog_bytes = 0
            self._reset = None
            self._skip = None
            offset = self._fed
            self._backlog_start = offset
            modes = self._tracker.modes()
            exact = self._last_skip_end <= self._last_full_reset
        emulator = self._emulator
        if emulator is None:
            cols, rows = self._initial_size
            emulator = native.NativeTerminal(cols, rows, self._scrollback_bytes(cols))
            self._emulator = emulator
        if skip is not None:
            if skip.size is not None:
                self._resize_emulator(emulator, *skip.size)
            emulator.write(transition_sequence(self._emulator_modes, skip.modes))
        for entry in entries:
            if isinstance(entry, _Resize):
                self._resize_emulator(emulator, entry.cols, entry.rows)
            else:
                emulator.write(entry.data)
        self._emulator_modes = modes
        return offset, modes, exact

    def _scrollback_bytes(self, cols: int) -> int:
        # history=0 gives 0, which switches the emulator's scrollback off.
        return self._history * cols * _SCROLLBACK_BYTES_PER_CELL

    def _resize_emulator(self, emulator: native.NativeTerminal, cols: int, rows: int) -> None:
        emulator.resize(cols, rows)
        emulator.set_scrollback_bytes(self._scrollback_bytes(cols))

    def snapshot(self, history: int | None = None) -> ScreenSnapshot:
        """The current screen as bytes for a terminal of the same size to reproduce it.

        Catches up first. ``data`` resets the terminal's followed modes, clears it, prints
        up to ``history`` scrollback lines (default: all kept; main screen only, they
        scroll into the terminal's own scrollback), draws every cell with its colours and
        attributes, enters the alternate screen if the application is on it, restores
        scroll region, cursor position, pen and the application's modes. It contains no
        terminal query: a terminal that reads it sends nothing back."""
        with self._render_lock:
            offset, modes, exact = self._catch_up_locked()
            assert self._emulator is not None
            lines = self._history if history is None else max(0, min(history, self._history))
            data = render_snapshot(self._emulator, modes, lines)
            cols, rows = self._emulator.size
        return ScreenSnapshot(
            data=data, offset=offset, cols=cols, rows=rows, modes=modes, exact=exact
        )

    def text(self, *, ansi: bool = False, history: int = 0) -> str:
        """The visible screen as text, one line per row (exactly ``rows`` lines joined by
        newlines), trailing blanks trimmed, like ``tmux capture-pane -p``; with ``ansi``,
        SGR colours and attributes included (``capture-pane -e``). ``history`` prepends up
        to that many scrollback lines (``capture-pane -S -N``), e.g. for a readable log of
        an agent that draws inline. Catches up first."""
        with self._render_lock:
            self._catch_up_locked()
            assert self._emulator is not None
            return render_text(self._emulator, ansi=ansi, history=max(0, history))

    def close(self) -> None:
        """Free the emulator and the backlog. Afterwards ``feed`` and ``resize`` do
        nothing and renders raise ``ValueError``; closing again does nothing."""
        with self._render_lock, self._lock:
            self._closed = True
            self._backlog.clear()
            self._backlog_bytes = 0
            if self._emulator is not None:
                self._emulator.close()
                self._emulator = None
