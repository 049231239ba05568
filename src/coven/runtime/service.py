"""``Runtime``: the runtime's services wired together over one store and one spawner.

The composition root (``coven.daemon``) builds one ``Runtime`` and hands it to
the API layer, which calls these services with typed values:

* ``launcher`` — start sessions;        * ``control`` — input, kill, resize;
* ``rituals`` / ``external`` — archive, summon, sacrifice; external sessions;
* ``queries`` — sessions, event pages, logs;   * ``attach`` — attach and follow streams;
* ``health`` — the health document;    * ``actions`` — the control-plane action router;
* ``harnesses`` — capability scans;   * ``cockpit`` — familiars, overview, calls, the cast ledger.
* ``work`` — changes, diffs, lanes (merge, discard).
* ``reviews`` — the review state of each session's work.
* ``attention`` — who is waiting: per-session state, hook reports, notifications.
* ``search`` — full-text search over output and titles (indexed in the background).
* ``retention`` — pruning old events, on request and by a background tick.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from coven.harness import HarnessRegistry
from coven.pty import PtyReader
from coven.redaction import Redactor
from coven.runtime.actions import Actions
from coven.runtime.adoption import AdoptionReport, HolderFinder, adopt_sessions
from coven.runtime.attach import AttachService
from coven.runtime.attention import idle_seconds_from
from coven.runtime.attention_service import AttentionService
from coven.runtime.cockpit import Cockpit
from coven.runtime.coven_calls import CovenCalls
from coven.runtime.event_sink import EventSink
from coven.runtime.harness_scan import HarnessCatalog
from coven.runtime.health import HealthReport
from coven.runtime.launcher import Launcher
from coven.runtime.ledger import Ledger
from coven.runtime.live import LiveTable
from coven.runtime.live_control import LiveControl
from coven.runtime.notify import Notifier
from coven.runtime.queries import Queries
from coven.runtime.retention import Retention, RetentionSettings
from coven.runtime.review import Reviews
from coven.runtime.rituals import ExternalSessions, Rituals
from coven.runtime.roster import FamiliarRoster
from coven.runtime.search import SearchService
from coven.runtime.spawner import Spawner
from coven.runtime.work import Work
from coven.schema.home import HomePaths
from coven.schema.meta import DaemonIdentity, VacuumResult
from coven.store import StoreReader, StoreWriter


class Runtime:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        writer: StoreWriter,
        reader: StoreReader,
        *,
        spawner: Spawner,
        home: Path,
        env: dict[str, str],
        instance_id: str,
        daemon: DaemonIdentity,
        redactor: Redactor | None = None,
        user_umask: int | None = None,
    ) -> None:
        self.loop = loop
        self.home = home
        self.ledger = Ledger(loop, writer, reader)
        self.sink = EventSink(self.ledger, redactor or Redactor())
        self.table = LiveTable()
        # One thread drains every PTY master (see coven.pty.reader).
        self.pty_reader = PtyReader(loop.call_soon_threadsafe)

        def registry() -> HarnessRegistry:
            return HarnessRegistry.load(env, home)

        roster = FamiliarRoster(home)
        calls = CovenCalls(home)
        self.reviews = Reviews(self.ledger, self.sink.redactor)
        self.work = Work(
            self.ledger, HomePaths(home).worktrees, env, self.table, self.reviews, user_umask
        )
        self.attention = AttentionService(
            self.ledger, self.sink, self.table, Notifier(home, env), idle_seconds_from(env)
        )
        self.launcher = Launcher(
            self.ledger,
            self.sink,
            self.table,
            spawner,
            self.pty_reader,
            registry,
            home,
            env,
            instance_id,
            roster=roster,
            calls=calls,
            work=self.work,
            attention=self.attention,
        )
        self.control = LiveControl(self.ledger, self.sink, self.table)
        self.rituals = Rituals(self.ledger, self.table, self.work)
        self.external = ExternalSessions(self.ledger, self.sink.redactor, registry, home)
        self.queries = Queries(self.ledger, self.attention.view)
        self.attach = AttachService(self.ledger, self.table)
        self.actions = Actions(self.control, self.rituals, self.work)
        self.harnesses = HarnessCatalog(self.ledger, registry, env)
        self.cockpit = Cockpit(self.ledger, self.sink, home, roster, calls, self.attention.view)
        self.search = SearchService(self.ledger, self.sink.redactor)
        self.search.start()
        self.retention = Retention(
            self.ledger,
            self.search.clean,
            RetentionSettings.from_env(env),
            free_disk=reader.free_disk,
        )
        self.retention.start()
        self.health = HealthReport(self.ledger, self.table, self.sink.drops, daemon, self.retention)

    def adopt(self, finder: HolderFinder, instance_id: str) -> AdoptionReport:
        """Adopt the sessions an earlier daemon left to their holders (before serving)."""
        return adopt_sessions(
            self.ledger.writer, self.ledger.reader, finder, self.launcher, instance_id
        )

    async def check_store(self) -> VacuumResult:
        """The maintenance route, honestly: an integrity check, no VACUUM.

        (VACUUM would stall the single writer for as long as it takes; the full-text
        index is maintained incrementally and never needs a rebuild.)
        """
        rows = await self.ledger.read(self.ledger.reader.integrity_check)
        return VacuumResult(
            eventIndexRebuilt=False, integrityCheck=rows, ok=rows == ["ok"], vacuumed=False
        )

    async def shutdown(self, keep_sessions: bool = False) -> None:
        """Kill every live session (reason "daemon shutdown"), wait for their exits, stop reading.

        With ``keep_sessions`` the sessions served by holders are left running for
        the next daemon (see ``LiveControl.shutdown``)."""
        await self.control.shutdown(keep_sessions)
        await self.retention.close()
        await self.search.close()
        self.launcher.close()
        self.attention.close()
        self.pty_reader.stop()
        self.ledger.close()
