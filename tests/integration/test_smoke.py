"""A launch → events → input → kill → detail cycle over raw HTTP/1.1."""

from __future__ import annotations

from tests.support.daemon import Daemon


def test_launch_input_kill_cycle(daemon: Daemon) -> None:
    record = daemon.launch("hello")
    assert record["status"] == "running"
    sid = record["id"]
    daemon.wait_output(sid, "ready")
    reply = daemon.call("POST", f"/sessions/{sid}/input", {"data": "ping\r"})
    assert (reply.status, reply.json()) == (202, {"accepted": True, "ok": True})
    daemon.wait_output(sid, "echo: ping")
    reply = daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})
    assert reply.status == 202
    final = daemon.call("GET", f"/api/v1/sessions/{sid}").json()
    assert final["status"] == "killed"
    kinds = [e["kind"] for e in daemon.events(sid)]
    assert kinds[-2:] == ["kill", "exit"]
