"""The HTTP surface: parse → runtime → encode. No business logic lives here.

One low-level aiohttp server handles every request through ``Api.dispatch``,
which checks the peer, routes on the *raw* request target (see ``router``)
and turns every ``CovenError`` into its envelope. Plain JSON routes answer
with ``Content-Length`` and ``Connection: close``: one response per
connection, as the reference does and as clients that read to EOF require.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web
from aiohttp.web_request import BaseRequest

from coven.api import requests, router, streams
from coven.api.cockpit_routes import CockpitRoutes
from coven.api.encoding import encoded_response, error_response, json_response
from coven.api.openapi import openapi_document
from coven.api.server import CovenServer
from coven.authority import parse_shutdown
from coven.authority.body import MAX_BODY, parse_json_body
from coven.authority.peer import peer_credentials
from coven.authority.shutdown import SHUTDOWN_BODY_LIMIT
from coven.errors import (
    CovenError,
    Forbidden,
    InternalError,
    InvalidRequest,
    PayloadTooLarge,
)
from coven.runtime import Runtime
from coven.runtime.actions import ActionRejected
from coven.runtime.health import CATALOG
from coven.runtime.queries import encode_events_page
from coven.schema import API_VERSION, EventsPage
from coven.schema.meta import Accepted, ApiVersionInfo, SacrificeResult, shutdown_accepted

log = logging.getLogger("coven.api")

MAX_LINE = 8 * 1024
MAX_FIELD = 8 * 1024
BODY_TIMEOUT = 10.0
# Responses larger than this are encoded on a worker thread, so one big page does not
# hold up every small request (health, input) queued behind it on the loop.
OFFLOAD_ENCODE_BYTES = 64 * 1024

_encoder = msgspec.json.Encoder()
_ACCEPTED = Accepted(accepted=True, ok=True)


class Api(CockpitRoutes):
    def __init__(self, runtime: Runtime, shutdown: Callable[[int | None, bool], None]) -> None:
        self.runtime = runtime
        self.shutdown = shutdown
        self.uid = os.getuid()

    # -- plumbing ------------------------------------------------------------------------------
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

    async def json_body(self, request: BaseRequest, *, empty: object = None) -> object:
        return parse_json_body(await self.read_body(request), empty=empty)

    async def big_json_response(self, body: Any, size_hint: int) -> web.Response:
        if size_hint < OFFLOAD_ENCODE_BYTES:
            return json_response(200, body)
        return encoded_response(200, await self.runtime.ledger.read(_encoder.encode, body))

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
                raise Forbidden("Peer is not the daemon's user.")
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
            return error_response(InternalError.of(exc))

    # -- meta ----------------------------------------------------------------------------------
    async def on_health(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, self.runtime.health.document())

    async def on_api_version(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, ApiVersionInfo())

    async def on_capabilities(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, CATALOG)

    async def on_harness_capabilities(
        self, request: BaseRequest, match: router.Match
    ) -> web.Response:
        return json_response(200, await self.runtime.harnesses.scans())

    async def on_harnesses(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, await self.runtime.harnesses.availability())

    async def on_harness_capability(
        self, request: BaseRequest, match: router.Match
    ) -> web.Response:
        return json_response(200, await self.runtime.harnesses.scan(match.harness_id or ""))

    async def on_openapi(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, openapi_document())

    async def on_actions(self, request: BaseRequest, match: router.Match) -> web.Response:
        raw = await self.read_body(request)
        try:
            result = await self.runtime.actions.run(requests.action(raw))
        except ActionRejected as exc:
            return json_response(exc.status, exc.result())
        return json_response(200, result)

    async def on_vacuum(self, request: BaseRequest, match: router.Match) -> web.Response:
        await self.read_body(request)
        return json_response(200, await self.runtime.check_store())

    async def on_prune(self, request: BaseRequest, match: router.Match) -> web.Response:
        body = requests.prune(await self.read_body(request))
        return json_response(200, await self.runtime.retention.prune(body.eventDays, body.dryRun))

    async def on_search(self, request: BaseRequest, match: router.Match) -> web.Response:
        text, limit = requests.search_query(match.query)
        result = await self.runtime.search.search(text, limit)
        return await self.big_json_response(result, len(result.hits) * 400)

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
        identity = self.runtime.health.daemon
        parse_shutdown(body).require_names(API_VERSION, msgspec.to_builtins(identity))
        sock = request.transport.get_extra_info("socket") if request.transport else None
        held = os.dup(sock.fileno()) if sock is not None else None
        # ``?keepSessions=true``: leave every held session running for the next daemon.
        keep = match.query.get("keepSessions", "").lower() in ("1", "true", "yes")
        self.runtime.loop.call_soon(self.shutdown, held, keep)
        return json_response(202, shutdown_accepted(identity))

    # -- sessions --------------------------------------------------------------------------------
    async def on_list_sessions(self, request: BaseRequest, match: router.Match) -> web.Response:
        result = await self.runtime.queries.list_sessions(requests.list_query(match.query))
        count = len(result) if isinstance(result, list) else len(result.sessions)
        return await self.big_json_response(result, count * 400)

    async def on_launch(self, request: BaseRequest, match: router.Match) -> web.Response:
        body = await self.json_body(request, empty={})
        return json_response(201, await self.runtime.launcher.launch(body))

    async def on_get_session(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, await self.runtime.queries.session(match.session_id or ""))

    async def on_register_external(self, request: BaseRequest, match: router.Match) -> web.Response:
        body = await self.json_body(request, empty={})
        record, created = await self.runtime.external.register(body)
        return json_response(201 if created else 200, record)

    async def on_complete(self, request: BaseRequest, match: router.Match) -> web.Response:
        code = requests.exit_code(await self.read_body(request))
        return json_response(
            200, await self.runtime.external.complete(match.session_id or "", code)
        )

    async def on_input(self, request: BaseRequest, match: router.Match) -> web.Response:
        raw = await self.read_body(request)
        session_id = match.session_id or ""
        target = await self.runtime.control.require_live(session_id)
        recorded = await self.runtime.control.send_input(
            target, requests.send_input(raw, session_id)
        )
        # Not recorded: delivered; the event lands when storage recovers.
        return json_response(202, _ACCEPTED if recorded else Accepted(True, True, False))

    async def on_kill(self, request: BaseRequest, match: router.Match) -> web.Response:
        await self.read_body(request)  # unbound kill bodies are ignored, as the reference does
        await self.runtime.control.kill(match.session_id or "")
        return json_response(202, _ACCEPTED)

    async def on_resize(self, request: BaseRequest, match: router.Match) -> web.Response:
        session_id = match.session_id or ""
        await self.runtime.queries.require(session_id)
        rows, cols = requests.resize(await self.read_body(request))
        await self.runtime.control.resize(session_id, rows, cols)
        return json_response(202, _ACCEPTED)

    async def on_archive(self, request: BaseRequest, match: router.Match) -> web.Response:
        await self.read_body(request)
        return json_response(200, await self.runtime.rituals.archive(match.session_id or ""))

    async def on_summon(self, request: BaseRequest, match: router.Match) -> web.Response:
        await self.read_body(request)
        return json_response(200, await self.runtime.rituals.summon(match.session_id or ""))

    async def on_sacrifice(self, request: BaseRequest, match: router.Match) -> web.Response:
        session_id = match.session_id or ""
        body = await self.json_body(request, empty={})
        confirm = body.get("confirm") if isinstance(body, dict) else None
        await self.runtime.rituals.sacrifice(session_id, confirm)
        return json_response(200, SacrificeResult(ok=True, sessionId=session_id))

    # -- work: changes, diffs, lanes -------------------------------------------------------------
    async def on_changes(self, request: BaseRequest, match: router.Match) -> web.Response:
        changes = await self.runtime.work.changes(match.session_id or "")
        return await self.big_json_response(changes, len(changes.files) * 120)

    async def on_diff(self, request: BaseRequest, match: router.Match) -> web.Response:
        path, cap = requests.diff_query(match.query)
        found = await self.runtime.work.diff(match.session_id or "", path, cap)
        return await self.big_json_response(found, len(found.diff))

    async def on_merge(self, request: BaseRequest, match: router.Match) -> web.Response:
        message = requests.merge(await self.read_body(request))
        return json_response(200, await self.runtime.work.merge(match.session_id or "", message))

    async def on_discard(self, request: BaseRequest, match: router.Match) -> web.Response:
        force = requests.discard(await self.read_body(request))
        return json_response(200, await self.runtime.work.discard(match.session_id or "", force))

    async def on_review(self, request: BaseRequest, match: router.Match) -> web.Response:
        body = requests.review(await self.read_body(request))
        return json_response(200, await self.runtime.reviews.review(match.session_id or "", body))

    async def on_attention(self, request: BaseRequest, match: router.Match) -> web.Response:
        report = requests.attention_report(await self.read_body(request))
        return json_response(
            200, await self.runtime.attention.report(match.session_id or "", report)
        )

    # -- events ----------------------------------------------------------------------------------
    async def on_events(self, request: BaseRequest, match: router.Match) -> web.Response:
        if "sessionId" not in match.query:
            raise InvalidRequest("sessionId query parameter is required.")
        query = requests.events_query(match.query)  # query errors come before the lookup
        page = await self.runtime.queries.events_page(match.query["sessionId"], query)
        return await self.events_response(page)

    async def on_session_events(self, request: BaseRequest, match: router.Match) -> web.Response:
        query = requests.events_query(match.query)
        page = await self.runtime.queries.events_page(match.session_id or "", query)
        return await self.events_response(page)

    async def events_response(self, page: EventsPage) -> web.Response:
        if _page_size(page) < OFFLOAD_ENCODE_BYTES:
            return encoded_response(200, encode_events_page(page))
        return encoded_response(200, await self.runtime.ledger.read(encode_events_page, page))

    async def on_log(self, request: BaseRequest, match: router.Match) -> web.Response:
        lines = await self.runtime.queries.log_lines(match.session_id or "")
        return json_response(200, lines)

    async def on_follow(self, request: BaseRequest, match: router.Match) -> web.StreamResponse:
        after = requests.after_seq(match.query)
        return await streams.follow(self.runtime, request, match.session_id or "", after)

    async def on_screen(self, request: BaseRequest, match: router.Match) -> web.Response:
        ansi, history = requests.screen_query(match.query)
        view = await self.runtime.attach.screen(match.session_id or "", ansi, history)
        return json_response(200, view)

    async def on_attach(self, request: BaseRequest, match: router.Match) -> web.StreamResponse:
        after = requests.after_seq(match.query)
        view, history = requests.attach_view(match.query)
        return await streams.attach(
            self.runtime, request, match.session_id or "", after, view, history
        )


def _page_size(page: EventsPage) -> int:
    return sum(len(event.payload_json) + 200 for event in page.events)


def make_server(api: Api) -> web.Server:
    """The low-level aiohttp server with bounded request lines, headers and bodies."""

    def make_request(
        message: Any, payload: Any, protocol: Any, writer: Any, task: Any
    ) -> BaseRequest:
        return BaseRequest(
            message, payload, protocol, writer, task, api.runtime.loop, client_max_size=MAX_BODY
        )

    return CovenServer(
        api.dispatch,
        request_factory=make_request,
        max_line_size=MAX_LINE,
        max_field_size=MAX_FIELD,
        max_headers=64,
        access_log=None,
    )
