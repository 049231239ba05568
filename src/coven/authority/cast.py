"""Validation of ``POST /api/v1/cast`` bodies: a code to record, never to obey.

The daemon does not parse the code's grammar here; the cast ledger only
records what a client cast. Rules and messages are the reference's.
"""

from __future__ import annotations

import msgspec

from coven.errors import InvalidRequest

_NEEDS_CODE = "request body requires string field `code`"


class CastSubmission(msgspec.Struct, frozen=True):
    """A cast to record: the trimmed ``code`` and, if one was named, a ``target`` session id."""

    code: str
    target: str | None


def parse_cast(body: object) -> CastSubmission:
    """Validate a decoded ``POST /cast`` body (an empty body should arrive as ``{}``).

    ``code`` must be a string that is not blank; it is stored trimmed. A
    non-empty string ``target`` is a session id taken verbatim; an empty
    string, ``null``, another type or no ``target`` at all means untargeted.
    A body that is not an object fails like a missing ``code``.
    """
    if not isinstance(body, dict):
        raise InvalidRequest(_NEEDS_CODE, {"field": "code"})
    code = body.get("code")
    if not isinstance(code, str) or not code.strip():
        raise InvalidRequest(_NEEDS_CODE, {"field": "code"})
    target = body.get("target")
    return CastSubmission(
        code=code.strip(), target=target if isinstance(target, str) and target else None
    )
