"""Validation of the bodies that act on a live session: input and resize."""

from __future__ import annotations

from coven.authority.fields import bounded_int, require_object
from coven.errors import InvalidRequest
from coven.schema.vocabulary import MAX_DIMENSION


def parse_input(body: object) -> str:
    """The ``data`` string of a ``POST /sessions/:id/input`` body (may be empty).

    Raises ``InvalidRequest`` "input payload requires string field `data`" when
    the body is not an object or ``data`` is missing or not a string. Size limits
    are the runtime's (``InputTooLarge``).
    """
    if not isinstance(body, dict) or not isinstance(body.get("data"), str):
        raise InvalidRequest("input payload requires string field `data`", {"field": "data"})
    data: str = body["data"]
    return data


def parse_resize(body: object) -> tuple[int, int]:
    """``(rows, cols)`` from a resize body; both required integers in ``1..1000``."""
    obj = require_object(body)
    for field in ("rows", "cols"):
        if obj.get(field) is None:
            raise InvalidRequest(
                f"resize payload requires integer field `{field}`", {"field": field}
            )
    rows = bounded_int(obj, "rows", 0, 1, MAX_DIMENSION)
    cols = bounded_int(obj, "cols", 0, 1, MAX_DIMENSION)
    return rows, cols
