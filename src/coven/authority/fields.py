"""Shared field rules for JSON request bodies (labels, typed optional fields)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from coven.errors import InvalidRequest

_LABEL = re.compile(r"[A-Za-z0-9._:-]+")
MAX_LABELS = 16
MAX_LABEL_BYTES = 64


def require_object(body: object) -> Mapping[str, Any]:
    """Return ``body`` if it is a JSON object (a ``dict``), else raise ``InvalidRequest``."""
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    return body


def optional_str(body: Mapping[str, Any], field: str) -> str | None:
    """The string value of ``field``, or ``None`` when absent or ``null``.

    Any other JSON type is refused (the reference silently ignored them).
    """
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(
            f"`{field}` must be a string, got {json_type(value)}", {"field": field}
        )
    return value


def optional_trimmed(body: Mapping[str, Any], field: str) -> str | None:
    """Like ``optional_str`` but trimmed, with blank treated as absent."""
    value = optional_str(body, field)
    if value is None or not value.strip():
        return None
    return value.strip()


def json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def parse_labels(raw: object) -> tuple[str, ...]:
    """Validate ``labels`` (the reference's rules): absent/null → ``()``.

    An array of at most 16 unique strings, each 1 to 64 ASCII bytes of
    ``[A-Za-z0-9._:-]``. Order is preserved. Raises ``InvalidRequest`` with the
    reference's messages.
    """
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidRequest("labels must be an array", {"field": "labels"})
    if len(raw) > MAX_LABELS:
        raise InvalidRequest("labels must contain at most 16 entries", {"field": "labels"})
    seen: set[str] = set()
    for label in raw:
        if not isinstance(label, str):
            raise InvalidRequest("every label must be a string", {"field": "labels"})
        if not label.isascii() or not 1 <= len(label) <= MAX_LABEL_BYTES:
            raise InvalidRequest(
                "every label must contain 1 to 64 ASCII bytes", {"field": "labels"}
            )
        if not _LABEL.fullmatch(label):
            raise InvalidRequest(
                "labels may contain only ASCII alphanumeric characters or . _ : -",
                {"field": "labels"},
            )
        if label in seen:
            raise InvalidRequest("labels must not contain duplicates", {"field": "labels"})
        seen.add(label)
    return tuple(raw)


def bounded_int(body: Mapping[str, Any], field: str, default: int, lo: int, hi: int) -> int:
    """An optional integer field within ``lo..hi`` (booleans and floats refused)."""
    value = body.get(field)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(
            f"`{field}` must be an integer, got {json_type(value)}", {"field": field}
        )
    if not lo <= value <= hi:
        raise InvalidRequest(
            f"`{field}` must be between {lo} and {hi}, got {value}", {"field": field}
        )
    return value
