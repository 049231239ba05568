"""Wire types of ``coven.daemon.v1`` shared by the daemon, the client and the CLI.

Leaf package: imports nothing from Coven. Field order matches the reference so
encoded records look the same byte for byte where clients might care.
``schema.casting`` (Cast Code catalog and ledger), ``schema.cockpit`` (overview,
Coven Calls, the empty feature shapes) and ``schema.familiars`` hold the
cockpit-facing records.
"""

from coven.schema.familiars import FamiliarView, is_familiar_id
from coven.schema.wire import (
    API_VERSION,
    LIVE_STATUSES,
    SESSION_STATUSES,
    TERMINAL_STATUSES,
    EventRecord,
    EventsPage,
    LogLine,
    SessionRecord,
    SessionsPage,
)

__all__ = [
    "API_VERSION",
    "LIVE_STATUSES",
    "SESSION_STATUSES",
    "TERMINAL_STATUSES",
    "EventRecord",
    "EventsPage",
    "FamiliarView",
    "LogLine",
    "SessionRecord",
    "SessionsPage",
    "is_familiar_id",
]
