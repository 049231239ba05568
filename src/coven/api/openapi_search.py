"""The search and prune routes' part of the OpenAPI document (see ``coven.api.openapi``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coven.schema import search

Schema = dict[str, Any]

TYPES: tuple[Any, ...] = (search.SearchResult, search.PruneBody, search.PruneResult)


def search_paths(
    ref: Callable[[Any], Schema],
    json: Callable[[Schema, str], Schema],
    op: Callable[..., Schema],
    query: Callable[..., Schema],
    body: Callable[..., Schema],
    error: Callable[[str], Schema],
    too_large: Schema,
) -> dict[str, Schema]:
    """``GET /search`` and ``POST /store/prune``, with the document's own builders passed in."""
    bad = error("`invalid_request`")
    unavailable = error("`storage_unavailable` or `daemon_shutting_down`")
    return {
        "/search": {
            "get": op(
                "Full-text search over session output and titles, best first",
                {"200": json(ref(search.SearchResult), "Hits"), "400": bad},
                parameters=[
                    {
                        "name": "q",
                        "in": "query",
                        "required": True,
                        "description": "Words (percent-encoded, `+` for space); all must match. "
                        "A trailing `*` matches a prefix.",
                        "schema": {"type": "string"},
                    },
                    query(
                        "limit",
                        f"1..{search.SEARCH_MAX_LIMIT}, default {search.SEARCH_DEFAULT_LIMIT}.",
                        {"type": "integer"},
                    ),
                ],
            )
        },
        "/store/prune": {
            "post": op(
                "Delete events older than `eventDays` of sessions that are not live",
                {
                    "200": json(ref(search.PruneResult), "Deleted (or, dry run, would delete)"),
                    "400": bad,
                    "413": too_large,
                    "503": unavailable,
                },
                requestBody=body(search.PruneBody, required=False),
            )
        },
    }
