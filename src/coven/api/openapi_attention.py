"""The attention route's part of the OpenAPI document (see ``coven.api.openapi``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coven.schema import attention

Schema = dict[str, Any]

TYPES: tuple[Any, ...] = (attention.AttentionReport, attention.AttentionNow)


def attention_paths(
    ref: Callable[[Any], Schema],
    json: Callable[[Schema, str], Schema],
    error: Callable[[str], Schema],
    session_post: Callable[..., Schema],
) -> dict[str, Schema]:
    """``POST /sessions/{sessionId}/attention``, with the document's own builders passed in."""
    return {
        "/sessions/{sessionId}/attention": session_post(
            "A harness hook reports the live session's attention (`coven hook` sends it)",
            {"200": json(ref(attention.AttentionNow), "Applied")},
            attention.AttentionReport,
            **{"400": error("`invalid_request`"), "409": error("`session_not_live`")},
        )
    }
