"""Exceptions raised by the Coven client.

Every failure a caller can see is a ``CovenClientError``. Lower-layer errors
(``OSError``, ``http.client`` and aiohttp exceptions, msgspec decode errors)
are mapped to the most specific class below with ``raise ... from exc``, so the
original cause stays available as ``__cause__``.

    CovenClientError
    ├── DaemonNotRunning        socket missing, ENOENT, ECONNREFUSED
    ├── DaemonUnsafe            home/socket symlinked, foreign-owned, group/other bits, peer uid
    ├── TransportError          other socket failures: timeouts, resets mid-response
    ├── ApiVersionMismatch      health gate failed, or the daemon refused the /api/v1 prefix
    ├── ProtocolError           a response the client cannot parse or that breaks the contract
    ├── AmbiguousSessionRef     a session prefix matched several sessions
    ├── AttachStateError        an attach stream used in a state that does not allow it
    ├── ActionRejected          POST /actions answered with its own rejection shape
    ├── HostsFileInvalid        hosts.toml cannot be read or breaks its rules (file and line)
    ├── RemoteHostError         reaching a daemon on another machine (``--host``) failed
    │   ├── InvalidHostTarget   not ``ssh://[user@]host[:port]`` nor a name in hosts.toml
    │   ├── SshUnavailable      no OpenSSH client to run
    │   ├── SshFailed           ssh could not connect, log in, or forward (``kind`` says which)
    │   ├── RemoteCovenMissing  ``coven`` is not on the remote PATH of ssh commands
    │   └── RemoteDaemonNotRunning  the remote machine has no daemon answering
    └── ApiError                the daemon refused: ``status``, ``code``, ``message``, ``details``
        ├── SessionNotFound     404 session_not_found
        ├── SessionNotLive      409 session_not_live
        ├── AuthorityDenied     400 invalid_request and the other validation refusals (400/403)
        ├── HarnessUnavailable  404 harness_not_found
        ├── RouteNotFound       404 not_found (e.g. an additive route on an older daemon)
        ├── Conflict            every other 409, and 422 refusals tied to the session's kind
        ├── PayloadTooLarge     413 payload_too_large / input_too_large / event_response_too_large
        └── StorageUnavailable  503 storage_unavailable (and any other 503)

Callers should branch on the class (or on ``ApiError.code``), never on message text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class CovenClientError(Exception):
    """Base of every error the client raises."""


class DaemonNotRunning(CovenClientError):
    """No daemon answers on the socket; the remedy is ``coven daemon start``."""

    def __init__(self, socket_path: str, reason: str) -> None:
        super().__init__(
            f"the Coven daemon is not running ({reason} at {socket_path}); run `coven daemon start`"
        )
        self.socket_path = socket_path
        self.reason = reason


class DaemonUnsafe(CovenClientError):
    """The home directory, socket or peer failed the same-user trust checks; nothing was sent."""


class TransportError(CovenClientError):
    """The socket failed in a way that does not mean "not running" (timeout, reset, EOF)."""


class ApiVersionMismatch(CovenClientError):
    """The daemon does not speak ``coven.daemon.v1`` with the capabilities the client needs."""


class ProtocolError(CovenClientError):
    """The daemon's response could not be parsed or violates the wire contract."""


class AttachStateError(CovenClientError):
    """An attach stream operation is not allowed in the stream's current state."""


class AmbiguousSessionRef(CovenClientError):
    """A session reference is a prefix of several session ids; ``matches`` lists them all."""

    def __init__(self, ref: str, matches: Sequence[str]) -> None:
        shown = ", ".join(matches[:5])
        super().__init__(f"session id prefix `{ref}` is ambiguous; it matches: {shown}")
        self.ref = ref
        self.matches = list(matches)


class ActionRejected(CovenClientError):
    """``POST /actions`` refused the action; ``reason`` is the daemon's sentence."""

    def __init__(self, status: int, action: str, reason: str) -> None:
        super().__init__(f"action `{action}` rejected: {reason}")
        self.status = status
        self.action = action
        self.reason = reason


class HostsFileInvalid(CovenClientError):
    """``hosts.toml`` is unreadable or invalid; ``path`` and ``line`` (when known) say where."""

    code = "hosts_file_invalid"

    def __init__(self, path: str, line: int | None, reason: str) -> None:
        where = f"{path} line {line}" if line is not None else path
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason


class RemoteHostError(CovenClientError):
    """Base of the failures of reaching another machine's daemon over SSH.

    ``code`` is stable; the message is a sentence naming the host as the user
    typed it.
    """

    code = "remote_host_error"


class InvalidHostTarget(RemoteHostError):
    """The host is neither ``ssh://[user@]host[:port]`` nor a name in ``hosts.toml``."""

    code = "invalid_host"


class SshUnavailable(RemoteHostError):
    """The OpenSSH client (``ssh``, or ``$COVEN_SSH_COMMAND``) cannot be run."""

    code = "ssh_unavailable"


class SshFailed(RemoteHostError):
    """ssh itself failed; ``kind`` is ``auth``, ``host_key``, ``unreachable``, ``forward`` or ``other``."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.code = f"ssh_{kind}" if kind != "other" else "ssh_failed"


class RemoteCovenMissing(RemoteHostError):
    """The remote shell could not find the ``coven`` command (exit status 127)."""

    code = "remote_coven_missing"


class RemoteDaemonNotRunning(RemoteHostError):
    """``coven daemon status`` on the remote machine says stopped or stale; ``state`` says which."""

    code = "remote_daemon_not_running"

    def __init__(self, message: str, state: str) -> None:
        super().__init__(message)
        self.state = state


class ApiError(CovenClientError):
    """A structured refusal from the daemon (``{"error": {code, message, details}}``)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, message={self.message!r})"


class SessionNotFound(ApiError):
    """No session has that id (404 ``session_not_found``), or a reference matched none."""


class SessionNotLive(ApiError):
    """The session has no live process (409 ``session_not_live``)."""


class AuthorityDenied(ApiError):
    """The daemon's validation refused the request (400 ``invalid_request`` and kin)."""


class HarnessUnavailable(ApiError):
    """The harness id is not known to the daemon (404 ``harness_not_found``)."""


class RouteNotFound(ApiError):
    """The daemon has no such route (404 ``not_found``): often an older daemon."""


class Conflict(ApiError):
    """The request conflicts with the session's state or kind (409 / 422)."""


class PayloadTooLarge(ApiError):
    """A request or response exceeded a size limit (413)."""


class StorageUnavailable(ApiError):
    """The daemon cannot persist right now and refused the work (503)."""
