"""Automatic pruning in a real daemon: back-dated events go on the daemon's own tick,
with no command; a running session's survive; health reports the prune."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from tests.support.daemon import Daemon, running_daemon

QUICK_TICK = {"COVEN_PRUNE_FIRST_DELAY_SECONDS": "0.2", "COVEN_PRUNE_INTERVAL_SECONDS": "0.2"}
LONG_AGO = "2020-01-01T00:00:00.000000000Z"


def age_events(home: Path, session_id: str) -> None:
    """Back-date a session's events (a second writer beside the daemon's)."""
    conn = sqlite3.connect(home / "coven.sqlite3", timeout=10)
    try:
        conn.execute(
            "UPDATE events SET created_at = ? WHERE session_id = ?", (LONG_AGO, session_id)
        )
        conn.commit()
    finally:
        conn.close()


def say(daemon: Daemon, session_id: str, line: str) -> None:
    reply = daemon.call("POST", f"/api/v1/sessions/{session_id}/input", {"data": line + "\n"})
    assert reply.status == 202, reply.body
    daemon.wait_output(session_id, f"echo: {line}")


def storage(daemon: Daemon) -> dict[str, object]:
    block: dict[str, object] = daemon.call("GET", "/api/v1/health").json()["storage"]
    return block


def test_the_tick_prunes_old_events_of_finished_sessions_by_itself(tmp_path: Path) -> None:
    with running_daemon(tmp_path, QUICK_TICK) as daemon:
        done = daemon.launch("old", title="old finished")
        say(daemon, done["id"], "ancient wisdom")
        daemon.call("POST", f"/api/v1/sessions/{done['id']}/input", {"data": "exit\n"})
        daemon.wait_status(done["id"], {"completed"})
        live = daemon.launch("still running")
        say(daemon, live["id"], "ancient live words")
        live_events = len(daemon.events(live["id"]))
        for session_id in (done["id"], live["id"]):
            age_events(daemon.home, session_id)
        deadline = time.monotonic() + 15
        while daemon.events(done["id"]):
            assert time.monotonic() < deadline, "the tick never pruned the finished session"
            time.sleep(0.1)
        assert len(daemon.events(live["id"])) >= live_events  # a running session keeps all
        record = daemon.call("GET", f"/api/v1/sessions/{done['id']}").json()
        assert record["title"] == "old finished" and record["status"] == "completed"
        hits = daemon.call("GET", "/api/v1/search?q=ancient").json()["hits"]
        assert {h["session_id"] for h in hits} == {live["id"]}  # the index followed
        block = storage(daemon)
        assert isinstance(block["lastPruneAt"], str)
        assert isinstance(block["pruneAgeSeconds"], int) and block["pruneAgeSeconds"] < 60
        assert block["maintenanceBlocked"] is False
        assert block["status"] in {"ok", "warning"}  # warning: under 1 GiB free here
        last = block["lastPruneAt"]
    # The prune time is kept across restarts (this daemon's first tick is a minute away).
    with running_daemon(tmp_path) as daemon:
        assert storage(daemon)["lastPruneAt"] == last


def test_before_its_first_tick_nothing_is_pruned_and_health_says_never(tmp_path: Path) -> None:
    with running_daemon(tmp_path) as daemon:  # the default: first tick after 60 s
        session = daemon.launch("--fake-mode=exit")
        daemon.wait_status(session["id"], {"completed"})
        age_events(daemon.home, session["id"])
        time.sleep(0.5)
        assert daemon.events(session["id"])
        block = storage(daemon)
        assert block["lastPruneAt"] is None and block["pruneAgeSeconds"] is None


def test_the_retention_setting_is_the_default_of_a_prune_request(tmp_path: Path) -> None:
    with running_daemon(tmp_path, {"COVEN_LOG_RETENTION_DAYS": "7"}) as daemon:
        plan = daemon.call("POST", "/api/v1/store/prune", {"dryRun": True}).json()
        assert plan["eventDays"] == 7
        assert daemon.call("POST", "/api/v1/store/prune", {"eventDays": 2}).json()["eventDays"] == 2
