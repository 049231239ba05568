"""Bodies of the daemon's meta routes: health, version, capabilities, actions, maintenance."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from coven.schema.wire import API_VERSION


class DaemonIdentity(msgspec.Struct):
    """Which daemon process answers; also what a shutdown request must name."""

    pid: int
    startedAt: str
    socket: str


class CapabilityFlags(msgspec.Struct):
    """The health document's feature flags: the 16 documented ones, then ours (additive)."""

    sessions: bool = True
    events: bool = True
    travel: bool = False
    scheduler: bool = False
    hub: bool = False
    executorDispatch: bool = False
    eventCursor: Literal["sequence"] = "sequence"
    structuredErrors: bool = True
    sessionHandoff: bool = False
    sessionLaunchPolicy: bool = False
    afs: bool = False
    afsMount: bool = False
    afsCommit: bool = False
    afsCommitDryRun: bool = False
    executionBindingContracts: list[str] = msgspec.field(default_factory=list)
    requestAdoptionContracts: list[str] = msgspec.field(default_factory=list)
    # The reference's 17th flag. Empty: this daemon serves no restricted-launch route.
    sessionPolicyContracts: list[str] = msgspec.field(default_factory=list)
    attach: Literal["websocket"] = "websocket"
    follow: Literal["ndjson"] = "ndjson"
    rituals: bool = True
    resize: bool = True
    externalSessions: bool = True
    # POST /sessions takes `environment`: the session runs in the client's environment.
    launchEnvironment: bool = True
    # Attach shows the live screen by default (`replay=raw` for the log, `history=N`).
    attachScreen: bool = True
    # GET /sessions/:id/screen: the live session's current screen as text.
    screen: bool = True
    # GET /harnesses: which harnesses a launch would find, and why not.
    harnessAvailability: bool = True
    openapi: str = "/api/v1/openapi.json"
    # Cockpit surface: served for real ...
    familiars: bool = True
    castCodes: bool = True
    castLedger: bool = True
    covenCalls: bool = True
    overview: bool = True
    # ... and answered with empty shapes only (the features do not exist here).
    skills: bool = False
    memory: bool = False
    research: bool = False
    threads: bool = False

    changes: bool = True
    """``GET /sessions/:id/changes`` and ``/diff``; records carry git_root, base_commit, base_branch."""
    lanes: bool = True
    """Launch ``isolation: "worktree"``; ``POST /sessions/:id/merge`` and ``/discard``."""
    conversationResume: bool = True
    """``conversation: {mode: "resume", id}`` may name a Coven session; records carry ``continues``."""
    review: bool = True
    """``POST /sessions/:id/review``; records carry ``review_state``; ``review`` events."""
    attention: bool = True
    """Records carry ``attention``/``attention_reason``/``attention_since``; ``attention``
    events; ``POST /sessions/:id/attention`` takes a harness hook's report."""
    search: bool = True
    """``GET /search?q=``: full-text search over session output and titles."""
    storePrune: bool = True
    """``POST /store/prune``: delete old events of sessions that are not live."""


class HubStatus(msgspec.Struct):
    """The health document's ``hub`` block, honestly: a standalone daemon, no hub, no nodes.

    The reference answers ``role: "hub"`` with a hub id; this daemon coordinates
    no other hosts, so ``role`` is ``standalone`` and ``hubId`` is null.
    """

    role: Literal["standalone"] = "standalone"
    hubId: str | None = None
    nodesTotal: int = 0
    nodesAvailable: int = 0


class EventWriterHealth(msgspec.Struct, omit_defaults=True):
    """The store writer as health reports it; ``lastError``/``degradedSince`` only when set."""

    state: str
    queuedEvents: int
    queuedBytes: int
    droppedOutputEvents: int
    droppedOutputBytes: int
    transactions: int
    committedEvents: int
    lastCommitAt: str | None
    lastError: str | None = None
    degradedSince: str | None = None


class StorageHealth(msgspec.Struct):
    """Database and disk figures.

    ``status``: ``degraded`` while the writer cannot commit; else ``critical`` under
    256 MiB of free disk on the home filesystem (automatic pruning is then skipped:
    ``maintenanceBlocked``), ``warning`` under 1 GiB, else ``ok``. ``lastPruneAt`` is
    when old events were last pruned (by the background tick or a request; null:
    never), ``pruneAgeSeconds`` how long ago.
    """

    databaseBytes: int
    walBytes: int
    freeDiskBytes: int | None
    status: Literal["ok", "warning", "critical", "degraded"]
    writerBacklogEvents: int
    writerBacklogBytes: int
    lastPruneAt: str | None = None
    pruneAgeSeconds: int | None = None
    maintenanceBlocked: bool = False


class Health(msgspec.Struct):
    """``GET /health``: the handshake every client starts with."""

    ok: Literal[True]
    apiVersion: Literal["coven.daemon.v1"]
    covenVersion: str
    capabilities: CapabilityFlags
    daemon: DaemonIdentity | None
    hub: HubStatus
    eventWriter: EventWriterHealth
    storage: StorageHealth
    liveSessions: int


class ApiVersionInfo(msgspec.Struct):
    """``GET /api-version``: the route family this daemon serves."""

    apiVersion: str = "v1"
    supportedApiVersions: list[str] = msgspec.field(default_factory=lambda: ["v1"])


class Capability(msgspec.Struct):
    """One entry of the control-plane capability catalog."""

    id: str
    label: str
    adapter: str
    status: Literal["available", "planned"]
    policy: Literal["allow", "requiresApproval"]
    actions: list[str]


class CapabilityCatalog(msgspec.Struct):
    """``GET /capabilities``."""

    capabilities: list[Capability]


class InstructionsFile(msgspec.Struct, omit_defaults=True):
    """A harness's global instructions file; ``path``/``byte_count`` only when present."""

    present: bool
    path: str | None = None
    byte_count: int | None = None


class ScanWarning(msgspec.Struct):
    """Something a harness scan could not tell."""

    kind: str
    path: str | None
    message: str


class HarnessScan(msgspec.Struct):
    """``GET /capabilities/:harnessId``: what is known without running the harness."""

    harness_id: str
    scanned_at: str
    global_instructions: InstructionsFile
    skills: list[Any]
    plugins: list[Any]
    warnings: list[ScanWarning]


class HarnessScans(msgspec.Struct):
    """``GET /capabilities/harnesses``."""

    coven_skills: list[Any]
    harness_capabilities: list[HarnessScan]
    scanned_at: str


class HarnessAvailability(msgspec.Struct, omit_defaults=True):
    """One configured harness and whether a launch would find its executable.

    ``reason`` (only when not available) says why, with the adapter's install hint.
    """

    id: str
    label: str
    source: str
    executable: str
    available: bool
    reason: str | None = None


class HarnessList(msgspec.Struct):
    """``GET /harnesses``: the harness picker's source, in registry order."""

    harnesses: list[HarnessAvailability]


class ActionEvent(msgspec.Struct, omit_defaults=True):
    """What a completed control-plane action did."""

    kind: str
    action: str
    origin: str | None = None
    intentId: str | None = None
    payload: dict[str, Any] = msgspec.field(default_factory=dict)


class ActionResult(msgspec.Struct, omit_defaults=True):
    """``POST /actions``: success (with ``event``) or the non-envelope rejection."""

    ok: bool
    accepted: bool
    action: str
    status: Literal["completed", "rejected"]
    reason: str | None = None
    code: str | None = None
    event: ActionEvent | None = None


class Accepted(msgspec.Struct, omit_defaults=True):
    """202 of input/kill/resize; ``recorded: false`` when input was delivered unrecorded."""

    accepted: Literal[True]
    ok: Literal[True]
    recorded: bool | None = None


class SacrificeResult(msgspec.Struct):
    """The session and its events are gone."""

    ok: bool
    sessionId: str


class VacuumResult(msgspec.Struct):
    """``POST /store/vacuum``: an integrity check (no VACUUM is run)."""

    eventIndexRebuilt: bool
    integrityCheck: list[str]
    ok: bool
    vacuumed: bool


class ShutdownCapabilities(msgspec.Struct):
    structuredErrors: bool = True


class ShutdownAccepted(msgspec.Struct):
    """202 of the internal shutdown route: the daemon is stopping."""

    ok: Literal[True]
    apiVersion: str
    capabilities: ShutdownCapabilities
    daemon: DaemonIdentity


def shutdown_accepted(daemon: DaemonIdentity) -> ShutdownAccepted:
    return ShutdownAccepted(True, API_VERSION, ShutdownCapabilities(), daemon)
