"""The HTTP surface: parse → runtime → encode. No business logic lives here.

One low-level aiohttp server handles every request through ``dispatch``,
which routes on the *raw* request target (see ``router``). Plain JSON routes
answer with ``Content-Length`` and ``Connection: close``: one response per
connection, as the reference does and as clients that read to EOF require.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web
from aiohttp.web_request import BaseRequest

from coven.api import router, stream
from coven.api.openapi import openapi_document
from coven.api.server import CovenServer
from coven.authority import parse_resize, parse_shutdown
from coven.authority.body import parse_json_body
from coven.authority.lifecycle import SHUTDOWN_BODY_LIMIT
from coven.authority.peer import peer_credentials
from coven.errors import CovenError, HarnessNotFound, InvalidRequest, PayloadTooLarge
from coven.runtime import queries
from coven.runtime.control import CATALOG, MALFORMED, Health, run_action
from coven.runtime.harness_scan import now_seconds, scan_harness
from coven.runtime.sessions import SessionManager
from coven.schema.wire import API_VERSION, EventsPage

log = logging.getLogger("coven.api")

MAX_BODY = 4 * 1024 * 1024
MAX_LINE = 8 * 1024
MAX_FIELD = 8 * 1024
BODY_TIMEOUT = 10.0

_encoder = msgspec.json.Encoder()


def json_response(status: int, body: Any) -> web.Response:
    response = web.Response(
        status=status, body=_encoder.encode(body), content_type="application/json"
    )
    response.force_close()
    return response


# Responses larger than this are encoded on a worker thread, so one big page does not
# hold up every small request (health, input) queued behind it on the loop.
OFFLOAD_ENCODE_BYTES = 64 * 1024


def encoded_response(status: int, body: bytes) -> web.Response:
    response = web.Response(status=status, body=body, content_type="application/json")
    response.force_close()
    return response


def error_response(exc: CovenError) -> web.Response:
    error: dict[str, Any] = {"code": exc.code}
    if exc.details:
        error["details"] = exc.details
    error["message"] = exc.message
    body: dict[str, Any] = {"error": error}
    if isinstance(exc, PayloadTooLarge) or exc.code == "internal_error":
        body = {"ok": False, "error": {"code": exc.code, "message": exc.message}}
    return json_response(exc.status, body)


class Api:
    def __init__(
        self, manager: SessionManager, health: Health, shutdown: Callable[[int | None], None]
    ):
        self.manager = manager
        self.health = health
        self.shutdown = shutdown
        self.uid = os.getuid()

    async def read_body(self, request: BaseRequest) -> bytes:
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            raise InvalidRequest(
                "chunked request bodies are not supported; send a Content-Length body"
            )
        length = request.content_length
        if length is not None and length > MAX_BODY:
            raise PayloadTooLarge(f"Request body exceeds {MAX_BODY}-byte limit.")
        try:
            return await asyncio.wait_for(request.read(), BODY_TIMEOUT)
        except TimeoutError as exc:
            raise InvalidRequest(
                "request body did not arrive in time (shorter than its Content-Length?)"
            ) from exc

    async def big_json_response(self, body: Any, size_hint: int) -> web.Response:
        if size_hint < OFFLOAD_ENCODE_BYTES:
            return json_response(200, body)
        return encoded_response(200, await self.manager.read(msgspec.json.encode, body))

    async def json_body(self, request: BaseRequest, *, empty: object = None) -> object:
        return parse_json_body(await self.read_body(request), empty=empty)

    def _peer_ok(self, request: BaseRequest) -> bool:
        transport = request.transport
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is None or sock.family != socket.AF_UNIX:
            return False
        try:
            _pid, uid, _gid = peer_credentials(sock)
        except OSError:
            return False
        return uid == self.uid

    async def dispatch(self, request: BaseRequest) -> web.StreamResponse:
        try:
            if not self._peer_ok(request):
                return json_response(
                    403,
                    {"error": {"code": "forbidden", "message": "Peer is not the daemon's user."}},
                )
            match = router.resolve(request.method, request.raw_path)
            handler = getattr(self, "on_" + match.name)
            result: web.StreamResponse = await handler(request, match)
            return result
        except PayloadTooLarge as exc:
            # The body is never read: answer, then drop the connection at once.
            response = error_response(exc)
            await response.prepare(request)
            await response.write_eof()
            if request.transport is not None:
                request.transport.close()
            return response
        except CovenError as exc:
            return error_response(exc)
        except web.HTTPException:
            raise
        except Exception as exc:
            log.exception("handler failed for %s %s", request.method, request.raw_path)
            failure = CovenError(f"internal error: {exc.__class__.__name__}: {exc}")
            return error_response(failure)

    # -- meta ----------------------------------------------------------------------------------
    async def on_health(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, self.health.document())

    async def on_api_version(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, {"apiVersion": "v1", "supportedApiVersions": ["v1"]})

    async def on_capabilities(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, {"capabilities": CATALOG})

    async def on_harness_capabilities(
        self, request: BaseRequest, match: router.Match
    ) -> web.Response:
        ids = [a.id for a in self.manager.registry().adapters()]
        home = Path.home()
        manifests = await self.manager.read(lambda: [scan_harness(i, home) for i in ids])
        return json_response(
            200,
            {"coven_skills": [], "harness_capabilities": manifests, "scanned_at": now_seconds()},
        )

    async def on_harness_capability(
        self, request: BaseRequest, match: router.Match
    ) -> web.Response:
        harness_id = match.harness_id or ""
        if self.manager.registry().get(harness_id) is None:
            raise _harness_not_found(harness_id)
        manifest = await self.manager.read(scan_harness, harness_id, Path.home())
        return json_response(200, manifest)

    async def on_familiars(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, [])

    async def on_openapi(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, openapi_document())

    async def on_actions(self, request: BaseRequest, match: router.Match) -> web.Response:
        raw = await self.read_body(request)
        try:
            body = parse_json_body(raw, empty={})
        except InvalidRequest:
            body = MALFORMED
        status, payload = await run_action(self.manager, body)
        return json_response(status, payload)

    async def on_vacuum(self, request: BaseRequest, match: router.Match) -> web.Response:
        """The reference's maintenance route, honestly: we check integrity, we do not VACUUM.

        (VACUUM would stall the single writer for as long as it takes; there is no
        full-text index to rebuild.)
        """
        await self.read_body(request)
        rows = await self.manager.read(self.manager.reader.integrity_check)
        return json_response(
            200,
            {
                "eventIndexRebuilt": False,
                "integrityCheck": rows,
                "ok": rows == ["ok"],
                "vacuumed": False,
            },
        )

    async def on_shutdown(self, request: BaseRequest, match: router.Match) -> web.Response:
        """202 for a request naming this daemon; its connection then stays open until we exit.

        Other CLIs read EOF on this connection as "the daemon has exited" and then
        clean the home, so the connection must outlive everything the daemon
        still does: a duplicate of its socket is handed to ``shutdown`` and is only
        closed by the process exiting.
        """
        length = request.content_length
        if length is not None and length > SHUTDOWN_BODY_LIMIT:
            raise PayloadTooLarge(f"Request body exceeds {SHUTDOWN_BODY_LIMIT}-byte limit.")
        try:
            body = await self.json_body(request)
        except InvalidRequest as exc:
            raise InvalidRequest(f"invalid daemon shutdown request: {exc.message}") from exc
        parse_shutdown(body).require_names(API_VERSION, self.health.daemon_info)
        sock = request.transport.get_extra_info("socket") if request.transport else None
        held = os.dup(sock.fileno()) if sock is not None else None
        self.manager.loop.call_soon(self.shutdown, held)
        return json_response(
            202,
            {
                "ok": True,
                "apiVersion": API_VERSION,
                "capabilities": {"structuredErrors": True},
                "daemon": self.health.daemon_info,
            },
        )

    # -- sessions --------------------------------------------------------------------------------
    async def on_list_sessions(self, request: BaseRequest, match: router.Match) -> web.Response:
        result = await queries.list_sessions(self.manager, match.query)
        count = len(result) if isinstance(result, list) else len(result.sessions)
        return await self.big_json_response(result, count * 400)

    async def on_launch(self, request: BaseRequest, match: router.Match) -> web.Response:
        body = await self.json_body(request, empty={})
        return json_response(201, await self.manager.launch(body))

    async def on_get_session(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, await self.manager.get(match.session_id or ""))

    async def on_register_external(self, request: BaseRequest, match: router.Match) -> web.Response:
        body = await self.json_body(request, empty={})
        record, created = await self.manager.register_external(body)
        return json_response(201 if created else 200, record)

    async def on_complete(self, request: BaseRequest, match: router.Match) -> web.Response:
        raw = await self.read_body(request)
        try:
            body = parse_json_body(raw, empty={})
        except InvalidRequest:
            body = {}  # the reference parses complete bodies leniently
        return json_response(200, await self.manager.complete(match.session_id or "", body))

    async def on_input(self, request: BaseRequest, match: router.Match) -> web.Response:
        raw = await self.read_body(request)
        recorded = await self.manager.send_input(match.session_id or "", raw)
        body: dict[str, Any] = {"accepted": True, "ok": True}
        if not recorded:
            body["recorded"] = False  # delivered; the event lands when storage recovers
        return json_response(202, body)

    async def on_kill(self, request: BaseRequest, match: router.Match) -> web.Response:
        await self.read_body(request)  # unbound kill bodies are ignored, as the reference does
        await self.manager.kill(match.session_id or "")
        return json_response(202, {"accepted": True, "ok": True})

    async def on_resize(self, request: BaseRequest, match: router.Match) -> web.Response:
        session_id = match.session_id or ""
        await self.manager.get_row(session_id)
        rows, cols = parse_resize(await self.json_body(request, empty={}))
        await self.manager.resize(session_id, rows, cols)
        return json_response(202, {"accepted": True, "ok": True})

    async def on_archive(self, request: BaseRequest, match: router.Match) -> web.Response:
        await self.read_body(request)
        return json_response(200, await self.manager.archive(match.session_id or "", True))

    async def on_summon(self, request: BaseRequest, match: router.Match) -> web.Response:
        await self.read_body(request)
        return json_response(200, await self.manager.archive(match.session_id or "", False))

    async def on_sacrifice(self, request: BaseRequest, match: router.Match) -> web.Response:
        session_id = match.session_id or ""
        body = await self.json_body(request, empty={})
        confirm = body.get("confirm") if isinstance(body, dict) else None
        await self.manager.sacrifice(session_id, confirm)
        return json_response(200, {"ok": True, "sessionId": session_id})

    # -- events ----------------------------------------------------------------------------------
    async def on_events(self, request: BaseRequest, match: router.Match) -> web.Response:
        if "sessionId" not in match.query:
            raise InvalidRequest("sessionId query parameter is required.")
        queries.parse_events_query(match.query)  # query errors come before the lookup
        page = await queries.events_page(self.manager, match.query["sessionId"], match.query)
        return await self.big_json_response(page, _page_size(page))

    async def on_session_events(self, request: BaseRequest, match: router.Match) -> web.Response:
        queries.parse_events_query(match.query)
        page = await queries.events_page(self.manager, match.session_id or "", match.query)
        return await self.big_json_response(page, _page_size(page))

    async def on_log(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, await queries.log_lines(self.manager, match.session_id or ""))

    async def on_follow(self, request: BaseRequest, match: router.Match) -> web.StreamResponse:
        return await stream.follow(self.manager, request, match)

    async def on_attach(self, request: BaseRequest, match: router.Match) -> web.StreamResponse:
        return await stream.attach(self.manager, request, match)


def _page_size(page: EventsPage) -> int:
    return sum(len(event.payload_json) + 200 for event in page.events)


def _harness_not_found(harness_id: str) -> CovenError:
    return HarnessNotFound(
        "Harness id is not a known capability scan target.", {"harnessId": harness_id}
    )


def make_server(api: Api) -> web.Server:
    """The low-level aiohttp server with bounded request lines, headers and bodies."""

    def make_request(
        message: Any, payload: Any, protocol: Any, writer: Any, task: Any
    ) -> BaseRequest:
        return BaseRequest(
            message, payload, protocol, writer, task, api.manager.loop, client_max_size=MAX_BODY
        )

    return CovenServer(
        api.dispatch,
        request_factory=make_request,
        max_line_size=MAX_LINE,
        max_field_size=MAX_FIELD,
        max_headers=64,
        access_log=None,
    )
