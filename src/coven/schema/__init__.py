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
