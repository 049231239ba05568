"""Validation of the lifecycle shutdown body (``POST /api/v1/internal/lifecycle/shutdown``).

The body is a closed object ``{"apiVersion": "coven.daemon.v1", "daemon": {...}}``
whose ``daemon`` is a copy of the daemon's status document. Refusals follow the
wire contract other CLIs rely on: a missing body, an unknown or missing member
or a wrong JSON type is a 400 ``invalid_request``; a well-formed request that
names another daemon or API version is a 409 ``daemon_identity_mismatch``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from coven.errors import DaemonIdentityMismatch, InvalidRequest

#: The largest shutdown body accepted (checked against Content-Length before reading).
SHUTDOWN_BODY_LIMIT = 16 * 1024
_MEMBERS = ("apiVersion", "daemon")


class ShutdownRequest(msgspec.Struct, frozen=True):
    """A well-formed shutdown request; ``require_names`` decides whether it is for us."""

    api_version: str
    daemon: dict[str, Any]

    def require_names(self, api_version: str, daemon: dict[str, Any]) -> None:
        """Raise ``DaemonIdentityMismatch`` unless the request names exactly this daemon."""
        if self.api_version != api_version or self.daemon != daemon:
            raise DaemonIdentityMismatch("Shutdown request does not name this daemon.")


def _invalid(reason: str) -> InvalidRequest:
    return InvalidRequest(f"invalid daemon shutdown request: {reason}")


def parse_shutdown(body: object) -> ShutdownRequest:
    """Check the decoded body (``None`` when empty); raise ``InvalidRequest`` naming the fault."""
    if body is None:
        raise InvalidRequest("daemon shutdown request body is required")
    if not isinstance(body, dict):
        raise _invalid("expected an object")
    for key in body:
        if key not in _MEMBERS:
            raise _invalid(f"unknown field `{key}`, expected `apiVersion` or `daemon`")
    for key in _MEMBERS:
        if key not in body:
            raise _invalid(f"missing field `{key}`")
    api_version, daemon = body["apiVersion"], body["daemon"]
    if not isinstance(api_version, str):
        raise _invalid("invalid type for `apiVersion`, expected a string")
    if not isinstance(daemon, dict):
        raise _invalid("invalid type for `daemon`, expected an object")
    return ShutdownRequest(api_version, daemon)
