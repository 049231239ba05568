"""Session references: a full id or a unique prefix."""

from __future__ import annotations

from collections.abc import Iterable

from coven import errors as codes
from coven.client.errors import AmbiguousSessionRef, SessionNotFound
from coven.schema.wire import SessionRecord


def ref_not_found(ref: str) -> SessionNotFound:
    """The reference's own "not found" sentence, as a ``SessionNotFound``."""
    return SessionNotFound(
        codes.SessionNotFound.status,
        codes.SessionNotFound.code,
        f"session `{ref}` not found; run `coven sessions --all` to list session ids",
        {"sessionId": ref},
    )


def match_session_ref(ref: str, sessions: Iterable[SessionRecord]) -> SessionRecord:
    """Pick the session ``ref`` names among ``sessions`` (archived ones included by the caller).

    An exact id wins over prefixes; otherwise exactly one id must start with ``ref``.
    Raises ``SessionNotFound`` (no match, or ``ref`` empty) or ``AmbiguousSessionRef``.
    """
    if not ref:
        raise ref_not_found(ref)
    matches: list[SessionRecord] = []
    for record in sessions:
        if record.id == ref:
            return record
        if record.id.startswith(ref):
            matches.append(record)
    if not matches:
        raise ref_not_found(ref)
    if len(matches) > 1:
        raise AmbiguousSessionRef(ref, sorted(r.id for r in matches))
    return matches[0]
