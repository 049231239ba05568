"""Host routes in the cockpit server: names, the guard, the allow-list, unreachable hosts.

The app runs in-process on 127.0.0.1. ``ssh`` is a small script that records
each call and fails like OpenSSH does when a port refuses connections, so these
tests can count exactly when the cockpit tries to connect (the real client and
a real SSH server are in ``tests/e2e/test_cockpit_hosts.py``).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from coven.cockpit.cast_agent import CastAgent
from coven.cockpit.daemon_link import DaemonLink
from coven.cockpit.guard import Guard
from coven.cockpit.remote_hosts import RemoteHosts
from coven.cockpit.server import build_app

TOKEN = "t" * 43
REFUSED = "ssh: connect to host box.example port 22: Connection refused"


@dataclass
class Served:
    server: TestServer
    home: Path
    ssh_log: Path
    hosts: RemoteHosts

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def origin(self) -> str:
        return self.base

    def ssh_calls(self) -> list[str]:
        return self.ssh_log.read_text().splitlines() if self.ssh_log.exists() else []

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: bool = True,
        origin: str | None = None,
        host: str | None = None,
    ) -> tuple[int, Any]:
        headers = {"Host": host or f"127.0.0.1:{self.server.port}"}
        if token:
            headers["Authorization"] = f"Bearer {TOKEN}"
        if origin is not None:
            headers["Origin"] = origin
        async with (
            aiohttp.ClientSession() as client,
            client.request(
                method,
                aiohttp.client.URL(self.base + path, encoded=True),
                headers=headers,
                data=b"{}" if method == "POST" else None,
            ) as reply,
        ):
            body = await reply.read()
            try:
                return reply.status, await reply.json(content_type=None)
            except ValueError:
                return reply.status, body


@pytest.fixture
def scratch() -> Iterator[Path]:
    # Short, private and in /tmp: ssh socket paths must fit in 108 bytes.
    path = Path(tempfile.mkdtemp(prefix="cvh-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
async def served(scratch: Path) -> AsyncIterator[Served]:
    home = scratch / "home"
    home.mkdir(mode=0o700)
    (home / "hosts.toml").write_text('[hosts.box]\ntarget = "ssh://me@box.example"\n')
    ssh_log = scratch / "ssh.log"
    fake_ssh = scratch / "ssh"
    fake_ssh.write_text(f'#!/bin/sh\necho "$*" >> {ssh_log}\necho "{REFUSED}" >&2\nexit 255\n')
    fake_ssh.chmod(0o755)
    agent = CastAgent(DaemonLink(home / "coven.sock"), default_project_root=str(scratch))
    hosts = RemoteHosts(
        home,
        activity=agent.activity,
        environ={"COVEN_SSH_COMMAND": str(fake_ssh)},
        runtime=scratch / "run",
    )
    port = _free_port()
    server = TestServer(build_app(Guard(TOKEN, port), agent, hosts=hosts), port=port)
    await server.start_server()
    try:
        yield Served(server, home, ssh_log, hosts)
    finally:
        await server.close()


@pytest.mark.parametrize(
    "name",
    ["nope", "..", "-box", "b%6Fx", "box%2F", "x" * 65, "box.", "%20"],
)
async def test_an_unknown_or_malformed_host_name_is_a_404_with_a_code(
    served: Served, name: str
) -> None:
    for method, origin in (("GET", None), ("POST", served.origin)):
        status, doc = await served.call(method, f"/hosts/{name}/api/v1/sessions", origin=origin)
        assert status == 404, (name, doc)
        assert doc["error"]["code"] == "unknown_host"
    assert served.ssh_calls() == []


@pytest.mark.parametrize("prefix", ["", "/hosts/box"])
async def test_the_guard_applies_to_host_routes_exactly_as_to_local_ones(
    served: Served, prefix: str
) -> None:
    path = f"{prefix}/api/v1/sessions"
    status, doc = await served.call("GET", path, token=False)
    assert (status, doc["error"]["code"]) == (401, "unauthorized")
    status, doc = await served.call("GET", path, host="evil.example:80")
    assert (status, doc["error"]["code"]) == (403, "forbidden")
    status, doc = await served.call("POST", path)  # a state change without an Origin
    assert (status, doc["error"]["code"]) == (403, "forbidden")
    status, doc = await served.call("POST", path, origin="http://evil.example")
    assert (status, doc["error"]["code"]) == (403, "forbidden")
    status, doc = await served.call("GET", "/hosts/nope/api/v1/sessions", token=False)
    assert status == 401  # the guard comes first: no token, no word on which hosts exist
    assert served.ssh_calls() == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/hosts/box/api/v1/daemon/shutdown"),
        ("GET", "/hosts/box/api/v1/sessions/a%2Fb"),
        ("GET", "/hosts/box/api/v1/sessions/../health"),
        ("GET", "/hosts/box/"),
        ("GET", "/hosts/box"),
        ("GET", "/hosts/box/health"),
        ("DELETE", "/hosts/box/api/v1/sessions"),
    ],
)
async def test_the_allow_list_refuses_before_any_connection_is_tried(
    served: Served, method: str, path: str
) -> None:
    status, doc = await served.call(method, path, origin=served.origin)
    assert status == 403, (path, doc)
    assert doc["error"]["code"] == "not_allowed"
    assert served.ssh_calls() == []


async def test_an_unreachable_host_says_why_and_is_not_retried_at_once(served: Served) -> None:
    status, doc = await served.call("GET", "/hosts/box/api/v1/sessions")
    assert status == 503
    assert doc["error"]["code"] == "host_unreachable"
    assert doc["error"]["message"] == f"cannot reach box over ssh: {REFUSED}"
    calls = served.ssh_calls()
    assert len(calls) == 1 and "BatchMode=yes" in calls[0] and "me" in calls[0]

    status, doc = await served.call("GET", "/cockpit/hosts")
    assert status == 200
    assert doc == {
        "hosts": [
            {
                "name": "box",
                "target": "ssh://me@box.example",
                "state": "unreachable",
                "reason": f"cannot reach box over ssh: {REFUSED}",
            }
        ],
        "rosterError": None,
    }
    status, doc = await served.call("GET", "/hosts/box/api/v1/health")
    assert status == 503
    assert len(served.ssh_calls()) == 1  # within RETRY_SECONDS the failure is answered as is

    status, doc = await served.call("GET", "/cockpit/context")
    assert status == 200
    assert doc["hosts"] == {"configured": 1, "rosterError": None}
    assert doc["daemon"]["reachable"] is False  # this machine's state is its own


async def test_without_hosts_toml_nothing_is_listed_and_edits_are_picked_up(
    served: Served,
) -> None:
    (served.home / "hosts.toml").unlink()
    status, doc = await served.call("GET", "/cockpit/hosts")
    assert (status, doc) == (200, {"hosts": [], "rosterError": None})
    status, doc = await served.call("GET", "/cockpit/context")
    assert doc["hosts"] == {"configured": 0, "rosterError": None}

    (served.home / "hosts.toml").write_text("[hosts.two words]\n")
    status, doc = await served.call("GET", "/cockpit/context")
    assert doc["hosts"]["configured"] == 0
    assert "hosts.toml" in doc["hosts"]["rosterError"] and "line 1" in doc["hosts"]["rosterError"]
    status, doc = await served.call("GET", "/cockpit/hosts")
    assert doc["hosts"] == [] and "hosts.toml" in doc["rosterError"]

    (served.home / "hosts.toml").write_text('[hosts.later]\ntarget = "ssh://later.example"\n')
    status, doc = await served.call("GET", "/cockpit/hosts")
    assert [h["name"] for h in doc["hosts"]] == ["later"]
    assert doc["hosts"][0]["state"] in ("connecting", "unreachable")
    assert doc["rosterError"] is None
    status, doc = await served.call("GET", "/hosts/box/api/v1/sessions")
    assert (status, doc["error"]["code"]) == (404, "unknown_host")  # box is gone now
