"""Attaching the caller's terminal to a session through the daemon's WebSocket stream.

One attach = replay of everything stored, then live output, stitched by the
daemon without gaps or duplicates. With ``forward_input`` every byte typed
goes to the harness (binary frames), window-size changes follow ``SIGWINCH``,
and the detach key (Ctrl-]) ends the attachment while the session keeps
running. ``SIGHUP``/``SIGTERM``/``SIGINT`` also just detach: the daemon owns
the session, so losing the terminal never kills the harness.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from coven.cli.terminal import split_detach, window_size, write_all
from coven.client import Exit, Output, Overflow, ProtocolError
from coven.schema.vocabulary import SessionStatus
from coven.schema.wire import SessionRecord

if TYPE_CHECKING:  # aiohttp is imported only when an attach really happens
    from coven.client.aio import AttachStream

Ending = Literal["exited", "detached", "signalled", "hangup"]
_Resize = tuple[int, int]


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
    def __init__(self, forward_input: bool, in_fd: int, out_fd: int) -> None:
        self.forward_input = forward_input
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.outbox: asyncio.Queue[bytes | _Resize] = asyncio.Queue()
        self.stop = asyncio.Event()
        self.ending: Ending = "detached"
        self.last_byte = b"\n"

    def finish(self, ending: Ending) -> None:
        if not self.stop.is_set():
            self.ending = ending
            self.stop.set()

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
        before, detach = split_detach(data)
        if before:
            self.outbox.put_nowait(before)
        if detach:
            self.finish("detached")

    def on_winch(self) -> None:
        self.outbox.put_nowait(window_size(self.out_fd))

    def write(self, data: bytes) -> None:
        if data:
            write_all(self.out_fd, data)
            self.last_byte = data[-1:]


async def _send_forever(attachment: _Attachment, stream: AttachStream) -> None:
    while True:
        item = await attachment.outbox.get()
        await _send(stream, item)


async def _send(stream: AttachStream, item: bytes | _Resize) -> None:
    if isinstance(item, bytes):
        await stream.send_input(item)
    else:
        await stream.resize(*item)


async def _consume(attachment: _Attachment, stream: AttachStream) -> Exit | Overflow | None:
    async for message in stream:
        if isinstance(message, Output):
            attachment.write(message.data)
        elif isinstance(message, Exit | Overflow):
            return message
    return None


async def attach(
    home: Path,
    session_id: str,
    *,
    forward_input: bool,
    on_attached: Callable[[SessionRecord], None] | None = None,
    in_fd: int = 0,
    out_fd: int = 1,
) -> AttachOutcome:
    """Follow ``session_id`` until it exits, the user detaches, or a signal/hang-up arrives.

    Output goes to ``out_fd`` as raw bytes. ``on_attached`` gets the record the
    daemon sent when the stream opened (once). The caller owns the terminal
    mode (see ``terminal.raw_mode``). Client errors propagate.
    """
    from coven.client.aio import AsyncCovenClient

    loop = asyncio.get_running_loop()
    attachment = _Attachment(forward_input, in_fd, out_fd)
    signals = [signal.SIGHUP, signal.SIGTERM, signal.SIGINT]
    for sig in signals:
        loop.add_signal_handler(
            sig, attachment.finish, "hangup" if sig == signal.SIGHUP else "signalled"
        )
    if forward_input:
        loop.add_signal_handler(signal.SIGWINCH, attachment.on_winch)
        loop.add_reader(in_fd, attachment.on_stdin)
    after_seq = 0
    try:
        async with AsyncCovenClient.from_home(home) as client:
            while True:
                async with client.attach(session_id, after_seq) as stream:
                    if on_attached is not None and stream.session is not None:
                        on_attached(stream.session)
                        on_attached = None
                    if forward_input:
                        await stream.resize(*window_size(out_fd))
                    result = await _pump(attachment, stream)
                if isinstance(result, Overflow):
                    # We read too slowly and the daemon cut us off: resume exactly there.
                    after_seq = result.resume_after_seq
                    continue
                ends_nl = attachment.last_byte == b"\n"
                if isinstance(result, Exit):
                    return AttachOutcome("exited", result, ends_nl)
                return AttachOutcome(attachment.ending, None, ends_nl)
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        if forward_input:
            loop.remove_signal_handler(signal.SIGWINCH)
            loop.remove_reader(in_fd)


async def _pump(attachment: _Attachment, stream: AttachStream) -> Exit | Overflow | None:
    """Run input, output and the stop signal together; answer what ended the stream."""
    consumer = asyncio.ensure_future(_consume(attachment, stream))
    stopper = asyncio.ensure_future(attachment.stop.wait())
    tasks: set[asyncio.Future[object]] = {consumer, stopper}  # type: ignore[arg-type]
    sender: asyncio.Future[None] | None = None
    if attachment.forward_input:
        sender = asyncio.ensure_future(_send_forever(attachment, stream))
        tasks.add(sender)  # type: ignore[arg-type]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if consumer in done:
            result = consumer.result()
            if result is None:
                raise ProtocolError("the daemon closed the attach stream without an exit frame")
            return result
        if sender is not None and sender in done:
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
