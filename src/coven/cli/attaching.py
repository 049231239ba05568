"""Attaching the caller's terminal to a session through the daemon's WebSocket stream.

One attach = replay of what is stored, then live output, stitched by the daemon
without gaps or duplicates. ``AttachMode`` says what reaches the harness:

- ``interactive``: every byte typed goes to the harness (binary frames) and
  window-size changes follow ``SIGWINCH``;
- ``read-only``: nothing typed and no size is sent; the terminal is still in
  raw mode so the detach keys work;
- ``follow``: stdin is not a terminal; output is only followed.

The detach keys (``detach_keys``) end the attachment while the session keeps
running. When the daemon goes away while the session runs (``coven daemon
restart``, a crash), the attachment waits for the next daemon, prints one line
saying so, and carries on exactly where it was: it counts the output bytes
received since the last known event ``seq`` and skips that many of the stored
output that follows it (``_Position``), so nothing is shown twice or left out. ``SIGHUP``/``SIGTERM``/``SIGINT`` also just detach: the daemon owns
the session, so losing the terminal never kills the harness.

When output goes to a terminal, replayed output is passed through a
``QueryFilter`` and typed input through a ``ReplyGate`` (see
``coven.cli.terminal_queries``), so the terminal's answers to queries in the
history never reach the harness. A session the caller has just launched
(``fresh``) has no history any terminal has seen: its replay is treated as live.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from coven.cli.detach_keys import DetachMatcher, Key
from coven.cli.terminal import ScreenState, window_size, write_all
from coven.cli.terminal_queries import QueryFilter, ReplyGate
from coven.client import (
    CovenClientError,
    Exit,
    Live,
    Output,
    Overflow,
    ProtocolError,
    TransportError,
)
from coven.schema.vocabulary import EventKind, SessionStatus
from coven.schema.wire import SessionRecord

if TYPE_CHECKING:  # asyncio streams are set up only when an attach really happens
    from coven.cli.attach_prelude import Painted
    from coven.client.attach_stream import AttachClient, AttachStream

Ending = Literal["exited", "detached", "signalled", "hangup"]
AttachMode = Literal["interactive", "read-only", "follow"]
_Resize = tuple[int, int]
# A reply or key cut off by the end of a read is released after this long.
_INPUT_HOLD = 0.15
# How long an attachment waits for a daemon to come back after losing it
# (``COVEN_RECONNECT_SECONDS`` overrides it).
RECONNECT_SECONDS = 60.0
_RECONNECT_POLL = 0.2
# Written on the bottom row with the cursor saved and restored (DECSC/DECRC): a line
# printed at the cursor moved it, and an agent drawing its screen relative to the cursor
# (Claude Code does) then drew the rest of its screen a line or two off. The agent's
# next redraw of that row replaces the notice.
RESTARTED_LINE = b"\x1b7\x1b[999;1H\x1b[0m\x1b[2K[coven: the daemon restarted; still attached]\x1b8"


class _Lost:
    """The stream ended while the session had not: the daemon went away."""


LOST = _Lost()


@dataclass
class _Position:
    """Where the terminal is in the session's output: ``delivered`` bytes after event ``seq``."""

    seq: int = 0
    delivered: int = 0


class _Shown:
    """The session's first output, on the terminal before the attachment began (a cold
    ``run``'s preview): the first stream, which starts from the session's first byte,
    shows only what follows it.

    The stream's bytes are checked against it, not just counted. Stored output is
    redacted and the preview was live output, which is not; should redaction have
    rewritten a secret in the preview, the stream is shown from the first byte that
    differs, so nothing is left out (the rewritten part shows twice)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    @property
    def left(self) -> int:
        """Bytes of the preview the stream has not reached yet."""
        return len(self.data) - self.at

    def skip(self, data: bytes) -> bytes:
        """What of ``data``, the stream's next bytes, the terminal does not show yet."""
        size = min(len(data), self.left)
        if data[:size] == self.data[self.at : self.at + size]:
            self.at += size
            return data[size:]
        same = next(i for i in range(size) if data[i] != self.data[self.at + i])
        self.at = len(self.data)
        return data[same:]


@dataclass(frozen=True)
class AttachOutcome:
    """How an attachment ended; ``exit`` is set when the session itself ended."""

    ending: Ending
    exit: Exit | None = None
    ends_with_newline: bool = True


def run_exit_code(end: Exit) -> int:
    """The exit status `coven run` passes on: 0 completed, the harness's code when failed, else 1."""
    if end.status in (SessionStatus.COMPLETED, SessionStatus.IDLE):
        return 0
    if end.status == SessionStatus.FAILED and end.exit_code is not None and 0 < end.exit_code < 256:
        return end.exit_code
    return 1


def exit_line(end: Exit) -> str:
    """``[coven session <status> (exit code N)]``."""
    code = "no exit code" if end.exit_code is None else f"exit code {end.exit_code}"
    return f"[coven session {end.status} ({code})]"


class _Attachment:
    def __init__(
        self,
        mode: AttachMode,
        keys: tuple[Key, ...],
        in_fd: int,
        out_fd: int,
        screen: ScreenState,
        *,
        guard: bool,
        queries: QueryFilter | None = None,
    ) -> None:
        self.mode = mode
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.screen = screen
        self.matcher = DetachMatcher(keys)
        self.queries = (queries or QueryFilter()) if guard else None
        self.gate = ReplyGate() if guard else None
        self.replaying = guard
        self.outbox: asyncio.Queue[bytes | _Resize] = asyncio.Queue()
        self.stop = asyncio.Event()
        self.ending: Ending = "detached"
        self._release: asyncio.TimerHandle | None = None

    @property
    def sends(self) -> bool:
        """Input and window sizes go to the harness."""
        return self.mode == "interactive"

    def finish(self, ending: Ending) -> None:
        if not self.stop.is_set():
            self.ending = ending
            self.stop.set()

    # -- input ---------------------------------------------------------------------------------
    def on_stdin(self) -> None:
        try:
            data = os.read(self.in_fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: the terminal hung up
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.in_fd)
            self.finish("hangup")
            return
        forward, detached = self.matcher.feed(data)
        self._forward(forward)
        if detached:
            self.finish("detached")
        elif self.matcher.pending or (self.gate is not None and self.gate.pending):
            self._schedule_release()

    def _forward(self, data: bytes) -> None:
        if self.gate is not None:
            data = self.gate.filter(data)
        if data and self.sends:
            self.outbox.put_nowait(data)

    def _schedule_release(self) -> None:
        if self._release is None:
            self._release = asyncio.get_running_loop().call_later(_INPUT_HOLD, self._release_held)

    def _release_held(self) -> None:
        """Input held as a possible cut-off sequence did not complete: it was typed, not sent."""
        self._release = None
        if self.stop.is_set():
            return
        forward, detached = self.matcher.feed_partial_end()
        if forward:
            self._forward(forward)
        if detached:
            self.finish("detached")
            return
        if self.gate is not None:
            held = self.gate.flush()
            if held and self.sends:
                self.outbox.put_nowait(held)

    def on_winch(self) -> None:
        self.outbox.put_nowait(window_size(self.out_fd))

    def close(self) -> None:
        if self._release is not None:
            self._release.cancel()
            self._release = None

    # -- output --------------------------------------------------------------------------------
    def output(self, data: bytes) -> None:
        if self.queries is not None:
            data = self.queries.replay(data) if self.replaying else self.queries.live(data)
        if not data:
            return
        if self.gate is not None and not self.replaying:
            self.gate.saw_output(data)  # before the terminal can answer it
        self.screen.see(data)
        write_all(self.out_fd, data)

    def went_live(self) -> None:
        self.replaying = False
        if self.gate is not None:
            self.gate.went_live()


async def _send_forever(attachment: _Attachment, stream: AttachStream) -> None:
    while True:
        item = await attachment.outbox.get()
        await _send(stream, item)


async def _send(stream: AttachStream, item: bytes | _Resize) -> None:
    if isinstance(item, bytes):
        await stream.send_input(item)
    else:
        await stream.resize(*item)


async def _consume(
    attachment: _Attachment, stream: AttachStream, position: _Position, shown: _Shown | None
) -> Exit | Overflow | None:
    async for message in stream:
        if isinstance(message, Output):
            attachment.output(message.data if shown is None else shown.skip(message.data))
            position.delivered += len(message.data)
        elif isinstance(message, Live):
            attachment.went_live()
            position.seq, position.delivered = message.seq, 0
        elif isinstance(message, Exit | Overflow):
            return message
    return None


async def attach(
    home: Path,
    session_id: str,
    *,
    mode: AttachMode,
    detach_keys: tuple[Key, ...],
    screen: ScreenState | None = None,
    fresh: bool = False,
    on_attached: Callable[[SessionRecord], None] | None = None,
    in_fd: int = 0,
    out_fd: int = 1,
    from_screen: bool = False,
    history: int | None = None,
    painted: Painted | None = None,
    shown: bytes = b"",
) -> AttachOutcome:
    """Follow ``session_id`` until it exits, the user detaches, or a signal/hang-up arrives.

    Output goes to ``out_fd`` as raw bytes (replayed queries removed when it is
    a terminal and the session is not ``fresh``); ``screen`` follows what was
    written. ``on_attached`` gets the record the daemon sent when the stream
    opened (once). The caller owns the terminal mode (see
    ``terminal.taken_over``). Client errors propagate.

    ``from_screen``: a live session starts from its current screen (with ``history``
    scrollback lines) instead of the raw replay of everything it printed.

    ``painted``: the header and the first screen were shown from this connection
    (``coven.cli.attach_prelude``); the attachment goes on from there.

    ``shown``: the session's first output, on the terminal already (a cold ``run``'s
    preview, ``coven.cli.launch_preview``): the first stream skips it (``_Shown``).
    """
    from coven.client.attach_stream import AttachClient, AttachStream

    loop = asyncio.get_running_loop()
    guard = os.isatty(out_fd) and not fresh
    attachment = _Attachment(
        mode,
        detach_keys,
        in_fd,
        out_fd,
        screen or ScreenState(),
        guard=guard,
        queries=painted.queries if painted is not None else None,
    )
    signals = [signal.SIGHUP, signal.SIGTERM, signal.SIGINT]
    previous = {sig: signal.getsignal(sig) for sig in signals}
    for sig in signals:
        loop.add_signal_handler(
            sig, attachment.finish, "hangup" if sig == signal.SIGHUP else "signalled"
        )
    reads_input = mode != "follow"
    if reads_input:
        if attachment.sends:
            loop.add_signal_handler(signal.SIGWINCH, attachment.on_winch)
        loop.add_reader(in_fd, attachment.on_stdin)
    after_seq = 0
    position = _Position()
    preview = _Shown(shown) if shown else None
    try:
        client = AttachClient(home)
        while True:
            replay = "screen" if from_screen and after_seq == 0 else "raw"
            position.seq, position.delivered = after_seq, 0
            if painted is not None:
                stream_for = await AttachStream.adopt(
                    painted.sock, painted.pending, painted.session
                )
                position.delivered, painted = painted.delivered, None
            else:
                stream_for = client.attach(session_id, after_seq, replay=replay, history=history)
            async with stream_for as stream:
                if on_attached is not None and stream.session is not None:
                    on_attached(stream.session)
                    on_attached = None
                if attachment.sends:
                    await stream.resize(*window_size(out_fd))
                result = await _pump(attachment, stream, position, preview)
            if preview is not None:
                # The terminal shows what is left of the preview too: a catch-up skips it.
                position.delivered += preview.left
                preview = None
            if result is LOST:
                caught_up = await _catch_up(client, session_id, attachment, position)
                if isinstance(caught_up, Exit):
                    return AttachOutcome("exited", caught_up, attachment.screen.at_line_start)
                after_seq = caught_up
                continue
            if isinstance(result, Overflow):
                # We read too slowly and the daemon cut us off: resume exactly there
                # (from a fresh screen when showing screens: it replaces the log).
                # What follows was never shown to the terminal: it is live output.
                after_seq = 0 if from_screen else result.resume_after_seq
                continue
            ends_nl = attachment.screen.at_line_start
            if isinstance(result, Exit):
                return AttachOutcome("exited", result, ends_nl)
            return AttachOutcome(attachment.ending, None, ends_nl)
    finally:
        attachment.close()
        for sig in signals:
            loop.remove_signal_handler(sig)
            handler = previous[sig]
            with contextlib.suppress(TypeError, ValueError):
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        if reads_input:
            if attachment.sends:
                loop.remove_signal_handler(signal.SIGWINCH)
            loop.remove_reader(in_fd)


def _reconnect_seconds() -> float:
    """``COVEN_RECONNECT_SECONDS`` (how long to wait for a daemon), else ``RECONNECT_SECONDS``."""
    try:
        return max(0.0, float(os.environ.get("COVEN_RECONNECT_SECONDS", RECONNECT_SECONDS)))
    except ValueError:
        return RECONNECT_SECONDS


async def _catch_up(
    client: AttachClient, session_id: str, attachment: _Attachment, position: _Position
) -> int | Exit:
    """After losing the daemon: wait for the next one, show what the terminal missed.

    Shows the stored output after ``position`` (skipping the bytes already shown) and
    answers the seq to reattach after, or the session's ``Exit`` if it ended meanwhile.
    Raises ``ProtocolError`` when no daemon answers within ``RECONNECT_SECONDS``.
    """
    deadline = asyncio.get_running_loop().time() + _reconnect_seconds()
    while True:
        try:
            page = await client.events(session_id, position.seq)
            break
        except (TransportError, CovenClientError) as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise ProtocolError(
                    "lost the Coven daemon: the attachment closed before the session ended "
                    "(see coven daemon status)"
                ) from exc
            await asyncio.sleep(_RECONNECT_POLL)
    with contextlib.suppress(OSError):
        write_all(2, RESTARTED_LINE)
    skip = position.delivered
    seq = position.seq
    while True:
        for event in page.events:
            seq = event.seq
            if event.kind == EventKind.EXIT:
                doc = json.loads(event.payload_json)
                code = doc.get("exitCode")
                return Exit(str(doc.get("status")), None if code is None else int(code))
            if event.kind != EventKind.OUTPUT:
                continue
            data = json.loads(event.payload_json).get("data", "").encode()
            if skip >= len(data):
                skip -= len(data)
                continue
            attachment.output(data[skip:])
            skip = 0
        if not page.hasMore or page.nextCursor is None:
            return seq
        page = await client.events(session_id, seq)


async def _pump(
    attachment: _Attachment,
    stream: AttachStream,
    position: _Position,
    shown: _Shown | None = None,
) -> Exit | Overflow | _Lost | None:
    """Run input, output and the stop signal together; answer what ended the stream.

    ``LOST`` when the stream ended (or failed) while the session had not.
    """
    consumer = asyncio.ensure_future(_consume(attachment, stream, position, shown))
    stopper = asyncio.ensure_future(attachment.stop.wait())
    sender = asyncio.ensure_future(_send_forever(attachment, stream))
    tasks: set[asyncio.Future[object]] = {consumer, stopper, sender}  # type: ignore[arg-type]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if consumer in done:
            try:
                result = consumer.result()
            except TransportError:
                return LOST
            return LOST if result is None else result
        if sender in done:
            sender.result()  # raises the send failure
        # Stopped: deliver what was typed before the detach key, then leave.
        if attachment.ending == "detached":
            with contextlib.suppress(Exception):
                while not attachment.outbox.empty():
                    await _send(stream, attachment.outbox.get_nowait())
        return None
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
