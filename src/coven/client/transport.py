"""The sync client's one I/O seam: ``Transport.handle(Request) -> Response``.

``UnixTransport`` speaks HTTP/1.1 over the daemon's Unix socket with the stdlib
``http.client`` (cheap to import, no event loop); ``MockTransport`` hands each
request to a function, for tests and for embedding.
"""

from __future__ import annotations

import errno
import http.client
import socket
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from coven.client.errors import CovenClientError, DaemonNotRunning, ProtocolError, TransportError
from coven.client.safety import check_endpoint, check_peer

_STREAM_CHUNK = 64 * 1024
_NOT_RUNNING_ERRNOS = frozenset({errno.ENOENT, errno.ECONNREFUSED})


@dataclass(frozen=True)
class Request:
    """One HTTP request. ``path`` includes the query; ``timeout=None`` waits forever."""

    method: str
    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: bool = False
    timeout: float | None = -1.0  # negative: use the transport's default


@dataclass
class Response:
    """A response whose body is either already in ``body`` or still in ``stream``.

    ``iter_bytes()`` yields the body as it arrives; ``read()`` returns all of it.
    Either consumes the stream once. ``close()`` is safe to call repeatedly.
    """

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    stream: Iterable[bytes] | None = None
    on_close: Callable[[], None] | None = None
    #: The pid of the process that accepted the connection (``SO_PEERCRED``), when known.
    peer_pid: int | None = None

    def iter_bytes(self) -> Iterator[bytes]:
        if self.stream is None:
            if self.body:
                yield self.body
            return
        try:
            yield from self.stream
        finally:
            self.close()

    def read(self) -> bytes:
        if self.stream is not None:
            self.body = b"".join(self.iter_bytes())
            self.stream = None
        return self.body

    def close(self) -> None:
        if self.on_close is not None:
            callback, self.on_close = self.on_close, None
            callback()


class Transport(Protocol):
    """Anything that can turn a ``Request`` into a ``Response``.

    Implementations raise ``CovenClientError`` subclasses for transport failures
    and return every HTTP status (error statuses included) as a ``Response``.
    """

    def handle(self, request: Request) -> Response: ...


class MockTransport:
    """A transport that answers with ``handler(request)``; for tests and in-process use."""

    def __init__(self, handler: Callable[[Request], Response]) -> None:
        self._handler = handler

    def handle(self, request: Request) -> Response:
        return self._handler(request)


class _UnixHTTPConnection(http.client.HTTPConnection):
    """``HTTPConnection`` whose socket is AF_UNIX; the peer uid is checked on connect."""

    def __init__(self, socket_path: Path, timeout: float | None) -> None:
        super().__init__("coven", timeout=timeout)
        self._socket_path = socket_path
        self.peer_pid: int | None = None

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(str(self._socket_path))
            self.peer_pid = check_peer(sock)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class UnixTransport:
    """HTTP/1.1 over ``socket_path``, one request per connection (``Connection: close``).

    Before each connect the home directory (the socket's parent) and the socket
    are checked (``DaemonUnsafe``); after connecting the peer's uid is checked.
    ``timeout`` bounds connecting and each socket read; a ``Request`` may override it.
    """

    def __init__(self, socket_path: Path | str, timeout: float | None = 10.0) -> None:
        self.socket_path = Path(socket_path)
        self.timeout = timeout

    def handle(self, request: Request) -> Response:
        check_endpoint(self.socket_path)
        timeout = (
            self.timeout if request.timeout is not None and request.timeout < 0 else request.timeout
        )
        conn = _UnixHTTPConnection(self.socket_path, timeout)
        headers = {"Host": "coven", "Connection": "close", **request.headers}
        headers["Content-Length"] = str(len(request.body))
        try:
            conn.request(request.method, request.path, body=request.body or None, headers=headers)
            raw = conn.getresponse()
            response_headers = {k.lower(): v for k, v in raw.getheaders()}
            if request.stream:
                return Response(
                    status=raw.status,
                    headers=response_headers,
                    stream=self._chunks(raw),
                    on_close=conn.close,
                    peer_pid=conn.peer_pid,
                )
            body = raw.read()
        except OSError as exc:
            conn.close()
            raise self._map_os_error(exc) from exc
        except http.client.HTTPException as exc:
            conn.close()
            raise ProtocolError(f"malformed HTTP response from the daemon: {exc!r}") from exc
        conn.close()
        return Response(
            status=raw.status, headers=response_headers, body=body, peer_pid=conn.peer_pid
        )

    def _chunks(self, raw: http.client.HTTPResponse) -> Iterator[bytes]:
        # read1 returns what has arrived (de-chunked) instead of waiting for a full buffer,
        # which is what a follower wants.
        try:
            while chunk := raw.read1(_STREAM_CHUNK):
                yield chunk
        except OSError as exc:
            raise self._map_os_error(exc) from exc
        except http.client.HTTPException as exc:
            raise ProtocolError(f"malformed HTTP stream from the daemon: {exc!r}") from exc

    def _map_os_error(self, exc: OSError) -> Exception:
        return map_os_error(self.socket_path, exc)


def map_os_error(socket_path: Path, exc: OSError) -> CovenClientError:
    """The client error for a socket failure talking to the daemon at ``socket_path``."""
    if isinstance(exc, TimeoutError):
        return TransportError(f"the Coven daemon did not answer in time ({socket_path})")
    if exc.errno in _NOT_RUNNING_ERRNOS:
        return DaemonNotRunning(str(socket_path), exc.strerror or str(exc))
    return TransportError(f"socket error talking to the Coven daemon: {exc}")
