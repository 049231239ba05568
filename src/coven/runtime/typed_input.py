"""A session's typed input on its way to the event log.

The harness gets every byte the moment it arrives; only the *stored* ``input``
events wait. Text is held until it can be judged (``TypedInputRedactor``), so a
secret typed one key at a time is stored exactly as it would be if pasted:

* a line end (Enter) releases the line at once, in the request that typed it,
  so its event is queued before any output it provokes;
* after ``IDLE_RELEASE_SECONDS`` without input, whole words are released on
  their own (a trailing word that could still grow into a secret stays held);
* ``close`` (kill, exit) releases the rest, redacted as a whole.

The judging itself is ``coven.redaction.TypedInputRedactor``; this adds the
session's idle timer on the event loop.

Output the harness echoes while a line is held is stored before that line's
``input`` event: the price of never storing half a secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from coven.redaction import Redactor, Released, TypedInputRedactor

IDLE_RELEASE_SECONDS = 1.0


class TypedInput:
    """One live session's held input; ``record`` stores a released piece (idle release only)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        redactor: Redactor,
        record: Callable[[Released], Any],
    ) -> None:
        self._loop = loop
        self._typed = TypedInputRedactor(redactor)
        self._record = record
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False

    @property
    def held(self) -> int:
        """Characters typed but not yet stored."""
        return self._typed.held

    def accept(self, text: str) -> Released:
        """Take typed ``text``; answer what the caller should store now (maybe nothing)."""
        if self._closed:
            return Released("", False)
        released = self._typed.feed(text)
        self._rearm()
        return released

    def close(self) -> Released:
        """Stop the timer and release everything held; later input is not recorded here."""
        self._cancel()
        self._closed = True
        return self._typed.flush()

    def _rearm(self) -> None:
        self._cancel()
        if self._typed.held:
            self._timer = self._loop.call_later(IDLE_RELEASE_SECONDS, self._on_idle)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_idle(self) -> None:
        self._timer = None
        released = self._typed.release_words()
        if released.text:
            self._record(released)
