"""aiohttp's low-level server, adjusted to the reference's connection semantics.

Two deliberate departures from aiohttp's defaults:

* **Half-close is not hang-up.** Existing clients (the coven CLI, coven-client)
  send a request and then ``shutdown(SHUT_WR)``. asyncio would close the whole
  transport on that EOF and the response would be lost; we keep the write side
  open so the answer still goes out.
* **A request must arrive promptly.** A connection that has not delivered a
  complete request head within ``HEAD_TIMEOUT`` seconds is closed, so stalled or
  slowloris clients cannot pile up; bodies have their own deadline in the API.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from coven.errors import CovenError, InternalError, InvalidRequest

HEAD_TIMEOUT = 10.0


class CovenRequestHandler(RequestHandler):
    _coven_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        loop = asyncio.get_running_loop()
        self._coven_deadline = loop.call_later(HEAD_TIMEOUT, self._coven_head_deadline)

    def _coven_head_deadline(self) -> None:
        self._coven_deadline = None
        if self._request_count == 0 and self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._coven_deadline is not None:
            self._coven_deadline.cancel()
            self._coven_deadline = None
        super().connection_lost(exc)

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """aiohttp's own refusals (malformed request line, headers, …) in our envelope."""
        if request.writer.output_size > 0:
            return super().handle_error(request, status, exc, message)
        self.log_debug("refused malformed request: %s", exc)
        refusal: CovenError
        if status < 500:
            text = "malformed HTTP request"
            if exc is not None:
                text += f": {getattr(exc, 'message', None) or exc.__class__.__name__}"
            refusal = InvalidRequest(text)
        else:
            refusal = InternalError("internal error")
        body = msgspec.json.encode(refusal.envelope())
        response = web.Response(status=status, body=body, content_type="application/json")
        response.force_close()
        return response

    def eof_received(self) -> bool:  # type: ignore[override]
        # Keep the transport open for our response after the client's half-close.
        return True


class CovenServer(web.Server):
    def __call__(self) -> RequestHandler:
        kwargs: dict[str, Any] = self._kwargs
        return CovenRequestHandler(self, loop=self._loop, **kwargs)
