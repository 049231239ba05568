"""Validation of ``POST /api/v1/familiars`` bodies: one new roster entry.

The body uses the roster's own key names (``id``, ``display_name``, ``role``,
``description`` required; ``harness``, ``model``, ``instructions`` and the
reference's presentation keys optional), every value a string. Unknown keys
are refused, as the roster refuses them. The rules that depend on the whole
roster (a taken id) and the per-field rules (id charset, harness id) are
applied by ``add_familiar`` when the daemon writes the file.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from coven.authority.familiars import KNOWN_KEYS, Familiar
from coven.errors import InvalidRequest

REQUIRED = ("id", "display_name", "role", "description")


def parse_familiar_body(body: object) -> Familiar:
    """A ``Familiar`` from a decoded body, or ``InvalidRequest`` naming the field."""
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    for key in body:
        if key not in KNOWN_KEYS:
            raise InvalidRequest(
                f"unknown familiar field `{key}` (known: {', '.join(sorted(KNOWN_KEYS))})",
                {"field": key},
            )
    for key in REQUIRED:
        if key not in body:
            raise InvalidRequest(f"request body requires string field `{key}`", {"field": key})
    values: dict[str, str] = {}
    for key, value in body.items():
        if value is None and key not in REQUIRED:
            continue
        if not isinstance(value, str):
            raise InvalidRequest(f"`{key}` must be a string", {"field": key})
        values[key] = value
    names = {f.name for f in fields(Familiar)} - {"line"}
    known: dict[str, Any] = {k: v for k, v in values.items() if k in names}
    return Familiar(**known)
