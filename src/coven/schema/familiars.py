"""Familiar ids and the familiar record of ``GET /api/v1/familiars``.

The id rule is shared by the roster (``familiars.toml``), the Cast Code
grammar and launch validation, so one spelling means one familiar everywhere.
"""

from __future__ import annotations

import re

import msgspec

MAX_FAMILIAR_ID_LENGTH = 64
FAMILIAR_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_FAMILIAR_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_FAMILIAR_ID_LENGTH}}}")

# Words the Cast Code grammar gives a meaning (``~delegate:x``, ``~broadcast *``,
# ``~^ resume``, ``~<handoff``). A familiar with one of these ids could not be
# named unambiguously in a code, so the roster refuses them in any letter case.
RESERVED_FAMILIAR_IDS = frozenset({"delegate", "broadcast", "resume", "handoff"})

# ``status`` of a familiar record: ``online`` while at least one of its sessions is live.
FAMILIAR_ONLINE = "online"
FAMILIAR_OFFLINE = "offline"


def is_familiar_id(value: str) -> bool:
    """True for 1-64 ASCII letters, digits, ``_`` or ``-`` that are not a reserved word.

    Ids are case-sensitive (``Sage`` and ``sage`` are two familiars), but the
    reserved words are refused in every case.
    """
    return bool(_FAMILIAR_ID.fullmatch(value)) and value.lower() not in RESERVED_FAMILIAR_IDS


class FamiliarView(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One familiar as ``GET /api/v1/familiars`` lists it (a bare JSON array of these).

    Field order and names follow the reference daemon, whose optional keys
    (``icon``, ``pronouns``, ``active_channel``, ``workspace``) are left out
    when unset. ``status``, ``active_sessions`` and ``last_seen`` are live
    values here (the reference always sent ``offline``, ``0`` and a dash):
    ``last_seen`` is the RFC 3339 time of the familiar's most recent session
    activity, or ``null`` when it never ran. ``memory_freshness`` is ``null``
    because this daemon keeps no familiar memory. ``harness`` and ``model``
    are additive: the roster's defaults for the familiar's launches.
    """

    id: str
    name: str
    display_name: str
    emoji: str
    icon: str | None = None
    role: str
    description: str
    pronouns: str | None = None
    status: str
    active_channel: str | None = None
    last_seen: str | None
    active_sessions: int
    memory_freshness: str | None
    workspace: str | None = None
    harness: str | None = None
    model: str | None = None


class FamiliarRemoved(msgspec.Struct, kw_only=True):
    """``DELETE /api/v1/familiars/:id``: the roster no longer declares ``removed``."""

    ok: bool = True
    removed: str
