"""The runtime's session logic through its spawner seam: no processes, no sockets, no HTTP.

Each test builds a real ``Runtime`` over a real SQLite store and hands it a
``FakeSpawner``; the test plays the harness. The same behaviours are covered
end to end with real PTYs and a real daemon in ``tests/integration``.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from coven.errors import LaunchFailed, SessionConflict, SessionNotLive
from coven.runtime import Runtime, lifecycle, live
from coven.runtime.attach import Exit, Live, Output, ReplayChunk
from coven.runtime.live_control import SendInput
from coven.runtime.queries import EventsQuery, ListQuery
from coven.schema import EventKind, EventRecord, SessionStatus
from coven.schema.meta import DaemonIdentity
from coven.store import open_store
from tests.fakes.spawner import FakeProcess, FakeSpawner

FAKE_BIN = Path(__file__).resolve().parents[1] / "fakes" / "bin"
WAIT = 5.0


@pytest.fixture
def spawner() -> FakeSpawner:
    return FakeSpawner()


@pytest.fixture
async def runtime(tmp_path: Path, spawner: FakeSpawner) -> AsyncIterator[Runtime]:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (tmp_path / "project").mkdir()
    writer, reader = open_store(str(home / "coven.sqlite3"))
    rt = Runtime(
        asyncio.get_running_loop(),
        writer,
        reader,
        spawner=spawner,
        home=home,
        env={"PATH": str(FAKE_BIN), "HOME": str(tmp_path)},
        instance_id="test-instance",
        daemon=DaemonIdentity(pid=1, startedAt="now", socket=str(home / "coven.sock")),
    )
    try:
        yield rt
    finally:
        await asyncio.wait_for(rt.shutdown(), WAIT)
        writer.stop()
        reader.close()


def launch_body(rt: Runtime, **extra: object) -> dict[str, object]:
    return {
        "projectRoot": str(rt.home.parent / "project"),
        "harness": "codex",
        "prompt": "hello",
        **extra,
    }


async def events(rt: Runtime, session_id: str) -> list[EventRecord]:
    return (await rt.queries.events_page(session_id, EventsQuery())).events


async def wait_status(rt: Runtime, session_id: str, status: SessionStatus) -> None:
    async def poll() -> None:
        while (await rt.queries.session(session_id)).status != status:
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), WAIT)


async def launched(rt: Runtime, spawner: FakeSpawner) -> tuple[str, FakeProcess]:
    record = await rt.launcher.launch(launch_body(rt))
    assert record.status == SessionStatus.RUNNING
    return record.id, spawner.processes[-1]


def output_text(recorded: list[EventRecord]) -> str:
    return "".join(
        json.loads(e.payload_json)["data"] for e in recorded if e.kind == EventKind.OUTPUT
    )


async def test_launch_spawns_through_the_seam_and_records_output_then_exit(
    runtime: Runtime, spawner: FakeSpawner
) -> None:
    session_id, process = await launched(runtime, spawner)
    assert process.argv[0].endswith("/codex") and "hello" in process.argv
    assert process.env["COVEN_SESSION_ID"] == session_id
    assert process.size == (24, 80)
    process.emit(b"hi there\r\n")
    process.exit(0)
    await wait_status(runtime, session_id, SessionStatus.COMPLETED)
    recorded = await events(runtime, session_id)
    assert output_text(recorded) == "hi there\r\n"
    assert recorded[-1].kind == EventKind.EXIT
    assert json.loads(recorded[-1].payload_json) == {"exitCode": 0, "status": "completed"}
    assert session_id not in runtime.table
    assert process.closed


async def test_a_nonzero_exit_is_failed_with_its_code(
    runtime: Runtime, spawner: FakeSpawner
) -> None:
    session_id, process = await launched(runtime, spawner)
    process.exit(3)
    await wait_status(runtime, session_id, SessionStatus.FAILED)
    assert (await runtime.queries.session(session_id)).exit_code == 3


async def test_a_spawn_failure_leaves_a_failed_row_and_no_live_session(
    runtime: Runtime, spawner: FakeSpawner
) -> None:
    spawner.fail = "no such program"
    with pytest.raises(LaunchFailed) as info:
        await runtime.launcher.launch(launch_body(runtime))
    session_id = info.value.details["sessionId"] if info.value.details else ""
    assert (await runtime.queries.session(session_id)).status == SessionStatus.FAILED
    assert len(runtime.table) == 0


class SlowSpawner(FakeSpawner):
    """Each start takes until the test lets it go (at most ``WAIT``), like a slow exec."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def spawn(self, argv: Sequence[str], **kwargs: Any) -> FakeProcess:
        self.entered.set()
        self.release.wait(WAIT)
        return super().spawn(argv, **kwargs)


async def test_a_harness_starting_does_not_stop_the_event_loop(
    runtime: Runtime, tmp_path: Path
) -> None:
    slow = SlowSpawner()
    runtime.launcher.spawner = slow
    launch = asyncio.ensure_future(runtime.launcher.launch(launch_body(runtime)))
    assert await asyncio.to_thread(slow.entered.wait, WAIT)
    # The loop goes on while the harness starts: on it, every session waited.
    ticks = 0
    for _ in range(5):
        await asyncio.sleep(0.01)
        ticks += 1
    assert ticks == 5 and not launch.done()
    slow.release.set()
    record = await asyncio.wait_for(launch, WAIT)
    assert record.status == SessionStatus.RUNNING and record.id in runtime.table


async def test_a_launch_cancelled_while_its_harness_starts_leaves_nothing_running(
    runtime: Runtime,
) -> None:
    slow = SlowSpawner()
    runtime.launcher.spawner = slow
    launch = asyncio.ensure_future(runtime.launcher.launch(launch_body(runtime)))
    assert await asyncio.to_thread(slow.entered.wait, WAIT)
    launch.cancel()
    slow.release.set()
    with pytest.raises(asyncio.CancelledError):
        await launch

    async def ended() -> None:
        while not (slow.processes and slow.processes[0].closed):
            await asyncio.sleep(0.01)

    await asyncio.wait_for(ended(), WAIT)
    # Started after all, then ended: nothing runs that no session records.
    assert slow.processes[0].signals == [signal.SIGKILL]
    assert len(runtime.table) == 0
    assert await runtime.queries.list_sessions(ListQuery()) == []


async def test_input_is_recorded_then_typed_into_the_terminal(
    runtime: Runtime, spawner: FakeSpawner
) -> None:
    session_id, process = await launched(runtime, spawner)
    target = await runtime.control.require_live(session_id)
    assert await runtime.control.send_input(target, SendInput("ls\n", {"data": "ls\n"}))
    assert process.typed(3) == b"ls\n"
    kinds = [e.kind for e in await events(runtime, session_id)]
    assert kinds == [EventKind.INPUT]


async def test_kill_signals_the_group_and_records_kill_then_exit(
    runtime: Runtime, spawner: FakeSpawner
) -> None:
    session_id, process = await launched(runtime, spawner)
    await asyncio.wait_for(runtime.control.kill(session_id), WAIT)
    await wait_status(runtime, session_id, SessionStatus.KILLED)
    assert process.signals[:2] == [signal.SIGHUP, signal.SIGTERM]
    recorded = await events(runtime, session_id)
    assert [e.kind for e in recorded] == [EventKind.KILL, EventKind.EXIT]
    assert json.loads(recorded[-1].payload_json)["reason"] == "requested"
    with pytest.raises(SessionNotLive):
        await runtime.control.require_live(session_id)


async def test_kill_escalates_to_sigkill_after_the_grace_period(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "KILL_GRACE_SECONDS", 0.05)
    stubborn = FakeSpawner(ignore=frozenset({signal.SIGHUP, signal.SIGTERM}))
    runtime.launcher.spawner = stubborn
    session_id, process = await launched(runtime, stubborn)
    await asyncio.wait_for(runtime.control.kill(session_id), WAIT)
    assert process.signals[-1] == signal.SIGKILL
    assert (await runtime.queries.session(session_id)).status == SessionStatus.KILLED


async def test_attach_replays_stored_output_then_goes_live_then_exits(
    runtime: Runtime, spawner: FakeSpawner
) -> None:
    session_id, process = await launched(runtime, spawner)
    process.emit(b"before\r\n")

    async def stored() -> None:
        while output_text(await events(runtime, session_id)) != "before\r\n":
            await asyncio.sleep(0.01)

    await asyncio.wait_for(stored(), WAIT)
    attachment = await runtime.attach.open(session_id, 0)
    items = attachment.items()
    assert await anext(items) == ReplayChunk(b"before\r\n")
    live_item = await anext(items)
    assert isinstance(live_item, Live) and live_item.seq >= 1
    process.emit(b"after")
    assert await asyncio.wait_for(anext(items), WAIT) == Output(b"after")
    process.exit(0)
    rest = [item async for item in items]
    assert rest[-1] == Exit(SessionStatus.COMPLETED, 0)
    attachment.close()


async def test_external_complete_is_a_transition_with_one_exit_event(runtime: Runtime) -> None:
    body = {
        "id": "ext-1",
        "projectRoot": str(runtime.home.parent / "project"),
        "harness": "coven-code",
    }
    record, created = await runtime.external.register(body)
    assert created and record.status == SessionStatus.RUNNING
    done = await runtime.external.complete("ext-1", 4)
    assert (done.status, done.exit_code) == (SessionStatus.FAILED, 4)
    with pytest.raises(SessionConflict, match="completed only once"):
        await runtime.external.complete("ext-1", None)
    assert (await runtime.queries.session("ext-1")).status == SessionStatus.FAILED
    kinds = [e.kind for e in await events(runtime, "ext-1")]
    assert kinds == [EventKind.EXIT]


def test_the_lifecycle_table_refuses_what_it_does_not_list() -> None:
    with pytest.raises(SessionConflict):
        lifecycle.check(lifecycle.EXIT, SessionStatus.COMPLETED, SessionStatus.FAILED)
    with pytest.raises(SessionConflict):
        lifecycle.check(lifecycle.EXIT, SessionStatus.RUNNING, SessionStatus.ORPHANED)
    for done in (SessionStatus.KILLED, SessionStatus.COMPLETED, SessionStatus.FAILED):
        with pytest.raises(SessionConflict):
            lifecycle.check(lifecycle.COMPLETE_EXTERNAL, done, SessionStatus.COMPLETED)
    lifecycle.check(lifecycle.EXIT, SessionStatus.RUNNING, SessionStatus.KILLED)
    op = lifecycle.finish(lifecycle.EXIT, "s", SessionStatus.IDLE, 0, {"exitCode": 0})
    assert op.only_if_status == lifecycle.EXIT.sources
    assert op.exit_event is not None and op.exit_event.kind == EventKind.EXIT


async def test_shutdown_kills_every_live_session_and_refuses_new_launches(
    runtime: Runtime, spawner: FakeSpawner
) -> None:
    first, _ = await launched(runtime, spawner)
    second, _ = await launched(runtime, spawner)
    await asyncio.wait_for(runtime.control.shutdown(), WAIT)
    for session_id in (first, second):
        assert (await runtime.queries.session(session_id)).status == SessionStatus.KILLED
    with pytest.raises(Exception, match="shutting down"):
        await runtime.launcher.launch(launch_body(runtime))


def test_recovery_reaps_through_the_spawner_and_marks_rows_orphaned(tmp_path: Path) -> None:
    from coven.daemon.serve import recover
    from coven.store import InsertSession, SessionRow

    writer, reader = open_store(str(tmp_path / "coven.sqlite3"))
    try:
        row = SessionRow(
            id="left",
            project_root="/p",
            harness="codex",
            title="t",
            status=SessionStatus.RUNNING,
            created_at="2026-01-01T00:00:00Z",
            updated_at="2026-01-01T00:00:00Z",
            pid=4242,
            proc_start=7,
            daemon_instance="old",
        )
        writer.submit(InsertSession(row)).result(timeout=WAIT)
        spawner = FakeSpawner()
        assert recover(writer, reader, spawner, "new") == 1
        assert spawner.reaped == [(4242, 7)]
        again = reader.get_session("left")
        assert again is not None and again.status == SessionStatus.ORPHANED
        explanation, ending = reader.list_events("left")
        assert explanation.kind == EventKind.METADATA
        assert ending.kind == EventKind.EXIT and SessionStatus.ORPHANED in ending.payload_json
        assert (
            "its leftover processes were killed" in json.loads(explanation.payload_json)["reason"]
        )
    finally:
        writer.stop()
        reader.close()
