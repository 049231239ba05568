"""The cockpit's HTTP server: the app, the guarded proxy to the daemon, Cast Agent's context.

Routes (all behind ``guard``):

* ``GET /`` and ``GET /static/<file>``: the prebuilt app (only manifest files);
* ``GET /cockpit/ping``: who is serving (used to reuse a running cockpit);
* ``GET /cockpit/context``: Cast Agent's workspace context (see ``CastAgent.context``);
* ``/api/v1/...``: allow-listed daemon routes, JSON and the attach WebSocket,
  forwarded to the daemon's Unix socket through Cast Agent.

Every response gets a strict Content-Security-Policy (scripts and connections
only from this origin; inline styles are allowed because xterm.js sets them),
no framing, no referrer, and no CORS headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
from aiohttp import web

from coven import __version__
from coven.cockpit import allowlist
from coven.cockpit.bundle import CONTENT_TYPES, STATIC, load_manifest
from coven.cockpit.cast_agent import CastAgent
from coven.cockpit.daemon_link import DaemonDown, Refused
from coven.cockpit.guard import Decision, Guard, Incoming, Verdict

MAX_BODY = 4 * 1024 * 1024
WS_MAX_MESSAGE = 1024 * 1024

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

GUARD_KEY = web.AppKey("guard", Guard)
AGENT_KEY = web.AppKey("agent", CastAgent)


def _error(status: int, code: str, message: str) -> web.Response:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return web.Response(
        status=status,
        body=body,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _refusal(request: web.Request, decision: Decision) -> web.Response:
    status = 403 if decision.verdict is Verdict.FORBIDDEN else 401
    code = "forbidden" if status == 403 else "unauthorized"
    if request.path.startswith(("/api/", "/cockpit/")):
        return _error(status, code, decision.reason)
    page = (
        "<!doctype html><meta charset=utf-8><title>Coven cockpit</title>"
        f"<h1>{status} {code}</h1><p>{decision.reason}.</p>"
    )
    return web.Response(status=status, text=page, content_type="text/html")


def incoming(request: web.Request) -> Incoming:
    return Incoming(
        method=request.method,
        path=request.path,
        query=request.query_string,
        host=request.headers.get("Host"),
        origin=request.headers.get("Origin"),
        authorization=request.headers.get("Authorization"),
        cookies=dict(request.cookies),
        websocket=request.headers.get("Upgrade", "").lower() == "websocket",
    )


@web.middleware
async def guard_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    guard = request.app[GUARD_KEY]
    decision = guard.decide(incoming(request))
    if decision.verdict in (Verdict.FORBIDDEN, Verdict.UNAUTHORIZED):
        return _refusal(request, decision)
    if decision.verdict is Verdict.MOVE_TOKEN_TO_COOKIE:
        response = web.Response(status=303, headers={"Location": decision.redirect_to})
        response.set_cookie(
            guard.cookie_name, guard.token, httponly=True, samesite="Strict", path="/"
        )
        return response
    result: web.StreamResponse = await handler(request)
    return result


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    for name in list(response.headers):
        if name.lower().startswith("access-control-"):
            del response.headers[name]


class Handlers:
    def __init__(self, agent: CastAgent, static: Path) -> None:
        self.agent = agent
        self.static = static
        self.manifest = load_manifest(static)

    async def index(self, request: web.Request) -> web.StreamResponse:
        return self._file("index.html")

    async def asset(self, request: web.Request) -> web.StreamResponse:
        return self._file(request.match_info["name"])

    def _file(self, name: str) -> web.StreamResponse:
        digest = self.manifest.files.get(name)
        if digest is None:
            return _error(404, "not_found", "no such file in the cockpit app")
        content_type = CONTENT_TYPES[Path(name).suffix]
        return web.Response(
            body=(self.static / name).read_bytes(),
            headers={
                "Content-Type": content_type,
                "Cache-Control": "no-cache",
                "ETag": f'"{digest[:32]}"',
            },
        )

    async def ping(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"cockpit": True, "pid": os.getpid(), "version": __version__},
            headers={"Cache-Control": "no-store"},
        )

    async def context(self, request: web.Request) -> web.Response:
        try:
            after = int(request.query.get("activityAfter", "0"))
        except ValueError:
            return _error(400, "invalid_request", "activityAfter must be an integer")
        doc = await self.agent.context(
            sessions_digest=request.query.get("sessions", ""), activity_after=after
        )
        # msgspec, not json.dumps: with a thousand sessions this is most of the answer's cost.
        return web.Response(
            body=msgspec.json.encode(doc),
            content_type="application/json",
            headers={"Cache-Control": "no-store"},
        )

    async def proxy(self, request: web.Request) -> web.StreamResponse:
        path, _, raw_query = request.raw_path.partition("?")
        allowed = allowlist.resolve(request.method, path)
        if allowed is None:
            return _error(
                403, "not_allowed", f"the cockpit does not forward {request.method} {path}"
            )
        query = allowlist.forwarded_query(raw_query, allowed.query_keys)
        target = path + (f"?{query}" if query else "")
        if allowed.websocket:
            return await self._proxy_websocket(request, allowed, target)
        body = await request.read() if request.method == "POST" else None
        try:
            upstream = await self.agent.perform(allowed, request.method, target, body)
        except DaemonDown as exc:
            return _error(503, "daemon_unavailable", str(exc))
        content_type = upstream.content_type.split(";")[0].strip() or "application/json"
        return web.Response(
            status=upstream.status,
            body=upstream.body,
            content_type=content_type,
            headers={"Cache-Control": "no-store"},
        )

    async def _proxy_websocket(
        self, request: web.Request, allowed: allowlist.Allowed, target: str
    ) -> web.StreamResponse:
        session_id = allowed.session_id or ""
        browser = web.WebSocketResponse(max_msg_size=WS_MAX_MESSAGE, autoping=True)
        if not browser.can_prepare(request).ok:
            return _error(400, "invalid_request", "attach is a WebSocket route")
        try:
            daemon = await self.agent.link.websocket(target)
        except Refused as exc:
            self.agent.terminal_refused(session_id, exc.message)
            return _error(exc.status, "attach_refused", f"the daemon refused: {exc.message}")
        except DaemonDown as exc:
            self.agent.terminal_refused(session_id, str(exc))
            return _error(503, "daemon_unavailable", str(exc))
        await browser.prepare(request)
        self.agent.terminal_opened(session_id)
        try:
            await _pump(browser, daemon)
        finally:
            self.agent.terminal_closed(session_id)
            with contextlib.suppress(Exception):
                await daemon.close()
            if not browser.closed:
                with contextlib.suppress(Exception):
                    await browser.close(code=close_code_for_browser(daemon.close_code))
        return browser


def close_code_for_browser(daemon_code: int | None) -> int:
    """The close code to pass on: the daemon's own (e.g. 1013, read too slowly), else 1000.

    1005 and 1006 only describe a connection that ended without a close frame and
    must never be sent in one: a browser that receives them fails the connection
    and drops the messages it has not dispatched yet, which cut output short.
    """
    if daemon_code is None or daemon_code in (1004, 1005, 1006, 1015):
        return 1000
    if 1000 <= daemon_code <= 1014 or 3000 <= daemon_code <= 4999:
        return daemon_code
    return 1000


async def _pump(browser: web.WebSocketResponse, daemon: aiohttp.ClientWebSocketResponse) -> None:
    """Copy frames both ways until the daemon's side ends or the browser leaves.

    Output is never cut short by the other direction: when forwarding the
    browser's input or resize fails (the daemon is closing the stream), the
    daemon's remaining frames, its exit frame included, are still delivered.
    """

    async def down() -> None:
        async for message in daemon:
            if message.type is aiohttp.WSMsgType.BINARY:
                await browser.send_bytes(message.data)
            elif message.type is aiohttp.WSMsgType.TEXT:
                await browser.send_str(message.data)
            else:
                return

    async def up() -> None:
        async for message in browser:
            try:
                if message.type is aiohttp.WSMsgType.BINARY:
                    await daemon.send_bytes(message.data)
                elif message.type is aiohttp.WSMsgType.TEXT:
                    await daemon.send_str(message.data)
                else:
                    return
            except (ConnectionError, aiohttp.ClientError):
                return  # the daemon's side is ending; down() delivers the rest

    downward = asyncio.ensure_future(down())
    upward = asyncio.ensure_future(up())
    try:
        await asyncio.wait({downward, upward}, return_when=asyncio.FIRST_COMPLETED)
        if not downward.done() and not browser.closed:
            await downward
    finally:
        for task in (downward, upward):
            task.cancel()
        for task in (downward, upward):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def build_app(guard: Guard, agent: CastAgent, static: Path = STATIC) -> web.Application:
    app = web.Application(middlewares=[guard_middleware], client_max_size=MAX_BODY)
    app[GUARD_KEY] = guard
    app[AGENT_KEY] = agent
    handlers = Handlers(agent, static)
    app.router.add_get("/", handlers.index)
    app.router.add_get("/static/{name}", handlers.asset)
    app.router.add_get("/cockpit/ping", handlers.ping)
    app.router.add_get("/cockpit/context", handlers.context)
    app.router.add_route("*", "/api/v1/{tail:.*}", handlers.proxy)
    app.on_response_prepare.append(_security_headers)

    async def close_link(app: web.Application) -> None:
        await agent.link.close()

    app.on_cleanup.append(close_link)
    return app
