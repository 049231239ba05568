"""Launching a harness session: plan (every check), spawn, record, start reading.

The launch path, in order::

    Launcher.launch          refuse while shutting down
    Launcher.plan            (off the loop) authority.parse_launch, harness lookup,
                             resolve_executable, build_argv (the prompt in argv, or
                             on stdin when too long for exec), the conversation to start or
                             resume, repository facts — writes and spawns nothing
    Ledger.require_storage   refuse what could not be recorded
    Launcher.start           the lane (``isolation: "worktree"``, after every check) →
                             Spawner.spawn → InsertSession → EventSink.output_pipeline
                             → LiveSession.start (the PTY reader takes the master)

A continued session (``conversation: {mode: "resume"}`` naming a Coven session) runs
in that session's lane when it had one, and records ``continues``. A lane made for a
launch whose spawn then fails is removed again.

When the harness exits, ``Launcher.finished`` records the ``exit`` transition
(``lifecycle.finish``) and removes the session from the live table.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec

from coven import authority
from coven.errors import (
    DaemonShuttingDown,
    InvalidRequest,
    LaunchFailed,
    NotAGitRepository,
    RepositoryEmpty,
    SessionIdConflict,
    SessionNotFound,
    StorageUnavailable,
)
from coven.harness import (
    Adapter,
    BuiltArgv,
    HarnessRegistry,
    LaunchOptions,
    build_argv,
    exec_budget,
    hook_args,
    missing_executable_message,
    resolve_executable,
    unsupported_harness_message,
)
from coven.pty import PtyReader
from coven.runtime import lifecycle
from coven.runtime.attention_service import AttentionService
from coven.runtime.codex_threads import CodexThreads
from coven.runtime.conversations import (
    CODEX_HARNESS,
    ConversationPlan,
    codex_sessions_dir,
    plan_conversation,
)
from coven.runtime.coven_calls import CovenCalls
from coven.runtime.event_sink import EventSink, ReadFlow
from coven.runtime.ledger import Ledger
from coven.runtime.live import LiveSession, LiveTable, Outcome
from coven.runtime.records import to_record
from coven.runtime.roster import FamiliarRoster
from coven.runtime.spawner import SessionProcess, Spawner, start_harness
from coven.runtime.transcript import terminal_payload
from coven.runtime.work import Work, lane_of
from coven.schema import EventKind, SessionRecord, SessionStatus
from coven.store import InsertSession, SessionRow, now_rfc3339
from coven.workspace import Lane, RepoFacts

INSERT_ACK_TIMEOUT = 5.0
HOOKS_ENV = "COVEN_HARNESS_HOOKS"
# Codex writes its rollout file soon after start; look for it this long.


class LaunchPlan(msgspec.Struct, frozen=True):
    """Everything a launch needs, decided before anything is written or spawned.

    ``env`` is the harness's complete environment, holding the new session's id
    as ``COVEN_SESSION_ID``; it is never stored or logged (kept out of ``repr``).
    """

    request: authority.LaunchRequest
    adapter: Adapter
    executable: str
    built: BuiltArgv
    env: dict[str, str]
    familiar: authority.Familiar | None = None
    conversation: ConversationPlan = msgspec.field(default_factory=ConversationPlan)
    facts: RepoFacts | None = None
    lane: Lane | None = None
    """The continued session's lane to run in again, if it had one that still exists."""

    @property
    def session_id(self) -> str:
        return self.env["COVEN_SESSION_ID"]

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.__rich_repr__())
        return f"{type(self).__name__}({shown})"

    def __rich_repr__(self) -> list[tuple[str, object]]:
        # Every field but ``env``, which may hold secrets.
        return [(name, getattr(self, name)) for name in self.__struct_fields__ if name != "env"]


class Placement(msgspec.Struct, frozen=True):
    """Where the harness runs and the git facts the row records."""

    root: Path
    cwd: Path
    facts: RepoFacts | None
    lane: Lane | None
    fresh_lane: bool
    notes: tuple[str, ...] = ()


class Launcher:
    """Starts sessions; owns the path from a launch body to a running, recorded harness."""

    def __init__(
        self,
        ledger: Ledger,
        sink: EventSink,
        table: LiveTable,
        spawner: Spawner,
        reader: PtyReader,
        registry: Callable[[], HarnessRegistry],
        home: Path,
        env: dict[str, str],
        instance_id: str,
        *,
        roster: FamiliarRoster | None = None,
        calls: CovenCalls | None = None,
        work: Work,
        attention: AttentionService | None = None,
    ) -> None:
        self.work = work
        self.attention = attention
        self.ledger = ledger
        self.sink = sink
        self.table = table
        self.spawner = spawner
        self.reader = reader
        self.registry = registry
        self.home = home
        self.env = env
        self.instance_id = instance_id
        self.roster = roster or FamiliarRoster(home)
        self.calls = calls or CovenCalls(home)
        self.codex_threads = CodexThreads(ledger, lambda sid: sid in table)

    async def launch(self, body: object) -> SessionRecord:
        """Validate and start a launch body; the new session's record once it is recorded."""
        if not self.table.accepting:
            raise DaemonShuttingDown("The daemon is shutting down; not launching new sessions.")
        # Manifests, realpath and PATH lookups touch the filesystem: keep them off the loop.
        plan = await self.ledger.read(self.plan, body)
        self.ledger.require_storage()
        return await self.start(plan)

    def plan(self, body: object) -> LaunchPlan:
        """Every check of a launch body, in the reference's order, or the refusal.

        A body with an ``environment`` (the launching client's) is judged by it,
        as ``coven doctor`` judges that client's shell: its manifest variables
        declare harnesses, its ``PATH`` finds them, and it replaces the daemon's
        own environment for the harness.
        """
        environment = (
            authority.parse_environment(body.get("environment")) if isinstance(body, dict) else None
        )
        base_env = self.env if environment is None else environment
        registry = (
            self.registry() if environment is None else HarnessRegistry.load(base_env, self.home)
        )
        request = authority.parse_launch(
            body,
            harness_ids=registry.ids(),
            coven_home=self.home,
            unsupported_message=lambda hid: unsupported_harness_message(hid, registry),
        )
        adapter = registry.get(request.harness)
        assert adapter is not None  # parse_launch checked the id
        familiar = None
        if request.familiar_id is not None:
            # After every check of the body, as the reference orders it; an
            # unreadable roster is a 500 naming the file and line.
            familiar = self.roster.load().require(request.familiar_id)
        executable = resolve_executable(adapter, base_env.get("PATH"))
        if executable is None:
            raise InvalidRequest(
                missing_executable_message(adapter),
                {"harness": adapter.id, "reason": "executable_missing"},
            )
        conversation = plan_conversation(request, adapter, self.ledger.reader)
        source = conversation.continues
        lane = lane_of(source) if source is not None else None
        if lane is not None and not Path(lane.worktree_path).is_dir():
            lane = None  # discarded since: the continuation runs where it is asked to
        facts = None if lane is not None else self.work.facts(request.cwd)
        if request.isolation == "worktree" and lane is None:
            if facts is None:
                raise NotAGitRepository(
                    f"`{request.cwd}` is not inside a git repository; isolation `worktree` "
                    "needs one",
                    {"field": "isolation", "cwd": str(request.cwd)},
                )
            if facts.base_commit is None:
                raise RepositoryEmpty(
                    f"{facts.git_root} has no commit yet; a lane needs one to start from",
                    {"field": "isolation", "gitRoot": facts.git_root},
                )
        env = dict(base_env)
        env.setdefault("TERM", "xterm-256color")
        env["COVEN_SESSION_ID"] = str(uuid.uuid4())
        hooks = self._hooks_for(adapter, env["COVEN_SESSION_ID"])
        if hooks:
            env["COVEN_HOME"] = str(self.home)  # where `coven hook` finds this daemon
        built = build_argv(
            adapter,
            LaunchOptions(
                prompt=request.prompt,
                mode=request.launch_mode,
                model=request.model or _familiar_model(familiar, adapter.id),
                permission=request.permission,
                add_dirs=tuple(str(d) for d in request.add_dirs),
                system_prompt=_system_prompt(familiar),
                conversation_id=conversation.start_id,
                resume_id=conversation.resume_id,
            ),
            # The environment counts against exec's limit too.
            exec_room=exec_budget(env) - sum(len(a) + 9 for a in hooks),
        )
        if hooks:
            built = msgspec.structs.replace(built, argv=[built.argv[0], *hooks, *built.argv[1:]])
        return LaunchPlan(
            request, adapter, executable, built, env, familiar, conversation, facts, lane
        )

    def _hooks_for(self, adapter: Adapter, session_id: str) -> list[str]:
        """The arguments wiring the harness's own hooks to ``coven hook`` (attention).

        Only the built-in Claude and Codex adapters; ``COVEN_HARNESS_HOOKS=off`` in the
        daemon's environment leaves every argv exactly as the reference builds it.
        """
        if self.env.get(HOOKS_ENV, "on") == "off" or adapter.source != "builtin":
            return []
        return hook_args(adapter.id, session_id)

    def place(self, plan: LaunchPlan) -> Placement:
        """Where the harness runs: the checked root and cwd, or their counterparts in a lane.

        Blocking (git). Creates the session's lane for ``isolation: "worktree"``.
        """
        request = plan.request
        if plan.lane is not None:
            lane = plan.lane
            cwd = lane.map_path(request.cwd)
            if not cwd.is_dir():
                cwd = Path(lane.worktree_path)
            root, cwd = authority.confine_to_lane(
                lane.map_path(request.project_root), cwd, Path(lane.worktree_path)
            )
            return Placement(root, cwd, None, lane, fresh_lane=False)
        if request.isolation != "worktree" or plan.facts is None:
            return Placement(request.project_root, request.cwd, plan.facts, None, False)
        created = self.work.open_lane(plan.facts, plan.session_id, request.cwd)
        lane = created.lane
        try:
            root, cwd = authority.confine_to_lane(
                lane.map_path(request.project_root), Path(created.cwd), Path(lane.worktree_path)
            )
        except BaseException:
            self.work.remove_fresh_lane(lane)
            raise
        notes = tuple(f"not copied into the lane: {s.path} ({s.reason})" for s in created.skipped)
        return Placement(root, cwd, plan.facts, lane, fresh_lane=True, notes=notes)

    async def start(self, plan: LaunchPlan) -> SessionRecord:
        """Spawn the planned harness, record the session and start reading its terminal."""
        request, adapter = plan.request, plan.adapter
        session_id = plan.session_id
        place = await self.ledger.read(self.place, plan)
        facts, lane = place.facts, place.lane
        source = plan.conversation.continues
        now = now_rfc3339()
        base = SessionRow(
            id=session_id,
            project_root=str(place.root),
            harness=adapter.id,
            title=self.sink.redactor.text(request.title),
            status=SessionStatus.RUNNING,
            created_at=now,
            updated_at=now,
            conversation_id=plan.conversation.record_id,
            labels=list(request.labels),
            cwd=str(place.cwd),
            launch_mode=request.launch_mode,
            daemon_instance=self.instance_id,
            familiar_id=request.familiar_id,
            git_root=lane.git_root if lane else facts.git_root if facts else None,
            base_commit=lane.base_commit if lane else facts.base_commit if facts else None,
            base_branch=lane.base_branch if lane else facts.base_branch if facts else None,
            worktree_path=lane.worktree_path if lane else None,
            branch=lane.branch if lane else None,
            continues=source.id if source is not None else None,
        )
        argv = [plan.executable, *plan.built.argv[1:]]
        stdin = plan.built.stdin_prompt
        started = time.time()
        try:
            child = await start_harness(
                self.ledger,
                self.spawner,
                argv,
                cwd=str(place.cwd),
                env=plan.env,
                rows=request.rows,
                cols=request.cols,
                stdin=None if stdin is None else stdin.encode("utf-8", "surrogateescape"),
            )
        except LaunchFailed as exc:
            if lane is not None and place.fresh_lane:
                await self.ledger.read(self.work.remove_fresh_lane, lane)
                base = _replace(base, worktree_path=None, branch=None)
            # Created failed: the row says the launch was tried; it never ran.
            await self.ledger.write(InsertSession(_replace(base, status=SessionStatus.FAILED)))
            raise LaunchFailed(
                f"failed to spawn harness `{adapter.id}`: {exc}", {"sessionId": session_id}
            ) from exc

        row = _replace(base, pid=child.pid, pgid=child.pgid, proc_start=child.start_time)
        insert = self.ledger.submit(InsertSession(row))
        session = self.live(
            session_id,
            child,
            request.rows,
            request.cols,
            # A client-named conversation makes a clean exit `idle` (the reference's
            # meaning); the ids Coven records by itself leave the status as it was.
            conversation=request.conversation_id is not None,
        )
        if self.attention is not None:
            self.attention.watch(session, adapter.id, base.title)
        try:
            await self.ledger.wait_committed(insert, INSERT_ACK_TIMEOUT)
        except TimeoutError as exc:
            session.begin_kill("session could not be recorded")
            raise StorageUnavailable(
                "The session store did not acknowledge the new session; it was stopped.",
                {"sessionId": session_id},
            ) from exc
        except SessionIdConflict as exc:  # pragma: no cover - uuid4 collision
            session.begin_kill("session id conflict")
            raise LaunchFailed(str(exc), {"sessionId": session_id}) from exc
        if request.familiar_id is not None and request.caller_familiar_id is not None:
            await self.ledger.read(
                self.calls.started,
                request.caller_familiar_id,
                request.familiar_id,
                request.prompt,
                session_id,
            )
        warnings = [*plan.built.warnings, *place.notes]
        if warnings:
            await self.ledger.wait_committed(
                self.sink.append(session_id, EventKind.METADATA, {"warnings": warnings})
            )
        if adapter.id == CODEX_HARNESS and row.conversation_id is None:
            where = codex_sessions_dir(plan.env)  # the HOME the harness runs with
            if where is not None:
                self.codex_threads.watch(session_id, where, str(place.cwd), started)
        return to_record(row)

    def live(
        self,
        session_id: str,
        child: SessionProcess,
        rows: int,
        cols: int,
        *,
        conversation: bool,
        byte_base: int = 0,
        committed_seq: int = 0,
        screen_seed: Sequence[bytes] = (),
    ) -> LiveSession:
        """Build, register and start the live session that drives ``child`` (output from
        ``byte_base`` on, stored up to ``committed_seq``, the screen seeded with earlier output)."""
        flow, sessions = ReadFlow(), list[LiveSession]()
        pipeline = self.sink.output_pipeline(
            session_id, flow, rows, cols, byte_base=byte_base,
            on_offset=lambda seq, offset: sessions[0].acknowledge(seq, offset),
        )  # fmt: skip
        pipeline.committed_seq = committed_seq
        if pipeline.screen is not None:
            for chunk in screen_seed:  # before any live output: the model stays in order
                pipeline.screen.feed(chunk)
        typed = self.sink.typed_input(session_id)
        session = LiveSession(
            self.ledger.loop, session_id, child, pipeline, flow, self.finished,
            conversation=conversation, typed_input=typed, reader=self.reader,
        )  # fmt: skip
        sessions.append(session)
        self.table.add(session)
        session.start()
        return session

    def close(self) -> None:
        """Stop looking for harness conversation ids (the daemon is stopping)."""
        self.codex_threads.close()

    async def finished(self, session: LiveSession, outcome: Outcome) -> None:
        """Record the ``exit`` transition (after the session's last output) and forget it."""
        payload: dict[str, object] = {"exitCode": outcome.exit_code, "status": outcome.status}
        if outcome.signal is not None:
            payload["signal"] = outcome.signal
        if outcome.reason is not None:
            payload["reason"] = outcome.reason
        # The writer applies ops in order: held input lands before the exit event.
        self.sink.release_held_input(session.session_id, session.typed_input)
        screen = session.pipeline.screen
        terminal = None if screen is None else terminal_payload(*screen.size)
        if terminal is not None:
            # Its final screen is rebuilt from the stored output at this size.
            self.sink.append(session.session_id, EventKind.METADATA, terminal)
        sid, status, code = session.session_id, outcome.status, outcome.exit_code
        try:
            if status is SessionStatus.ORPHANED:
                await self.ledger.write(lifecycle.orphan([sid], outcome.reason or "holder gone"))
            else:
                await self.ledger.write(
                    lifecycle.finish(lifecycle.EXIT, sid, status, code, payload)
                )
        except SessionNotFound:
            pass  # sacrificed while its process still ran: nothing left to record into
        finally:
            self.table.remove(session.session_id)
            self.ledger.changes.notify(session.session_id)
        if self.attention is not None and session.attention is not None:
            self.attention.finished(
                session.session_id,
                session.attention.harness,
                session.attention.title,
                outcome.status,
            )
        # The pool is gone once the daemon has stopped; the ledger is best effort anyway.
        with contextlib.suppress(RuntimeError):
            await self.ledger.read(self.calls.finished, session.session_id, outcome.status)


def _system_prompt(familiar: authority.Familiar | None) -> str | None:
    """The identity line a familiar's harness receives, then its standing instructions."""
    if familiar is None:
        return None
    instructions = (familiar.instructions or "").strip()
    identity = familiar.identity_preamble()
    return f"{identity}\n\n{instructions}" if instructions else identity


def _familiar_model(familiar: authority.Familiar | None, harness: str) -> str | None:
    """The familiar's default model, for launches of its own harness (or any, if it names none)."""
    if familiar is None or familiar.model is None:
        return None
    if familiar.harness is not None and familiar.harness != harness:
        return None
    return familiar.model


def _replace(row: SessionRow, **changes: object) -> SessionRow:
    return msgspec.structs.replace(row, **changes)
