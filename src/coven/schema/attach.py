"""Control frames of the WebSocket attach stream (text frames; output is binary).

Server → client: ``attached`` first, ``live`` when the replay is done, then
``exit`` or ``overflow`` just before the server closes. Client → server:
``resize`` and ``input`` (binary frames are input bytes too).
"""

from __future__ import annotations

import enum

import msgspec

from coven.schema.wire import SessionRecord


class AttachState(enum.Enum):
    """One attach stream's state, on both ends: connecting (client only) → replaying →
    live → closed; each is entered once, and closed is reachable from every state."""

    CONNECTING = "connecting"
    REPLAYING = "replaying"
    LIVE = "live"
    CLOSED = "closed"


class AttachedFrame(msgspec.Struct, tag_field="type", tag="attached"):
    """The session as it was when the client attached."""

    session: SessionRecord


class LiveFrame(msgspec.Struct, tag_field="type", tag="live"):
    """Replay is done; everything up to ``seq`` was sent, live output follows."""

    seq: int


class ExitFrame(msgspec.Struct, tag_field="type", tag="exit"):
    """The session ended (its last output was sent before this frame)."""

    status: str
    exitCode: int | None


class OverflowFrame(msgspec.Struct, tag_field="type", tag="overflow"):
    """The client read too slowly; reattach with ``afterSeq=resumeAfterSeq``."""

    resumeAfterSeq: int


class ResizeFrame(msgspec.Struct, tag_field="type", tag="resize"):
    rows: int
    cols: int


class InputFrame(msgspec.Struct, tag_field="type", tag="input"):
    data: str


class ScreenView(msgspec.Struct):
    """``GET /sessions/:id/screen``: a session's screen as text.

    ``text`` is ``rows`` lines joined by newlines, trailing blanks trimmed (with
    ``ansi``, SGR colours and attributes included), after up to ``history`` lines of
    scrollback when asked for; ``exact`` is false when the daemon had to skip output it
    could not keep up with (see the screen model). ``live`` is false for a session that
    has ended: its final screen, rebuilt from the stored output."""

    sessionId: str
    cols: int
    rows: int
    ansi: bool
    exact: bool
    text: str
    live: bool = True


ServerFrame = AttachedFrame | LiveFrame | ExitFrame | OverflowFrame
ClientFrame = ResizeFrame | InputFrame
