"""The session manager: launch, input, kill, resize, rituals, and the reads behind the API.

Every request is checked by ``coven.authority`` before anything is written or
spawned. Writes go to the single store writer; reads run on a small thread
pool so the event loop never blocks on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from coven import authority, pty
from coven.authority.body import parse_json_body
from coven.errors import (
    DaemonShuttingDown,
    ExternalNotKillable,
    InputTooLarge,
    InvalidRequest,
    LaunchFailed,
    NotExternalSession,
    SessionConflict,
    SessionIdConflict,
    SessionNotFound,
    SessionNotLive,
    StorageUnavailable,
)
from coven.harness import (
    Adapter,
    BuiltArgv,
    HarnessRegistry,
    LaunchOptions,
    build_argv,
    missing_executable_message,
    resolve_executable,
    unsupported_harness_message,
)
from coven.redaction import Redactor, StreamRedactor
from coven.runtime.inputs import InputRedactor
from coven.runtime.live import LiveSession, Outcome
from coven.runtime.output import DropStats, OutputPipeline
from coven.schema import SessionRecord
from coven.store import (
    AppendEvents,
    ArchiveSession,
    DeleteSession,
    EventRow,
    FinishSession,
    InsertSession,
    NewEvent,
    SessionRow,
    StoreReader,
    StoreWriter,
    UpdateSession,
    encode_payload,
    now_rfc3339,
)

T = TypeVar("T")

MAX_INPUT_BYTES = 1024 * 1024
INSERT_ACK_TIMEOUT = 5.0
INPUT_ACK_TIMEOUT = 5.0


def to_record(row: SessionRow) -> SessionRecord:
    binding = json.loads(row.execution_binding_json) if row.execution_binding_json else None
    return SessionRecord(
        id=row.id,
        project_root=row.project_root,
        harness=row.harness,
        title=row.title,
        status=row.status,
        exit_code=row.exit_code,
        archived_at=row.archived_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        conversation_id=row.conversation_id,
        familiar_id=row.familiar_id,
        execution_binding=binding,
        labels=list(row.labels),
        visibility=row.visibility,
        external=row.external,
        transcript_path=row.transcript_path,
    )


class SessionManager:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        writer: StoreWriter,
        reader: StoreReader,
        home: Path,
        instance_id: str,
        env: dict[str, str],
        redactor: Redactor | None = None,
    ) -> None:
        self.loop = loop
        self.writer = writer
        self.reader = reader
        self.home = home
        self.instance_id = instance_id
        self.env = env
        self.redactor = redactor or Redactor()
        self.live: dict[str, LiveSession] = {}
        self.drops = DropStats()
        self.read_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="coven-read")
        self.pty_reader = pty.PtyReader(loop.call_soon_threadsafe)
        self.accepting = True
        # Notified whenever a session gets a new committed event or changes status.
        self._changed: dict[str, asyncio.Event] = {}

    # -- plumbing -----------------------------------------------------------------------------
    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking reads (SQLite, filesystem) on the reader pool, off the event loop."""
        call = functools.partial(fn, *args, **kwargs) if kwargs else fn
        return await self.loop.run_in_executor(self.read_pool, call, *args if not kwargs else ())

    async def write(self, op: Any, timeout: float | None = None) -> Any:
        future: Future[Any] = self.writer.submit(op)
        wrapped = asyncio.wrap_future(future, loop=self.loop)
        if timeout is None:
            return await wrapped
        return await asyncio.wait_for(asyncio.shield(wrapped), timeout)

    def require_storage(self) -> None:
        stats = self.writer.stats()
        if stats.state != "healthy":
            raise StorageUnavailable(
                "The session store cannot persist right now; refusing work it could not record.",
                {"state": stats.state, "lastError": stats.last_error},
            )

    def changed(self, session_id: str) -> asyncio.Event:
        event = self._changed.get(session_id)
        if event is None:
            event = self._changed[session_id] = asyncio.Event()
        return event

    def _notify(self, session_id: str) -> None:
        event = self._changed.pop(session_id, None)
        if event is not None:
            event.set()

    def registry(self) -> HarnessRegistry:
        return HarnessRegistry.load(self.env, self.home)

    # -- reads ----------------------------------------------------------------------------------
    async def get_row(self, session_id: str) -> SessionRow:
        row = await self.read(self.reader.get_session, session_id)
        if row is None:
            raise SessionNotFound("Session was not found.", {"sessionId": session_id})
        return row

    async def get(self, session_id: str) -> SessionRecord:
        return to_record(await self.get_row(session_id))

    # -- launch ---------------------------------------------------------------------------------
    async def launch(self, body: object) -> SessionRecord:
        if not self.accepting:
            raise DaemonShuttingDown("The daemon is shutting down; not launching new sessions.")
        # Manifests, realpath and PATH lookups touch the filesystem: keep them off the loop.
        request, adapter, executable, built = await self.read(self._plan_launch, body)
        self.require_storage()
        return await self._start(request, adapter, executable, built)

    def _plan_launch(self, body: object) -> tuple[authority.LaunchRequest, Adapter, str, BuiltArgv]:
        """Everything a launch needs decided, or the refusal; writes and spawns nothing."""
        registry = self.registry()
        request = authority.parse_launch(
            body,
            harness_ids=registry.ids(),
            coven_home=self.home,
            unsupported_message=lambda hid: unsupported_harness_message(hid, registry),
        )
        adapter = registry.get(request.harness)
        assert adapter is not None  # parse_launch checked the id
        executable = resolve_executable(adapter, self.env.get("PATH"))
        if executable is None:
            raise InvalidRequest(
                missing_executable_message(adapter),
                {"harness": adapter.id, "reason": "executable_missing"},
            )
        built = build_argv(
            adapter,
            LaunchOptions(
                prompt=request.prompt,
                mode=request.launch_mode,
                model=request.model,
                permission=request.permission,
                add_dirs=tuple(str(d) for d in request.add_dirs),
            ),
        )
        return request, adapter, executable, built

    async def _start(
        self,
        request: authority.LaunchRequest,
        adapter: Adapter,
        executable: str,
        built: BuiltArgv,
    ) -> SessionRecord:
        session_id = str(uuid.uuid4())
        now = now_rfc3339()
        env = dict(self.env)
        env.setdefault("TERM", "xterm-256color")
        env["COVEN_SESSION_ID"] = session_id
        title = self.redactor.text(request.title)
        base = SessionRow(
            id=session_id,
            project_root=str(request.project_root),
            harness=adapter.id,
            title=title,
            status="running",
            created_at=now,
            updated_at=now,
            conversation_id=request.conversation_id,
            labels=list(request.labels),
            cwd=str(request.cwd),
            launch_mode=request.launch_mode,
            daemon_instance=self.instance_id,
        )
        argv = [executable, *built.argv[1:]]
        try:
            child = pty.spawn(
                argv, cwd=str(request.cwd), env=env, rows=request.rows, cols=request.cols
            )
        except pty.SpawnError as exc:
            failed = _replace(base, status="failed")
            await self.write(InsertSession(failed))
            raise LaunchFailed(
                f"failed to spawn harness `{adapter.id}`: {exc}", {"sessionId": session_id}
            ) from exc

        row = _replace(base, pid=child.pid, pgid=child.pgid, proc_start=child.start_time)
        insert = self.writer.submit(InsertSession(row))
        session = LiveSession(
            self.loop,
            session_id,
            child,
            self._make_pipeline,
            self._on_finished,
            conversation=request.conversation_id is not None,
            input_redactor=InputRedactor(self.redactor),
            reader=self.pty_reader,
        )
        self.live[session_id] = session
        session.start()
        try:
            await asyncio.wait_for(
                asyncio.shield(asyncio.wrap_future(insert, loop=self.loop)), INSERT_ACK_TIMEOUT
            )
        except TimeoutError as exc:
            session.begin_kill("session could not be recorded")
            raise StorageUnavailable(
                "The session store did not acknowledge the new session; it was stopped.",
                {"sessionId": session_id},
            ) from exc
        except SessionIdConflict as exc:  # pragma: no cover - uuid4 collision
            session.begin_kill("session id conflict")
            raise LaunchFailed(str(exc), {"sessionId": session_id}) from exc
        if built.warnings:
            await self.write(
                AppendEvents(
                    [
                        NewEvent(
                            session_id,
                            "metadata",
                            encode_payload({"warnings": list(built.warnings)}),
                            "clean",
                        )
                    ]
                )
            )
        return to_record(row)

    def _make_pipeline(self, session: LiveSession) -> OutputPipeline:
        session_id = session.session_id

        def append(kind: str, payload: dict[str, Any], status: str) -> Future[int]:
            """Queue one event; the future resolves to its seq once committed."""
            event = NewEvent(session_id, kind, encode_payload(payload), status)
            inner = self.writer.submit(AppendEvents([event]))
            outer: Future[int] = Future()

            def done(f: Future[list[EventRow]]) -> None:
                exc = f.exception()
                if exc is not None:
                    outer.set_exception(exc)
                else:
                    outer.set_result(f.result()[0].seq)

            inner.add_done_callback(done)
            return outer

        def submit(text: str, status: str) -> Future[int]:
            return append("output", {"data": text}, status)

        def submit_marker(dropped_bytes: int, dropped_events: int) -> Future[int]:
            payload = {"droppedBytes": dropped_bytes, "droppedEvents": dropped_events}
            return append("output_truncated", payload, "clean")

        return OutputPipeline(
            self.loop,
            submit,
            StreamRedactor(self.redactor),
            on_pause=session.pause_reading,
            on_resume=session.resume_reading,
            on_commit=lambda _seq: self._notify(session_id),
            storage_ok=lambda: self.writer.state == "healthy",
            submit_marker=submit_marker,
            drops=self.drops,
        )

    async def _on_finished(self, session: LiveSession, outcome: Outcome) -> None:
        payload: dict[str, Any] = {"exitCode": outcome.exit_code, "status": outcome.status}
        if outcome.signal is not None:
            payload["signal"] = outcome.signal
        if outcome.reason is not None:
            payload["reason"] = outcome.reason
        event = NewEvent(session.session_id, "exit", encode_payload(payload), "clean")
        try:
            await self.write(
                FinishSession(
                    session.session_id,
                    event,
                    outcome.status,
                    outcome.exit_code,
                    only_if_status=frozenset({"created", "running"}),
                )
            )
        except SessionNotFound:
            pass  # sacrificed while its process still ran: nothing left to record into
        finally:
            self.live.pop(session.session_id, None)
            self._notify(session.session_id)

    # -- live control -------------------------------------------------------------------------
    async def _live_session(self, session_id: str) -> tuple[SessionRow, LiveSession]:
        row = await self.get_row(session_id)
        session = self.live.get(session_id)
        if row.status != "running" or session is None or not session.live:
            raise SessionNotLive("Session is not live.", {"sessionId": session_id})
        return row, session

    async def send_input(self, session_id: str, body_bytes: bytes) -> bool:
        """Deliver input; True once its ``input`` event is durable.

        False means the bytes reached the harness but the store did not confirm the
        event within INPUT_ACK_TIMEOUT (storage just went down); it stays queued and
        is recorded when storage recovers.
        """
        _row, session = await self._live_session(session_id)
        body = parse_json_body(body_bytes, empty={}, details={"sessionId": session_id})
        try:
            data = authority.parse_input(body)
        except InvalidRequest as exc:
            raise InvalidRequest(exc.message, {"sessionId": session_id}) from exc
        encoded = data.encode("utf-8", "surrogatepass")
        if len(encoded) > MAX_INPUT_BYTES:
            raise InputTooLarge(f"input exceeds {MAX_INPUT_BYTES} bytes", {"sessionId": session_id})
        self.require_storage()
        assert isinstance(body, dict)
        return await self.deliver_input(session, encoded, body, wait=True)

    async def deliver_input(
        self, session: LiveSession, data: bytes, payload: dict[str, Any], *, wait: bool
    ) -> bool:
        """Record an ``input`` event, then write the bytes to the PTY.

        The event is queued before any output the input provokes, so the log
        reads in causal order; with ``wait`` we return only once it is durable.
        """
        redacted, changed = self.redactor.payload(payload)
        typed = payload.get("data")
        if isinstance(typed, str):
            # Typed text gets context across requests (split tokens, open PEM blocks).
            safe = session.input_redactor.redact(typed)
            changed = changed or safe != typed
            redacted = {**redacted, "data": safe}
        event = NewEvent(
            session.session_id,
            "input",
            encode_payload(redacted),
            "redacted" if changed else "clean",
        )
        future = self.writer.submit(AppendEvents([event]))
        if not session.write_input(data):
            raise SessionNotLive(
                "Session is not accepting input (its input backlog is full or it exited).",
                {"sessionId": session.session_id},
            )
        if not wait:
            return False
        try:
            await asyncio.wait_for(
                asyncio.shield(asyncio.wrap_future(future, loop=self.loop)), INPUT_ACK_TIMEOUT
            )
        except TimeoutError:
            return False
        return True

    async def kill(self, session_id: str, reason: str = "requested") -> None:
        row = await self.get_row(session_id)
        if row.external and row.status == "running":
            raise ExternalNotKillable(
                "External sessions are not managed by the daemon; use POST "
                f"/sessions/{session_id}/complete to mark them finished.",
                {"sessionId": session_id},
            )
        session = self.live.get(session_id)
        if row.status != "running" or session is None or not session.live:
            raise SessionNotLive("Session is not live.", {"sessionId": session_id})
        await self.kill_live(session, reason)

    async def kill_live(self, session: LiveSession, reason: str) -> Outcome:
        payload = encode_payload({"reason": reason, "status": "killed"})
        session.begin_kill(reason)
        # If storage is down the kill proceeds; the event stays queued and lands on recovery.
        with contextlib.suppress(TimeoutError):
            await self.write(
                AppendEvents([NewEvent(session.session_id, "kill", payload, "clean")]),
                timeout=INSERT_ACK_TIMEOUT,
            )
        return await asyncio.shield(session.finished)

    async def resize(self, session_id: str, rows: int, cols: int) -> None:
        _row, session = await self._live_session(session_id)
        session.resize(rows, cols)

    # -- external sessions ----------------------------------------------------------------------
    async def register_external(self, body: object) -> tuple[SessionRecord, bool]:
        reg = authority.parse_external(body, coven_home=self.home)
        existing = await self.read(self.reader.get_session, reg.id)
        if existing is not None:
            if existing.external:
                return to_record(existing), False
            raise SessionIdConflict(
                "Session id is owned by a daemon-managed session.", {"sessionId": reg.id}
            )
        self.require_storage()
        now = now_rfc3339()
        row = SessionRow(
            id=reg.id,
            project_root=str(reg.project_root),
            harness=reg.harness,
            title=self.redactor.text(reg.title),
            status="running",
            created_at=now,
            updated_at=now,
            labels=list(reg.labels),
            external=True,
            transcript_path=reg.transcript_path,
        )
        try:
            await self.write(InsertSession(row))
        except SessionIdConflict:
            again = await self.get_row(reg.id)
            if again.external:
                return to_record(again), False
            raise
        return to_record(row), True

    async def complete(self, session_id: str, body: object) -> SessionRecord:
        row = await self.get_row(session_id)
        if not row.external:
            raise NotExternalSession(
                f"POST /sessions/{session_id}/complete is only valid for externally-registered "
                f"sessions. Use POST /sessions/{session_id}/kill for daemon-managed sessions.",
                {"sessionId": session_id},
            )
        code = body.get("exitCode") if isinstance(body, dict) else None
        if isinstance(code, bool) or not isinstance(code, int) or not -(2**63) <= code < 2**63:
            code = None  # the reference parses leniently: anything else is "absent"
        status = "completed" if code in (None, 0) else "failed"
        await self.write(UpdateSession(session_id, {"status": status, "exit_code": code}))
        self._notify(session_id)
        return await self.get(session_id)

    # -- rituals ----------------------------------------------------------------------------------
    async def archive(self, session_id: str, archived: bool) -> SessionRecord:
        row = await self.get_row(session_id)
        if archived and (row.status == "running" or session_id in self.live):
            raise SessionConflict(
                f"session `{session_id}` is still running; kill it first with "
                f"`coven kill {session_id}`",
                {"sessionId": session_id, "status": row.status},
            )
        self.require_storage()
        if (row.archived_at is not None) != archived:
            await self.write(ArchiveSession(session_id, archived))
        return await self.get(session_id)

    async def sacrifice(self, session_id: str, confirm: object) -> None:
        row = await self.get_row(session_id)
        if confirm != session_id:
            raise InvalidRequest(
                "sacrifice permanently deletes a session and its events; confirm with the "
                "exact full session id",
                {"sessionId": session_id, "field": "confirm"},
            )
        if row.status in ("running", "created") or session_id in self.live:
            raise SessionConflict(
                f"session `{session_id}` is still running; do not sacrifice live work — kill "
                f"it first with `coven kill {session_id}`",
                {"sessionId": session_id, "status": row.status},
            )
        self.require_storage()
        if not await self.write(DeleteSession(session_id)):
            raise SessionNotFound("Session was not found.", {"sessionId": session_id})
        self._notify(session_id)

    # -- shutdown -------------------------------------------------------------------------------
    async def shutdown(self) -> None:
        """Kill every live session (reason "daemon shutdown") and wait for their exits."""
        self.accepting = False
        sessions = list(self.live.values())
        if sessions:
            await asyncio.gather(
                *(self.kill_live(s, "daemon shutdown") for s in sessions),
                return_exceptions=True,
            )
        self.pty_reader.stop()
        self.read_pool.shutdown(wait=False, cancel_futures=True)


def _replace(row: SessionRow, **changes: Any) -> SessionRow:
    return dataclasses.replace(row, **changes)


__all__ = ["SessionManager", "to_record"]
