"""The error bodies of ``coven.daemon.v1``.

Every refusal is ``{"error": {"code", "details"?, "message"}}``; the HTTP layer's
own 413 (body too large, refused unread) and 500 (internal error) use the
reference's transport shape ``{"ok": false, "error": {"code", "message"}}``.
``coven.errors.CovenError.envelope()`` is the one place that builds them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec


class ErrorBody(msgspec.Struct, kw_only=True, omit_defaults=True):
    code: Annotated[str, msgspec.Meta(min_length=1)]
    details: dict[str, Any] | None = None
    message: str


class ErrorEnvelope(msgspec.Struct):
    """A refusal with a stable ``code`` clients branch on."""

    error: ErrorBody


class TransportErrorBody(msgspec.Struct):
    code: Literal["payload_too_large", "internal_error"]
    message: str


class TransportError(msgspec.Struct):
    """413 ``payload_too_large`` and 500 ``internal_error`` from the HTTP layer."""

    ok: Literal[False]
    error: TransportErrorBody
