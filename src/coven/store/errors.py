"""Store-specific refusals (subclasses of ``coven.errors.CovenError``)."""

from __future__ import annotations

from coven.errors import CovenError


class StoreCorrupt(CovenError):
    """The database file is not a SQLite database or is damaged; it was left untouched."""

    code = "store_corrupt"
    status = 500


class StoreIncompatible(CovenError):
    """The database has a schema this version does not manage (foreign or newer)."""

    code = "store_incompatible"
    status = 500


class StoreOpFailed(CovenError):
    """One write op failed on its own (constraint, bad value); the rest of its batch committed."""

    code = "store_op_failed"
    status = 500
