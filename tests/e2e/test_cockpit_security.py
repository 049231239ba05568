"""The cockpit server over real HTTP, with a real daemon behind it: who gets in, what passes.

No browser here: these send exactly the headers a hostile page or a rebinding
DNS name would produce, which a browser would not let a test forge.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.cockpit import Cockpit, running_cockpit
from tests.support.daemon import Daemon, running_daemon


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, Cockpit]]:
    with (
        running_daemon(tmp_path_factory.mktemp("cockpit-security")) as daemon,
        running_cockpit(daemon) as cockpit,
    ):
        yield daemon, cockpit


@pytest.fixture
def cockpit(stack: tuple[Daemon, Cockpit]) -> Cockpit:
    return stack[1]


@pytest.fixture
def daemon(stack: tuple[Daemon, Cockpit]) -> Daemon:
    return stack[0]


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/api/v1/health", "/cockpit/context"])
def test_without_the_token_everything_is_401(cockpit: Cockpit, path: str) -> None:
    reply = cockpit.http("GET", path, token=False)
    assert reply.status == 401
    assert cockpit.token.encode() not in reply.body
    bad = cockpit.http("GET", path, {"Authorization": "Bearer nope"}, token=False)
    assert bad.status == 401


def test_the_401_page_tells_a_person_what_to_do(cockpit: Cockpit) -> None:
    reply = cockpit.http("GET", "/", token=False)
    assert reply.headers["content-type"].startswith("text/html")
    assert b"coven cockpit" in reply.body


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "192.168.0.10:{port}"]
)
def test_a_rebinding_host_header_is_403_even_with_the_token(cockpit: Cockpit, host: str) -> None:
    reply = cockpit.http("GET", "/api/v1/health", host=host.format(port=cockpit.port))
    assert reply.status == 403
    assert json.loads(reply.body)["error"]["code"] == "forbidden"


def test_a_foreign_origin_is_403_even_with_the_token(cockpit: Cockpit) -> None:
    for method in ("GET", "POST"):
        reply = cockpit.http(
            method, "/api/v1/sessions", {"Origin": "http://evil.example"}, body=b"{}"
        )
        assert reply.status == 403, method


def test_a_write_without_an_origin_is_refused(cockpit: Cockpit, daemon: Daemon) -> None:
    session = daemon.launch("--fake-mode=sleep")
    reply = cockpit.http("POST", f"/api/v1/sessions/{session['id']}/kill", body=b"{}")
    assert reply.status == 403
    assert daemon.call("GET", f"/api/v1/sessions/{session['id']}").json()["status"] == "running"
    daemon.call("POST", f"/api/v1/sessions/{session['id']}/kill")


def test_the_token_moves_into_an_httponly_strict_cookie_and_out_of_the_address(
    cockpit: Cockpit,
) -> None:
    first = cockpit.http("GET", f"/?token={cockpit.token}", token=False)
    assert first.status == 303
    assert first.headers["location"] == "/"
    cookie = first.headers["set-cookie"]
    name = f"coven-cockpit-{cockpit.port}"
    assert cookie.startswith(f"{name}={cockpit.token};")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attributes
    again = cockpit.http("GET", "/", {"Cookie": f"{name}={cockpit.token}"}, token=False)
    assert again.status == 200
    assert b"/static/app.js" in again.body


def test_no_cors_headers_and_a_strict_content_policy(cockpit: Cockpit) -> None:
    headers = {"Origin": cockpit.origin, "Access-Control-Request-Method": "POST"}
    for method in ("GET", "OPTIONS"):
        reply = cockpit.http(method, "/api/v1/health", headers)
        assert not [h for h in reply.headers if h.startswith("access-control-")], reply.headers
    page = cockpit.http("GET", "/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/internal/lifecycle/shutdown"),
        ("POST", "/api/v1/store/vacuum"),
        ("POST", "/api/v1/sessions/external"),
        ("POST", "/api/v1/actions"),
        ("GET", "/api/v1/sessions/x%2F..%2Fy"),
    ],
)
def test_routes_off_the_allow_list_never_reach_the_daemon(
    cockpit: Cockpit, daemon: Daemon, method: str, path: str
) -> None:
    body = json.dumps({"daemon": {}}).encode() if method == "POST" else None
    reply = cockpit.http(method, path, {"Origin": cockpit.origin}, body=body)
    assert reply.status == 403
    assert json.loads(reply.body)["error"]["code"] == "not_allowed"
    assert daemon.call("GET", "/api/v1/health").status == 200


def test_the_daemon_still_refuses_what_it_refuses(cockpit: Cockpit, daemon: Daemon) -> None:
    outside = json.dumps({"projectRoot": "/", "harness": "codex", "prompt": "x"}).encode()
    reply = cockpit.http("POST", "/api/v1/sessions", {"Origin": cockpit.origin}, body=outside)
    assert reply.status == 400
    assert json.loads(reply.body)["error"]["code"] == "invalid_request"
    finished = daemon.launch("--fake-mode=exit")
    daemon.wait_status(finished["id"], {"completed"})
    wrong = json.dumps({"confirm": finished["id"][:8]}).encode()
    path = f"/api/v1/sessions/{finished['id']}/sacrifice"
    assert cockpit.http("POST", path, {"Origin": cockpit.origin}, body=wrong).status == 400
    assert daemon.call("GET", f"/api/v1/sessions/{finished['id']}").status == 200


def test_the_attach_websocket_checks_token_and_origin_and_then_streams(
    cockpit: Cockpit, daemon: Daemon
) -> None:
    session = daemon.launch()
    daemon.wait_output(session["id"], "ready")
    url = f"{cockpit.origin}/api/v1/sessions/{session['id']}/attach"
    cookie = {"Cookie": f"coven-cockpit-{cockpit.port}={cockpit.token}"}

    async def attempt(headers: dict[str, str]) -> int | bytes:
        async with aiohttp.ClientSession() as http:
            try:
                ws = await http.ws_connect(url, headers=headers)
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status
            seen = b""
            await ws.send_bytes(b"through the cockpit\r")
            while b"echo: through the cockpit" not in seen:
                message = await asyncio.wait_for(ws.receive(), 10)
                if message.type is aiohttp.WSMsgType.BINARY:
                    seen += message.data
            await ws.close()
            return seen

    assert asyncio.run(attempt({"Origin": cockpit.origin})) == 401
    assert asyncio.run(attempt({**cookie, "Origin": "http://evil.example"})) == 403
    assert asyncio.run(attempt(cookie)) == 403  # browsers always send Origin on upgrades
    seen = asyncio.run(attempt({**cookie, "Origin": cockpit.origin}))
    assert isinstance(seen, bytes) and b"echo: through the cockpit" in seen
    daemon.call("POST", f"/api/v1/sessions/{session['id']}/kill")


def test_it_listens_on_loopback_only(cockpit: Cockpit) -> None:
    port = f"{cockpit.port:04X}"
    listening = [
        line.split()[1]
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if line.split()[1].endswith(f":{port}") and line.split()[3] == "0A"
    ]
    assert listening == [f"0100007F:{port}"]
    assert not any(
        line.split()[1].endswith(f":{port}") and line.split()[3] == "0A"
        for line in Path("/proc/net/tcp6").read_text().splitlines()[1:]
    )


def test_the_state_file_is_private_and_names_this_server(cockpit: Cockpit) -> None:
    state = cockpit.home / "cockpit.json"
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o600
    doc = json.loads(state.read_text())
    assert doc["pid"] == cockpit.proc.pid and doc["port"] == cockpit.port
    assert doc["token"] == cockpit.token


def test_a_daemon_that_is_down_is_a_503_with_a_sentence(tmp_path: Path) -> None:
    with running_daemon(tmp_path) as daemon, running_cockpit(daemon) as cockpit:
        daemon.stop()
        reply = cockpit.http("GET", "/api/v1/health")
        assert reply.status == 503
        error = json.loads(reply.body)["error"]
        assert error["code"] == "daemon_unavailable"
        assert "coven daemon start" in error["message"]
        context = cockpit.http("GET", "/cockpit/context").json()
        assert context["daemon"]["reachable"] is False


def test_a_large_daemon_answer_passes_whole(cockpit: Cockpit, daemon: Daemon) -> None:
    # Regression: the proxy once returned only the first chunk of a big body.
    session = daemon.launch("--fake-mode=flood")
    daemon.wait_status(session["id"], {"completed"})
    path = f"/api/v1/sessions/{session['id']}/events?limit=1000"
    direct = daemon.call("GET", path)
    assert len(direct.body) > 256 * 1024
    proxied = cockpit.http("GET", path)
    assert proxied.status == 200
    assert proxied.body == direct.body
