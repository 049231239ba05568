"""The reference's store-maintenance route reports real integrity, and claims no VACUUM."""

from __future__ import annotations

from tests.support.daemon import Daemon


def test_vacuum_route_runs_an_integrity_check(daemon: Daemon) -> None:
    daemon.launch("hello")
    reply = daemon.call("POST", "/api/v1/store/vacuum")
    assert reply.status == 200
    assert reply.json() == {
        "eventIndexRebuilt": False,
        "integrityCheck": ["ok"],
        "ok": True,
        "vacuumed": False,
    }
    assert daemon.call("GET", "/api/v1/store/vacuum").status == 404
