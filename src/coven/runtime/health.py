"""The health document and the capability catalog."""

from __future__ import annotations

import time
from typing import Literal

from coven import __version__
from coven.runtime.ledger import Ledger
from coven.runtime.live import LiveTable
from coven.runtime.output import DropStats
from coven.runtime.retention import LOW_FREE_DISK_BYTES, MIN_FREE_DISK_BYTES, Retention, age_seconds
from coven.schema.meta import (
    Capability,
    CapabilityCatalog,
    CapabilityFlags,
    DaemonIdentity,
    EventWriterHealth,
    Health,
    HubStatus,
    StorageHealth,
)

REFRESH = "coven.capabilities.refresh"
ARCHIVE = "coven.sessions.archive"
SUMMON = "coven.sessions.summon"
SACRIFICE = "coven.sessions.sacrifice"
KILL = "coven.sessions.kill"
MERGE = "coven.sessions.merge"
DISCARD = "coven.sessions.discard"

CATALOG = CapabilityCatalog(
    [
        Capability(
            "coven.sessions", "Project-scoped harness sessions", "coven-daemon", "available",
            "allow", [],
        ),
        Capability(
            "coven.control.actions", "Coven control-plane action router", "coven-daemon",
            "available", "allow", [REFRESH],
        ),
        Capability(
            "coven.rituals", "Archive and summon sessions", "coven-daemon", "available",
            "allow", [ARCHIVE, SUMMON],
        ),
        Capability(
            "coven.rituals.destructive", "Kill live sessions and sacrifice finished ones",
            "coven-daemon", "available", "requiresApproval", [KILL, SACRIFICE],
        ),
        Capability(
            "coven.lanes", "Merge or discard a session's lane (its git worktree)",
            "coven-daemon", "available", "requiresApproval", [MERGE, DISCARD],
        ),
    ]
)  # fmt: skip
FLAGS = CapabilityFlags()


StorageStatus = Literal["ok", "warning", "critical", "degraded"]


def storage_status(writer_state: str, free_disk: int | None) -> StorageStatus:
    """``degraded`` while the writer cannot commit, else by free disk (see ``StorageHealth``)."""
    if writer_state != "healthy":
        return "degraded"
    if free_disk is not None and free_disk < MIN_FREE_DISK_BYTES:
        return "critical"
    if free_disk is not None and free_disk < LOW_FREE_DISK_BYTES:
        return "warning"
    return "ok"


class HealthReport:
    """Builds ``GET /health``; disk figures are refreshed at most once a second (health is hot)."""

    def __init__(
        self,
        ledger: Ledger,
        table: LiveTable,
        drops: DropStats,
        daemon: DaemonIdentity,
        retention: Retention,
    ) -> None:
        self.ledger = ledger
        self.table = table
        self.drops = drops
        self.daemon = daemon
        self.retention = retention
        self._disk_checked = 0.0
        self._disk: dict[str, int | None] = {}

    def _disk_stats(self) -> dict[str, int | None]:
        now = time.monotonic()
        if now - self._disk_checked > 1.0:
            self._disk = self.ledger.reader.stats()
            # The reading the prune tick uses, so health and the tick never disagree.
            self._disk["free_disk_bytes"] = self.retention.free_disk()
            self._disk_checked = now
        return self._disk

    def document(self) -> Health:
        stats = self.ledger.writer.stats()
        disk = self._disk_stats()
        free = disk.get("free_disk_bytes")
        last_prune = self.retention.last_prune_at
        storage = StorageHealth(
            databaseBytes=disk.get("database_bytes") or 0,
            walBytes=disk.get("wal_bytes") or 0,
            freeDiskBytes=free,
            status=storage_status(stats.state, free),
            writerBacklogEvents=stats.queued_ops,
            writerBacklogBytes=stats.queued_bytes,
            lastPruneAt=last_prune,
            pruneAgeSeconds=age_seconds(last_prune),
            maintenanceBlocked=free is not None and free < MIN_FREE_DISK_BYTES,
        )
        writer = EventWriterHealth(
            state=stats.state,
            queuedEvents=stats.queued_ops,
            queuedBytes=stats.queued_bytes,
            droppedOutputEvents=self.drops.events,
            droppedOutputBytes=self.drops.bytes,
            transactions=stats.transactions,
            committedEvents=stats.committed_events,
            lastCommitAt=stats.last_commit_at,
            lastError=stats.last_error or None,
            degradedSince=stats.degraded_since or None,
        )
        return Health(
            ok=True,
            apiVersion="coven.daemon.v1",
            covenVersion=__version__,
            capabilities=FLAGS,
            daemon=self.daemon,
            hub=HubStatus(),
            eventWriter=writer,
            storage=storage,
            liveSessions=len(self.table),
        )
