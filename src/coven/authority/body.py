"""Decoding request bodies: strict JSON, duplicate keys refused.

A body that cannot be decoded is a 400 ``invalid_request`` with the reference's
message ("failed to parse request body"). Duplicate object keys are refused
rather than resolved last-wins, so a request cannot say two things at once.
"""

from __future__ import annotations

import json
from typing import Any

from coven.errors import InvalidRequest

# The largest request body the daemon reads (the API's, and a launch handed over at
# start-up: coven.daemon.handover).
MAX_BODY = 4 * 1024 * 1024


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def parse_json_body(
    raw: bytes, *, empty: object = None, details: dict[str, Any] | None = None
) -> object:
    """Decode ``raw`` as JSON; an empty (or all-whitespace) body decodes to ``empty``."""
    if not raw.strip():
        return empty
    try:
        text = raw.decode("utf-8")
        return json.loads(text, object_pairs_hook=_pairs)
    except _DuplicateKey as exc:
        raise InvalidRequest(
            f"duplicate key `{exc.key}` in request body", {**(details or {}), "key": exc.key}
        ) from exc
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InvalidRequest("failed to parse request body", details or None) from exc
