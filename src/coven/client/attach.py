"""Messages and states of the attach stream (WebSocket ``/sessions/<id>/attach``).

Pure data, no aiohttp: the CLI can import these types cheaply. The stream
itself lives in ``coven.client.aio``.
"""

from __future__ import annotations

from dataclasses import dataclass

from coven.schema.attach import AttachState

__all__ = ["AttachMessage", "AttachState", "Exit", "Live", "Output", "Overflow"]


@dataclass(frozen=True)
class Output:
    """Terminal output bytes, replayed or live, in seq order."""

    data: bytes


@dataclass(frozen=True)
class Live:
    """Replay is done; ``seq`` is the last event replayed. Everything after is live."""

    seq: int


@dataclass(frozen=True)
class Exit:
    """The session ended; the server closes the stream after this."""

    status: str
    exit_code: int | None


@dataclass(frozen=True)
class Overflow:
    """This client read too slowly and was cut off; reattach with ``after_seq=resume_after_seq``."""

    resume_after_seq: int


AttachMessage = Output | Live | Exit | Overflow
