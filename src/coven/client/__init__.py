"""Typed client library for the Coven daemon (``coven.daemon.v1`` over a Unix socket).

``CovenClient`` is blocking and built on the stdlib only; ``AsyncCovenClient``
needs aiohttp and ``AttachStream`` asyncio. Every name is loaded on first use
(PEP 562), so importing one light submodule — ``coven attach`` reads its first
screen with ``ws_frames`` and ``safety`` before anything else — costs only that
submodule. The exception tree is drawn in ``coven.client.errors``.
"""

from __future__ import annotations

from importlib import import_module

TYPE_CHECKING = False  # not typing's: importing typing costs `coven attach`'s first screen
if TYPE_CHECKING:
    from typing import Any

    from coven.client.aio import AsyncCovenClient
    from coven.client.attach import AttachMessage, AttachState, Exit, Live, Output, Overflow
    from coven.client.attach_stream import AttachStream
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


_HOME = {
    "AsyncCovenClient": "aio",
    "AttachStream": "attach_stream",
    "Health": "calls",
    "launch_environment": "environment",
    "CovenClient": "sync",
    "LaunchOptions": "sync",
    "default_home": "sync",
    **dict.fromkeys(
        ("AttachMessage", "AttachState", "Exit", "Live", "Output", "Overflow"), "attach"
    ),
    **dict.fromkeys(
        ("MockTransport", "Request", "Response", "Transport", "UnixTransport"), "transport"
    ),
}


def __getattr__(name: str) -> Any:
    if name in __all__:
        module = import_module(f"coven.client.{_HOME.get(name, 'errors')}")
        value = getattr(module, name)
        globals()[name] = value  # once: later lookups are plain attribute reads
        return value
    raise AttributeError(f"module 'coven.client' has no attribute {name!r}")
