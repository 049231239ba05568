"""The store: the only code that imports sqlite3.

``open_store(path)`` creates or migrates the database and returns a
``StoreWriter`` (one thread owns every write; group commit) and a
``StoreReader`` (thread-safe reads).
"""

from __future__ import annotations

from coven.store.cast_ops import AppendToAnchor
from coven.store.clock import now_rfc3339
from coven.store.database import SCHEMA_VERSION, initialize
from coven.store.errors import StoreCorrupt, StoreIncompatible, StoreOpFailed
from coven.store.maintenance import RecordPrune
from coven.store.ops import (
    AppendEvents,
    ArchiveSession,
    DeleteSession,
    FinishResult,
    FinishSession,
    InsertSession,
    MarkOrphaned,
    Op,
    UpdateSession,
)
from coven.store.reader import StoreReader
from coven.store.review_ops import ReviewChange, SetReviewState
from coven.store.rows import EventRow, NewEvent, SessionRow, encode_payload
from coven.store.search import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    IndexOutput,
    IndexProgress,
    PruneCandidate,
    PruneSession,
    SearchHit,
    fts_query,
)
from coven.store.writer import StoreWriter, WriterStats

__all__ = [
    "HIGHLIGHT_END",
    "HIGHLIGHT_START",
    "SCHEMA_VERSION",
    "AppendEvents",
    "AppendToAnchor",
    "ArchiveSession",
    "DeleteSession",
    "EventRow",
    "FinishResult",
    "FinishSession",
    "IndexOutput",
    "IndexProgress",
    "InsertSession",
    "MarkOrphaned",
    "NewEvent",
    "Op",
    "PruneCandidate",
    "PruneSession",
    "RecordPrune",
    "ReviewChange",
    "SearchHit",
    "SessionRow",
    "SetReviewState",
    "StoreCorrupt",
    "StoreIncompatible",
    "StoreOpFailed",
    "StoreReader",
    "StoreWriter",
    "UpdateSession",
    "WriterStats",
    "encode_payload",
    "fts_query",
    "now_rfc3339",
    "open_store",
]


def open_store(path: str) -> tuple[StoreWriter, StoreReader]:
    """Create/verify/migrate the database at ``path`` and return its writer and reader.

    The writer is returned **started** (its thread is running); call
    ``writer.stop()`` and ``reader.close()`` at shutdown. Raises ``StoreCorrupt``,
    ``StoreIncompatible`` or ``HomeRefused`` (see ``coven.store.database.initialize``).
    """
    initialize(path)
    writer = StoreWriter(path)
    writer.start()
    return writer, StoreReader(path)
