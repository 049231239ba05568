"""A launch handed to a new daemon by the command that started it (a cold ``coven run``).

With no daemon running, ``coven run`` used to wait for the new daemon's API and then
send its launch: the harness started only after the daemon had loaded its HTTP stack
(~0.1 s), and the harness's own start-up (tens of ms for a small program, far more for
an agent) came after that. Now the command writes the launch's request body (the
``POST /sessions`` JSON, byte for byte) on a pipe (``--launch-fd``) and closes it. The
daemon reads it as soon as its runtime is up, launches through the same
``Launcher.launch`` the API calls (the same checks and refusals, before anything is
written or spawned), answers on its ready pipe, and only then loads the API: the
harness starts while the API loads.

The answer is one line before ``ready``: ``launched <status> <json>``, the status and
body ``POST /sessions`` would have answered (msgspec writes JSON on one line). No such
line means the daemon did not take a launch (none came, or not in time): the command
then sends it over the API, so a launch is taken exactly once.

Between that line and ``ready`` the daemon previews the new session's output on the
same pipe (``Preview``), as frames ``output <n>\n`` followed by n bytes: the bytes an
attachment from the start would show, in order, and no others. A harness that prints
within the API's load (a shell, a small tool) is then on screen before the API is up;
the command attaches once it is, skipping the bytes it has shown. The preview stops
at ``PREVIEW_LIMIT`` bytes, and before a frame the pipe could not take at once: the
daemon never waits on its starter, and its last word always fits.
"""

from __future__ import annotations

import logging
import os
import select
import time

import msgspec

from coven.authority.body import MAX_BODY, parse_json_body
from coven.errors import CovenError, InternalError, PayloadTooLarge
from coven.pty.pipes import free_space, write_all
from coven.runtime import Runtime
from coven.runtime.attach import AttachView, Exit, Output, Overflow, ReplayChunk

log = logging.getLogger("coven.daemon")

# How long a new daemon waits for the launch its starter may hand over. The starter
# writes it (or closes the pipe) within ~0.1 s of its own start, normally before the
# daemon asks; waiting longer would only keep everyone else off a daemon whose starter
# was stopped or is stuck. Past this the starter launches over the API.
WAIT_SECONDS = 2.0
ANSWER = b"launched"
OUTPUT = b"output"
# Enough for an agent's first screen or a shell's banner; the rest comes by the API.
PREVIEW_LIMIT = 32 * 1024
# Room always left on the pipe for the daemon's last word (``ready``, ``error: …``).
LAST_WORD_ROOM = 4096

_encoder = msgspec.json.Encoder()


def read_request(fd: int, wait: float = WAIT_SECONDS) -> bytes | None:
    """What the starter wrote on ``fd`` before closing it; ``None`` when it wrote nothing
    or did not close it within ``wait`` seconds (then its launch is not taken). Past
    ``MAX_BODY`` bytes reading stops (``launch`` refuses the body). Closes ``fd``."""
    deadline = time.monotonic() + wait
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= MAX_BODY:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not select.select([fd], [], [], left)[0]:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks) or None


async def launch(runtime: Runtime, raw: bytes) -> tuple[int, bytes, str | None]:
    """What ``POST /sessions`` with body ``raw`` answers: its status and JSON body, and
    the id of the session it launched (``None`` when it refused)."""
    try:
        if len(raw) > MAX_BODY:
            raise PayloadTooLarge(f"Request body exceeds {MAX_BODY}-byte limit.")
        record = await runtime.launcher.launch(parse_json_body(raw, empty={}))
        return 201, _encoder.encode(record), record.id
    except CovenError as exc:
        return exc.status, _encoder.encode(exc.envelope()), None
    except Exception as exc:  # as the API does: the starter is told, the daemon serves on
        log.exception("the launch handed over at start-up failed")
        error = InternalError.of(exc)
        return error.status, _encoder.encode(error.envelope()), None


def answer_line(status: int, body: bytes) -> bytes:
    return b"%s %d %s\n" % (ANSWER, status, body)


class Preview:
    """The launched session's output written on the ready pipe ``fd`` as ``output`` frames
    (``run``) until cancelled (the API is up), the session ends, or the preview stops
    (see the module's text). ``sent``: the bytes of output written so far."""

    def __init__(self, runtime: Runtime, session_id: str, fd: int) -> None:
        self.runtime = runtime
        self.session_id = session_id
        self.fd = fd
        self.sent = 0

    async def run(self) -> None:
        try:
            await self._show()
        except OSError:
            return  # the starter is gone: it attaches (or not) without us
        except Exception:  # the starter attaches by the API all the same; serve on
            log.exception("the preview of the launch handed over failed")

    async def _show(self) -> None:
        attachment = await self.runtime.attach.open(self.session_id, 0, AttachView.RAW)
        try:
            async for item in attachment.items():
                if isinstance(item, Exit | Overflow):
                    return
                if not isinstance(item, ReplayChunk | Output):
                    continue
                data = item.data[: PREVIEW_LIMIT - self.sent]
                frame = b"%s %d\n%s" % (OUTPUT, len(data), data)
                if not data or not _room(self.fd, len(frame)):
                    return
                write_all(self.fd, frame)
                self.sent += len(data)
        finally:
            attachment.close()


def _room(fd: int, size: int) -> bool:
    """Can the pipe ``fd`` take ``size`` more bytes at once and still its last word?"""
    free = free_space(fd)
    return free is not None and size + LAST_WORD_ROOM <= free  # not a pipe: no preview
