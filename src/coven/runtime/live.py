"""One live harness process: PTY I/O, exit observation, kill escalation.

Output is read by the shared ``PtyReader`` thread and fed to the session's
output pipeline (built before the session, see ``EventSink.output_pipeline``)
on the event loop; input, resize, exit and kill are handled on the loop. The
process is whatever the runtime's ``Spawner`` returned (``SessionProcess``).

Lifecycle (guarded, one direction only)::

    running ──kill()──▶ killing ──exit+EOF──▶ finished
       └─────────────── exit+EOF ────────────────┘

``finished`` is reached only once the process has exited *and* every byte it
wrote has been read from the PTY and handed to the output pipeline, so the
exit event is always the session's last event.
"""

from __future__ import annotations

import asyncio
import enum
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import msgspec

from coven.pty import ExitStatus, PtyReader, PtySource
from coven.runtime.event_sink import ReadFlow
from coven.runtime.output import OutputPipeline
from coven.runtime.spawner import HeldProcess, SessionProcess
from coven.runtime.typed_input import TypedInput
from coven.schema import SessionStatus

if TYPE_CHECKING:
    from coven.runtime.attention import SessionAttention

READ_CHUNK = 64 * 1024
KILL_GRACE_SECONDS = 2.0
# After the harness exits, how long a descendant may keep the PTY open before it is killed.
LINGER_SECONDS = 2.0
MAX_PENDING_INPUT = 1024 * 1024
# A holder's input window is full or its socket is: try again after this long.
HELD_RETRY_SECONDS = 0.01
# How long a hand-over waits for output already read to be committed.
HAND_OVER_SECONDS = 5.0


class LiveState(enum.Enum):
    """Where the process is in its life (not the session's stored status)."""

    RUNNING = enum.auto()
    KILLING = enum.auto()
    FINISHED = enum.auto()


class Outcome(msgspec.Struct, frozen=True):
    """How the process ended, as recorded in the exit event and the row."""

    status: SessionStatus
    exit_code: int | None
    signal: int | None
    reason: str | None


class LiveSession:
    """Owns a ``SessionProcess`` from spawn to the moment its exit is recorded."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        session_id: str,
        child: SessionProcess,
        pipeline: OutputPipeline,
        flow: ReadFlow,
        on_finished: Callable[[LiveSession, Outcome], Awaitable[None]],
        conversation: bool,
        typed_input: TypedInput,
        reader: PtyReader,
    ) -> None:
        self.loop = loop
        self.session_id = session_id
        self.child = child
        self.state = LiveState.RUNNING
        self.kill_reason: str | None = None
        self.pipeline = pipeline
        self.flow = flow
        self.typed_input = typed_input
        self._on_finished = on_finished
        self._conversation = conversation
        self._exit: ExitStatus | None = None
        self._eof = False
        self._reader = reader
        self._source: PtySource | None = None
        self._pending_input = bytearray()
        self._writing = False
        self._timers: list[asyncio.TimerHandle] = []
        self.finished: asyncio.Future[Outcome] = loop.create_future()
        self._finalizing = False
        self.attention: SessionAttention | None = None
        self.lost: str | None = None
        self.held: HeldProcess | None = child if isinstance(child, HeldProcess) else None
        self._held_retry: asyncio.TimerHandle | None = None
        self.handed_over = False

    def watch_attention(self, attention: SessionAttention) -> None:
        """Follow this session's attention: output and input feed it; it ends with the session."""
        self.attention = attention
        self.pipeline.on_activity = attention.output
        attention.start()

    def acknowledge(self, seq: int, offset: int) -> None:
        """The pipeline committed output up to ``offset``: a holder may forget it."""
        if self.held is not None:
            self.held.acknowledge(seq, offset)
            self._pump_held()

    # -- start / reading --------------------------------------------------------------------
    def start(self) -> None:
        self.loop.add_reader(self.child.pidfd, self._on_exit_ready)
        read = self.held.read if self.held is not None else None
        self._source = self._reader.add(
            self.child.master_fd, self.pipeline.feed, self._on_eof, read=read
        )
        self.flow.bind(self._source)

    def _detach_reader(self) -> None:
        """Take the master back from the reader thread (every byte it read is fed first)."""
        if self._source is not None:
            self.flow.unbind()
            self._source.detach()
            self._reader.forget(self._source)
            self._source = None

    def _on_eof(self) -> None:
        self._detach_reader()
        self._eof = True
        self._maybe_finish()

    # -- exit ---------------------------------------------------------------------------------
    def _on_exit_ready(self) -> None:
        status = self.child.poll_exit()
        if status is None:
            held = self.held
            if held is None or held.lost is None:
                return
            # The holder vanished without an exit status (it was killed). Its end
            # hung up the terminal; a harness that ignores that is ended here.
            self.loop.remove_reader(self.child.pidfd)
            self.lost = held.lost
            self.child.signal_group(signal.SIGKILL)
            self._exit = ExitStatus(code=None, signal=None)
            self._maybe_finish()
            return
        self.loop.remove_reader(self.child.pidfd)
        self._exit = status
        if not self._eof:
            # Descendants may still hold the PTY open; give them a moment, then end them.
            self._later(LINGER_SECONDS, self._end_lingerers)
        self._maybe_finish()

    def _end_lingerers(self) -> None:
        if self._eof or self.state is LiveState.FINISHED:
            return
        self.child.signal_group(signal.SIGKILL)
        self._later(1.0, self._force_eof)

    def _force_eof(self) -> None:
        if self._eof:
            return
        # Drain whatever is left without blocking, then stop waiting for an EOF that
        # a process outside our reach is withholding.
        self._detach_reader()
        while True:
            try:
                data = self.child.read(READ_CHUNK)
            except OSError:
                break
            if not data:
                break
            self.pipeline.feed(data)
        self._on_eof()

    def _maybe_finish(self) -> None:
        if self._exit is None or not self._eof or self._finalizing:
            return
        self._finalizing = True
        if self.attention is not None:
            self.attention.close()  # the exit event is the session's last
        self.pipeline.finish()
        outcome = self._outcome(self._exit)
        self.state = LiveState.FINISHED
        for timer in self._timers:
            timer.cancel()
        self.loop.create_task(self._finish(outcome))

    async def _finish(self, outcome: Outcome) -> None:
        try:
            await self._on_finished(self, outcome)
            if self.held is not None:
                if self.lost is None:
                    self.held.release()
                else:
                    self.held.forget()
        finally:
            if self._held_retry is not None:
                self._held_retry.cancel()
            if self._writing:
                self.loop.remove_writer(self.child.master_fd)
                self._writing = False
            self._detach_reader()
            self.child.close()
            self.pipeline.close_screen()
            if not self.finished.done():
                self.finished.set_result(outcome)

    def _outcome(self, status: ExitStatus) -> Outcome:
        if self.lost is not None:
            holder = self.held.holder_pid if self.held is not None else "?"
            reason = f"the session's holder (pid {holder}) went away: {self.lost}"
            return Outcome(SessionStatus.ORPHANED, None, None, reason)
        if status.signal is not None:
            code: int | None = 128 + status.signal
        else:
            code = status.code
        if self.kill_reason is not None:
            final = SessionStatus.KILLED
        elif code == 0:
            final = SessionStatus.IDLE if self._conversation else SessionStatus.COMPLETED
        else:
            final = SessionStatus.FAILED
        return Outcome(final, code, status.signal, self.kill_reason)

    # -- control ------------------------------------------------------------------------------
    @property
    def live(self) -> bool:
        return self.state is LiveState.RUNNING

    def write_input(self, data: bytes) -> bool:
        """Deliver raw bytes to the harness; False if its input backlog is full."""
        if self.state is not LiveState.RUNNING:
            return False
        if len(self._pending_input) + len(data) > MAX_PENDING_INPUT:
            return False
        if self._pending_input:
            self._pending_input += data
            return True
        try:
            written = self.child.write(data)
        except OSError:
            return False
        if written < len(data):
            self._pending_input += data[written:]
            if self.held is None:
                self.loop.add_writer(self.child.master_fd, self._flush_input)
                self._writing = True
        self._pump_held()
        return True

    def _pump_held(self) -> None:
        """Keep a holder's input and control frames moving.

        Its connection is written from here and from the reader thread; what the
        socket (or the holder's input window) does not take at once is retried on a
        short timer rather than by polling the socket for writability, which would
        spin while the window is closed.
        """
        held = self.held
        if held is None or self._held_retry is not None or held.closed:
            return
        if not self._pending_input and not held.wants_flush:
            return
        self._held_retry = self.loop.call_later(HELD_RETRY_SECONDS, self._retry_held)

    def _retry_held(self) -> None:
        self._held_retry = None
        held = self.held
        if held is None or held.closed:
            return
        held.flush()
        if self._pending_input:
            try:
                written = held.write(bytes(self._pending_input))
            except OSError:
                written = len(self._pending_input)  # the holder is gone: nothing to deliver
            del self._pending_input[:written]
        self._pump_held()

    async def hand_over(self) -> None:
        """Leave a held session running for the next daemon (``stop --keep-sessions``).

        Reading stops; output already read is committed (so the next daemon resumes
        right after it, see ``acknowledge``); then the connection is closed without
        a word to the holder. Nothing is recorded: the session stays ``running``.
        """
        if self.held is None or self.state is LiveState.FINISHED:
            return
        self.handed_over = True
        self.loop.remove_reader(self.child.pidfd)
        for timer in self._timers:
            timer.cancel()
        self._detach_reader()
        deadline = self.loop.time() + HAND_OVER_SECONDS
        while not self.pipeline.settled and self.loop.time() < deadline:
            await asyncio.sleep(0.01)
        if self._held_retry is not None:
            self._held_retry.cancel()
            self._held_retry = None
        self.held.detach()
        self.pipeline.close_screen()

    def _flush_input(self) -> None:
        try:
            written = self.child.write(bytes(self._pending_input))
        except OSError:
            written = len(self._pending_input)  # the harness is gone; nothing can be delivered
        del self._pending_input[:written]
        if not self._pending_input:
            self.loop.remove_writer(self.child.master_fd)
            self._writing = False

    def resize(self, rows: int, cols: int) -> None:
        """Resize the terminal; a no-op once it has closed.

        The PTY closes (EOF) a moment before the session is FINISHED, while its
        last output is still being stored. A resize then has nothing to resize,
        and must not fail: an attach stream would end on the error and lose the
        rest of the output and the exit frame.
        """
        if self.state is not LiveState.FINISHED and not self.child.closed:
            self.child.resize(rows, cols)
            if self.pipeline.screen is not None:
                # Output read after this point was written for the new size.
                self.pipeline.screen.resize(cols, rows)

    def begin_kill(self, reason: str) -> None:
        """Signal the whole session (SIGHUP+SIGTERM), SIGKILL after the grace period."""
        if self.state is not LiveState.RUNNING:
            return
        self.state = LiveState.KILLING
        self.kill_reason = reason
        if self.attention is not None:
            self.attention.close()
        if self.held is not None:
            # The holder escalates by itself, even if this daemon is gone by then.
            self.held.kill(KILL_GRACE_SECONDS)
        else:
            for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGCONT):
                self.child.signal_group(sig)
        self._later(KILL_GRACE_SECONDS, self._escalate)

    def _escalate(self) -> None:
        if self.state is LiveState.FINISHED:
            return
        self.child.signal_group(signal.SIGKILL)

    def _later(self, delay: float, callback: Callable[[], None]) -> None:
        self._timers.append(self.loop.call_later(delay, callback))


class LiveTable:
    """The daemon's live sessions by id, and whether it still accepts launches."""

    def __init__(self) -> None:
        self.sessions: dict[str, LiveSession] = {}
        self.accepting = True

    def __len__(self) -> int:
        return len(self.sessions)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self.sessions

    def get(self, session_id: str) -> LiveSession | None:
        return self.sessions.get(session_id)

    def running(self, session_id: str) -> LiveSession | None:
        """The session if its process is running (not being killed, not finished)."""
        session = self.sessions.get(session_id)
        return session if session is not None and session.live else None

    def add(self, session: LiveSession) -> None:
        self.sessions[session.session_id] = session

    def remove(self, session_id: str) -> None:
        self.sessions.pop(session_id, None)
