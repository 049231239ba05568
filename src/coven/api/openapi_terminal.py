"""The terminal routes' part of the OpenAPI document: attach and screen (see ``coven.api.openapi``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from coven.schema import attach as frames

Schema = dict[str, Any]


def terminal_paths(
    ref: Callable[[Any], Schema],
    json: Callable[[Schema, str], Schema],
    op: Callable[..., Schema],
    session: Sequence[Schema],
    after_seq: Schema,
    bad: Schema,
    not_found: Schema,
) -> dict[str, Schema]:
    """``GET /sessions/{sessionId}/attach`` and ``/screen``, with the document's builders."""
    return {
        "/sessions/{sessionId}/attach": {
            "get": op(
                "WebSocket attach: binary output out, input and resize in; text control "
                "frames AttachedFrame, LiveFrame, ExitFrame, OverflowFrame (server) and "
                "ResizeFrame, InputFrame (client)",
                {
                    "101": {"description": "Switching protocols"},
                    "400": bad,
                    "404": not_found,
                },
                parameters=[
                    *session,
                    after_seq,
                    {
                        "name": "replay",
                        "in": "query",
                        "description": "`screen` (default): a live session starts from its "
                        "current screen; `raw`: the whole output log",
                        "schema": {"type": "string", "enum": ["screen", "raw"]},
                    },
                    {
                        "name": "history",
                        "in": "query",
                        "description": "Scrollback lines sent above the screen (default 100)",
                        "schema": {"type": "integer", "minimum": 0, "maximum": 10000},
                    },
                ],
            )
        },
        "/sessions/{sessionId}/screen": {
            "get": op(
                "A session's screen as text (`ansi=true` for colours); an ended session's "
                "final screen, rebuilt from its stored output (`live: false`)",
                {
                    "200": json(ref(frames.ScreenView), "Screen"),
                    "400": bad,
                    "404": not_found,
                },
                parameters=[
                    *session,
                    {
                        "name": "ansi",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["true", "false"]},
                    },
                    {
                        "name": "history",
                        "in": "query",
                        "description": "Scrollback lines above the screen (default 0)",
                        "schema": {"type": "integer", "minimum": 0, "maximum": 10000},
                    },
                ],
            )
        },
    }
