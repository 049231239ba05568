"""Wire types of ``coven.daemon.v1`` shared by the daemon, the client and the CLI.

Leaf package: imports nothing from Coven. Field order matches the reference so
encoded records look the same byte for byte where clients might care.

* ``vocabulary`` — session statuses and event kinds (``StrEnum``), launch options, limits;
* ``wire`` — session and event records, pages, log lines;
* ``meta`` — health, capabilities, actions and the other meta-route bodies;
* ``requests`` — the request bodies (documentation types for the OpenAPI document);
* ``attach`` — the attach stream's control frames;
* ``envelope`` — the error bodies;
* ``home`` — the file layout of ``COVEN_HOME``;
* ``casting``, ``cockpit``, ``familiars`` — the cockpit-facing records (Cast Code
  catalog and ledger, overview, Coven Calls, the empty feature shapes, familiars).
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # not typing's: the CLI's light paths must not pay for it
if TYPE_CHECKING:
    from typing import Any

    from coven.schema.familiars import FamiliarView, is_familiar_id
    from coven.schema.home import HomePaths
    from coven.schema.vocabulary import (
        ACTIVE_STATUSES,
        LIVE_STATUSES,
        MAX_DIMENSION,
        SESSION_STATUSES,
        TERMINAL_STATUSES,
        AttentionSource,
        AttentionState,
        EventKind,
        LaunchMode,
        Permission,
        RedactionStatus,
        ReviewState,
        SessionStatus,
    )
    from coven.schema.wire import (
        API_VERSION,
        Cursor,
        EventRecord,
        EventsPage,
        LogLine,
        SessionRecord,
        SessionsPage,
    )

__all__ = [
    "ACTIVE_STATUSES",
    "API_VERSION",
    "LIVE_STATUSES",
    "MAX_DIMENSION",
    "SESSION_STATUSES",
    "TERMINAL_STATUSES",
    "AttentionSource",
    "AttentionState",
    "Cursor",
    "EventKind",
    "EventRecord",
    "EventsPage",
    "FamiliarView",
    "HomePaths",
    "LaunchMode",
    "LogLine",
    "Permission",
    "RedactionStatus",
    "ReviewState",
    "SessionRecord",
    "SessionStatus",
    "SessionsPage",
    "is_familiar_id",
]

_HOME = {
    "ACTIVE_STATUSES": "vocabulary",
    "API_VERSION": "wire",
    "AttentionSource": "vocabulary",
    "AttentionState": "vocabulary",
    "Cursor": "wire",
    "EventKind": "vocabulary",
    "EventRecord": "wire",
    "EventsPage": "wire",
    "FamiliarView": "familiars",
    "HomePaths": "home",
    "LIVE_STATUSES": "vocabulary",
    "LaunchMode": "vocabulary",
    "LogLine": "wire",
    "MAX_DIMENSION": "vocabulary",
    "Permission": "vocabulary",
    "RedactionStatus": "vocabulary",
    "ReviewState": "vocabulary",
    "SESSION_STATUSES": "vocabulary",
    "SessionRecord": "wire",
    "SessionStatus": "vocabulary",
    "SessionsPage": "wire",
    "TERMINAL_STATUSES": "vocabulary",
    "is_familiar_id": "familiars",
}


def __getattr__(name: str) -> Any:
    """Load each name on first use (PEP 562): ``coven.schema.home`` alone must stay light."""
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'coven.schema' has no attribute {name!r}")
    value = getattr(import_module(f"coven.schema.{module}"), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value
