"""Carrying on, at start-up, the sessions an earlier daemon left running.

Every session the store says is ``running`` (and that another daemon instance
started) is looked up among the holders recorded in ``COVEN_HOME``:

* its holder answers and proves to be the one recorded (peer credentials, start
  time, session id — ``coven.pty.holder_client.adopt_holder``): the session is
  *adopted*. Output resumes at the byte just after what the store has, so what the
  harness wrote while no daemon read is recorded, nothing twice; an exit that
  happened meanwhile arrives after that output and is recorded as usual;
* it has no holder (it ran as the old daemon's child) or its holder is gone: what
  is left of it is killed and the session becomes ``orphaned``, with an ``exit``
  event saying why.

A holder recorded for a session that is not running any more (its daemon recorded
the exit and died before releasing it) is let go: its files are removed, and a holder
without its socket file ends what is left of its session and exits.

Where output resumes: the holder's offset file records ``(seq, offset)`` after
each commit, before the holder is told to forget that output; events committed
after ``seq`` (a daemon killed between the commit and the record) are added by
their size in bytes. That size is exact for text that decoded cleanly and was not
redacted — the only output a crash could leave in that gap unaccounted otherwise.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Protocol

import msgspec

from coven.errors import CovenError
from coven.pty.holder_spawner import HolderRecord
from coven.runtime import lifecycle
from coven.runtime.codex_threads import harness_sessions_dir
from coven.runtime.conversations import CODEX_HARNESS
from coven.runtime.launcher import Launcher
from coven.runtime.spawner import HeldProcess
from coven.runtime.transcript import read_tail
from coven.schema import EventKind
from coven.store import SessionRow, StoreReader, StoreWriter, UpdateSession

log = logging.getLogger("coven.runtime.adoption")


class HolderFinder(Protocol):
    """What adoption needs from the spawner (``coven.pty.HolderSpawner``)."""

    def find(self, session_id: str) -> HolderRecord | None: ...

    def adopt(self, record: HolderRecord, resume_from: int) -> HeldProcess: ...

    def recorded(self) -> list[str]: ...

    def forget(self, session_id: str) -> None: ...

    def reap_orphan(self, pid: int, start_time: int | None) -> bool: ...


class AdoptionReport(msgspec.Struct):
    adopted: list[str] = msgspec.field(default_factory=list)
    orphaned: list[str] = msgspec.field(default_factory=list)
    released: list[str] = msgspec.field(default_factory=list)
    """Holders of sessions that had already ended: let go."""
    seconds: float = 0.0


def committed_offset(reader: StoreReader, record: HolderRecord) -> tuple[int, int]:
    """``(last seq, byte offset)`` of what the store has of the session's output."""
    session_id = record.identity.session_id
    offset = record.committed_offset
    for event in reader.list_events(session_id, after_seq=record.committed_seq):
        if event.kind == EventKind.OUTPUT:
            data = json.loads(event.payload_json).get("data", "")
            offset += len(data.encode("utf-8", "surrogatepass"))
    return reader.last_seq(session_id), offset


def adopt_sessions(
    writer: StoreWriter,
    reader: StoreReader,
    finder: HolderFinder,
    launcher: Launcher | None,
    instance_id: str,
) -> AdoptionReport:
    """Adopt or orphan every session an earlier daemon left ``running``.

    Runs on the event loop's thread before the API serves (blocking: store reads,
    one connection per holder). Without a ``launcher`` nothing is adopted.
    """
    started = time.monotonic()
    report = AdoptionReport()
    rows = [r for r in reader.running_sessions() if r.daemon_instance != instance_id]
    if launcher is not None:
        # Threads recorded before the restart are taken: no adopted session gets one.
        for row in rows:
            if row.harness == CODEX_HARNESS and row.conversation_id is not None:
                launcher.codex_threads.claim(row.conversation_id)
    reasons: dict[str, list[str]] = {}
    for row in rows:
        reason = _adopt(writer, reader, finder, launcher, instance_id, row)
        if reason is None:
            report.adopted.append(row.id)
        else:
            reasons.setdefault(reason, []).append(row.id)
    for reason, ids in reasons.items():
        writer.submit(lifecycle.orphan(ids, reason)).result()
        report.orphaned.extend(ids)
    # Holders of sessions the store does not call running (a daemon died after recording
    # the exit, before releasing the holder): let them go. Without its files a holder
    # ends what is left of its session and exits.
    live = {row.id for row in rows}
    for session_id in finder.recorded():
        if session_id not in live:
            finder.forget(session_id)
            report.released.append(session_id)
    report.seconds = time.monotonic() - started
    return report


def _adopt(
    writer: StoreWriter,
    reader: StoreReader,
    finder: HolderFinder,
    launcher: Launcher | None,
    instance_id: str,
    row: SessionRow,
) -> str | None:
    """Adopt one session; ``None`` on success, else why it is orphaned."""
    previous = row.daemon_instance or "unknown"
    record = finder.find(row.id) if launcher is not None else None
    why = f"daemon instance {previous} stopped without recording this session's exit"
    if record is not None:
        seq, offset = committed_offset(reader, record)
        try:
            process = finder.adopt(record, offset)
        except CovenError as exc:
            why = (
                f"daemon instance {previous} stopped and the session's holder "
                f"(pid {record.identity.holder_pid}) is gone: {exc.message}"
            )
            log.warning("session %s: %s", row.id, why)
        else:
            assert launcher is not None
            writer.submit(UpdateSession(row.id, {"daemon_instance": instance_id})).result()
            session = launcher.live(
                row.id,
                process,
                record.rows,
                record.cols,
                # Whether a clean exit is `idle` (a client-named conversation) is not
                # recorded: an adopted session's clean exit is `completed`.
                conversation=False,
                byte_base=process.offset,
                committed_seq=seq,
                # The screen as the last daemon left it, so an attach, `coven screen`
                # and the attention detectors see it before the agent next redraws.
                screen_seed=read_tail(reader, row.id)[0],
            )
            if launcher.attention is not None:
                launcher.attention.watch(session, row.harness, row.title)
            _watch_codex_thread(launcher, row, process.pid)
            log.info("adopted session %s from holder %d", row.id, process.holder_pid)
            return None
    killed = row.pid is not None and finder.reap_orphan(row.pid, row.proc_start)
    finder.forget(row.id)
    return why + ("; its leftover processes were killed" if killed else "")


def _watch_codex_thread(launcher: Launcher, row: SessionRow, pid: int) -> None:
    """Look again for the thread id of an adopted Codex session that has none yet.

    Its launch's watch ended with the daemon that launched it; Codex may write its
    rollout file only now (often on its first turn)."""
    if row.harness != CODEX_HARNESS or row.conversation_id is not None or row.cwd is None:
        return
    where = harness_sessions_dir(pid, launcher.env)
    if where is not None:
        launcher.codex_threads.watch(row.id, where, row.cwd, _epoch(row.created_at))


def _epoch(stamp: str) -> float:
    """Seconds since the epoch of an RFC 3339 time the store wrote (now, if unreadable)."""
    try:
        return datetime.fromisoformat(stamp).timestamp()
    except ValueError:
        return time.time()
