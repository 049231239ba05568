"""Typed client library for the Coven daemon (``coven.daemon.v1`` over a Unix socket).

``CovenClient`` is blocking and built on the stdlib only, so importing this
package stays cheap. ``AsyncCovenClient`` (aiohttp) and ``AttachStream`` (asyncio)
are loaded on first access. The exception tree is drawn in
``coven.client.errors``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from coven.client.attach import AttachMessage, AttachState, Exit, Live, Output, Overflow
from coven.client.calls import Health
from coven.client.environment import launch_environment
from coven.client.errors import (
    ActionRejected,
    AmbiguousSessionRef,
    ApiError,
    ApiVersionMismatch,
    AttachStateError,
    AuthorityDenied,
    Conflict,
    CovenClientError,
    DaemonNotRunning,
    DaemonUnsafe,
    HarnessUnavailable,
    PayloadTooLarge,
    ProtocolError,
    RouteNotFound,
    SessionNotFound,
    SessionNotLive,
    StorageUnavailable,
    TransportError,
)
from coven.client.sync import CovenClient, LaunchOptions, default_home
from coven.client.transport import MockTransport, Request, Response, Transport, UnixTransport

if TYPE_CHECKING:
    from coven.client.aio import AsyncCovenClient
    from coven.client.attach_stream import AttachStream

__all__ = [
    "ActionRejected",
    "AmbiguousSessionRef",
    "ApiError",
    "ApiVersionMismatch",
    "AsyncCovenClient",
    "AttachMessage",
    "AttachState",
    "AttachStateError",
    "AttachStream",
    "AuthorityDenied",
    "Conflict",
    "CovenClient",
    "CovenClientError",
    "DaemonNotRunning",
    "DaemonUnsafe",
    "Exit",
    "HarnessUnavailable",
    "Health",
    "LaunchOptions",
    "Live",
    "MockTransport",
    "Output",
    "Overflow",
    "PayloadTooLarge",
    "ProtocolError",
    "Request",
    "Response",
    "RouteNotFound",
    "SessionNotFound",
    "SessionNotLive",
    "StorageUnavailable",
    "Transport",
    "TransportError",
    "UnixTransport",
    "default_home",
    "launch_environment",
]


def __getattr__(name: str) -> Any:
    # aiohttp costs tens of milliseconds to import, asyncio some: only async users pay.
    if name == "AsyncCovenClient":
        from coven.client.aio import AsyncCovenClient

        return AsyncCovenClient
    if name == "AttachStream":
        from coven.client.attach_stream import AttachStream

        return AttachStream
    raise AttributeError(f"module 'coven.client' has no attribute {name!r}")
