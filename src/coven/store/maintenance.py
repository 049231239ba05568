"""The store's maintenance record: when it was last pruned (kept across restarts)."""

from __future__ import annotations

import sqlite3

import msgspec

from coven.store.ops import Op


def last_prune_at(conn: sqlite3.Connection) -> str | None:
    """When events were last pruned (an RFC 3339 store timestamp), or None: never."""
    row = conn.execute("SELECT last_prune_at FROM maintenance_state WHERE id = 1").fetchone()
    return None if row is None or row[0] is None else str(row[0])


class RecordPrune(msgspec.Struct, Op[None], frozen=True):
    """Remember that a prune finished at ``at`` (a store timestamp)."""

    at: str

    def apply(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO maintenance_state (id, last_prune_at) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET last_prune_at = excluded.last_prune_at",
            (self.at,),
        )
