"""The cockpit's HTTP server: the app, the guarded proxy to the daemon, Cast Agent's context.

Routes (all behind ``guard``):

* ``GET /`` and ``GET /static/<file>``: the prebuilt app (only manifest files);
* ``GET /cockpit/ping``: who is serving (used to reuse a running cockpit);
* ``GET /cockpit/context``: Cast Agent's workspace context (see ``CastAgent.context``);
* ``/api/v1/...``: allow-listed daemon routes, JSON and the attach WebSocket,
  forwarded to the daemon's Unix socket through Cast Agent;
* ``GET /cockpit/hosts``: the machines in ``hosts.toml``, each with its state and,
  when reachable, its sessions (see ``RemoteHosts.overview``);
* ``/hosts/<name>/api/v1/...``: the same allow-list, forwarded to that host's
  daemon over its SSH forward (``remote_hosts``). An unknown or malformed name
  is ``404 unknown_host``; a host that cannot be reached is ``503 host_unreachable``.

Every response gets a strict Content-Security-Policy (scripts and connections
only from this origin; inline styles are allowed because xterm.js sets them),
no framing, no referrer, and no CORS headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
from aiohttp import web

from coven import __version__
from coven.client.hosts import is_host_name
from coven.cockpit import allowlist
from coven.cockpit.bundle import CONTENT_TYPES, STATIC, load_manifest
from coven.cockpit.cast_agent import CastAgent
from coven.cockpit.daemon_link import DaemonDown, Refused
from coven.cockpit.guard import Decision, Guard, Incoming, Verdict
from coven.cockpit.remote_hosts import HostUnavailable, RemoteHost, RemoteHosts

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
HOSTS_PREFIX = "/hosts/"


def _json(doc: Any, status: int = 200) -> web.Response:
    """A JSON answer that is never cached (msgspec: with a thousand sessions, encoding
    is most of the context's cost)."""
    return web.Response(
        status=status,
        body=msgspec.json.encode(doc),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _error(status: int, code: str, message: str) -> web.Response:
    return _json({"error": {"code": code, "message": message}}, status)


def _refusal(request: web.Request, decision: Decision) -> web.Response:
    status = 403 if decision.verdict is Verdict.FORBIDDEN else 401
    code = "forbidden" if status == 403 else "unauthorized"
    if request.path.startswith(("/api/", "/cockpit/", HOSTS_PREFIX)):
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
    def __init__(self, agent: CastAgent, static: Path, hosts: RemoteHosts | None) -> None:
        self.agent = agent
        self.static = static
        self.hosts = hosts
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
        return _json({"cockpit": True, "pid": os.getpid(), "version": __version__})

    async def context(self, request: web.Request) -> web.Response:
        try:
            after = int(request.query.get("activityAfter", "0"))
        except ValueError:
            return _error(400, "invalid_request", "activityAfter must be an integer")
        doc = await self.agent.context(
            sessions_digest=request.query.get("sessions", ""), activity_after=after
        )
        # Only whether to ask /cockpit/hosts: with no hosts.toml the UI shows nothing more.
        doc["hosts"] = (
            self.hosts.summary()
            if self.hosts is not None
            else {"configured": 0, "rosterError": None}
        )
        return _json(doc)

    async def proxy(self, request: web.Request) -> web.StreamResponse:
        path, _, raw_query = request.raw_path.partition("?")
        return await self._forward(request, path, raw_query, None)

    async def hosts_overview(self, request: web.Request) -> web.Response:
        """``GET /cockpit/hosts?known=NAME:DIGEST…``: every named host, side by side."""
        known = {}
        for value in request.query.getall("known", []):
            name, _, digest = value.partition(":")
            known[name] = digest
        doc: dict[str, Any] = {"hosts": [], "rosterError": None}
        if self.hosts is not None:
            doc = await self.hosts.overview(known)
        return _json(doc)

    async def host_proxy(self, request: web.Request) -> web.StreamResponse:
        """``/hosts/<name>/api/v1/…``: the allow-listed route on that host's daemon."""
        raw_path, _, raw_query = request.raw_path.partition("?")
        name, _, rest = raw_path[len(HOSTS_PREFIX) :].partition("/")
        host = self.hosts.get(name) if self.hosts is not None and is_host_name(name) else None
        if host is None:
            return _error(404, "unknown_host", "no host by that name in hosts.toml")
        return await self._forward(request, "/" + rest, raw_query, host)

    async def _forward(
        self, request: web.Request, path: str, raw_query: str, host: RemoteHost | None
    ) -> web.StreamResponse:
        """One allow-listed call to this machine's daemon, or to ``host``'s.

        The allow-list is applied before anything else, so a refused route never
        makes the cockpit connect anywhere.
        """
        allowed = allowlist.resolve(request.method, path)
        if allowed is None:
            return _error(
                403, "not_allowed", f"the cockpit does not forward {request.method} {path}"
            )
        query = allowlist.forwarded_query(raw_query, allowed.query_keys)
        target = path + (f"?{query}" if query else "")
        agent = self.agent
        if host is not None:
            assert self.hosts is not None
            try:
                agent = await self.hosts.agent_for(host)
            except HostUnavailable as exc:
                return _error(503, "host_unreachable", str(exc))
        if allowed.websocket:
            return await self._proxy_websocket(request, agent, allowed, target, host)
        body = await request.read() if request.method == "POST" else None
        try:
            upstream = await agent.perform(allowed, request.method, target, body)
        except DaemonDown as exc:
            return self._down(host, exc)
        content_type = upstream.content_type.split(";")[0].strip() or "application/json"
        return web.Response(
            status=upstream.status,
            body=upstream.body,
            content_type=content_type,
            headers={"Cache-Control": "no-store"},
        )

    def _down(self, host: RemoteHost | None, exc: DaemonDown) -> web.Response:
        if host is None:
            return _error(503, "daemon_unavailable", str(exc))
        assert self.hosts is not None
        self.hosts.lost(host)  # the forward is set up again in the background
        return _error(
            503, "host_unreachable", f"lost the connection to {host.name} ({exc}); reconnecting"
        )

    async def _proxy_websocket(
        self,
        request: web.Request,
        agent: CastAgent,
        allowed: allowlist.Allowed,
        target: str,
        host: RemoteHost | None,
    ) -> web.StreamResponse:
        session_id = allowed.session_id or ""
        browser = web.WebSocketResponse(max_msg_size=WS_MAX_MESSAGE, autoping=True)
        if not browser.can_prepare(request).ok:
            return _error(400, "invalid_request", "attach is a WebSocket route")
        try:
            daemon = await agent.link.websocket(target)
        except Refused as exc:
            agent.terminal_refused(session_id, exc.message)
            return _error(exc.status, "attach_refused", f"the daemon refused: {exc.message}")
        except DaemonDown as exc:
            agent.terminal_refused(session_id, str(exc))
            return self._down(host, exc)
        await browser.prepare(request)
        agent.terminal_opened(session_id)
        try:
            await _pump(browser, daemon)
        finally:
            agent.terminal_closed(session_id)
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


def build_app(
    guard: Guard, agent: CastAgent, static: Path = STATIC, hosts: RemoteHosts | None = None
) -> web.Application:
    """The cockpit app; ``hosts`` (the named machines) are closed with it."""
    app = web.Application(middlewares=[guard_middleware], client_max_size=MAX_BODY)
    app[GUARD_KEY] = guard
    app[AGENT_KEY] = agent
    handlers = Handlers(agent, static, hosts)
    app.router.add_get("/", handlers.index)
    app.router.add_get("/static/{name}", handlers.asset)
    app.router.add_get("/cockpit/ping", handlers.ping)
    app.router.add_get("/cockpit/context", handlers.context)
    app.router.add_get("/cockpit/hosts", handlers.hosts_overview)
    app.router.add_route("*", "/api/v1/{tail:.*}", handlers.proxy)
    app.router.add_route("*", HOSTS_PREFIX + "{tail:.*}", handlers.host_proxy)
    app.on_response_prepare.append(_security_headers)

    async def close_link(app: web.Application) -> None:
        await agent.link.close()
        if hosts is not None:
            await hosts.close()

    app.on_cleanup.append(close_link)
    return app
