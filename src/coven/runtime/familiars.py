"""Live familiar state for the cockpit reads: roster + session records in, wire records out.

Pure functions; the caller supplies the parsed roster and the session records
(any order). A familiar is ``online`` while at least one of its sessions is
live; ``last_seen`` is the latest ``updated_at`` of any of its sessions.
"""

from __future__ import annotations

from collections.abc import Iterable

from coven.authority.familiars import Familiar, Roster
from coven.schema import LIVE_STATUSES, SessionRecord
from coven.schema.cockpit import Overview
from coven.schema.familiars import FAMILIAR_OFFLINE, FAMILIAR_ONLINE, FamiliarView


def familiar_views(roster: Roster, sessions: Iterable[SessionRecord]) -> list[FamiliarView]:
    """``GET /api/v1/familiars``: every roster familiar, in roster order."""
    live: dict[str, int] = {}
    last_seen: dict[str, str] = {}
    for session in sessions:
        familiar_id = session.familiar_id
        if familiar_id is None:
            continue
        if session.status in LIVE_STATUSES:
            live[familiar_id] = live.get(familiar_id, 0) + 1
        # RFC 3339 UTC strings of one format order the same as the times they name.
        if session.updated_at > last_seen.get(familiar_id, ""):
            last_seen[familiar_id] = session.updated_at
    return [_view(f, live.get(f.id, 0), last_seen.get(f.id)) for f in roster.familiars]


def overview(roster: Roster, sessions: Iterable[SessionRecord]) -> Overview:
    """``GET /api/v1/overview``: live sessions, and roster familiars with one."""
    open_sessions = 0
    active: set[str] = set()
    declared = set(roster.ids)
    for session in sessions:
        if session.status not in LIVE_STATUSES:
            continue
        open_sessions += 1
        if session.familiar_id in declared:
            active.add(session.familiar_id)
    return Overview(
        active_familiars=len(active),
        total_familiars=len(roster.familiars),
        open_sessions=open_sessions,
    )


def _view(familiar: Familiar, active_sessions: int, last_seen: str | None) -> FamiliarView:
    icon = familiar.icon.strip() if familiar.icon else None
    return FamiliarView(
        id=familiar.id,
        name=familiar.name or familiar.id,
        display_name=familiar.display_name,
        emoji=familiar.emoji or "",
        icon=icon or None,
        role=familiar.role,
        description=familiar.description,
        pronouns=familiar.pronouns,
        status=FAMILIAR_ONLINE if active_sessions else FAMILIAR_OFFLINE,
        active_channel=familiar.active_channel,
        last_seen=last_seen,
        active_sessions=active_sessions,
        memory_freshness=None,
        workspace=familiar.workspace,
        harness=familiar.harness,
        model=familiar.model,
    )
