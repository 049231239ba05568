"""`GET /search` and `POST /store/prune` against a real daemon with fake harnesses."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest

from tests.support.daemon import Daemon, running_daemon


def search(daemon: Daemon, text: str, **params: Any) -> dict[str, Any]:
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    reply = daemon.call("GET", f"/api/v1/search?q={quote_plus(text)}{extra}")
    assert reply.status == 200, reply.body
    body: dict[str, Any] = reply.json()
    return body


def say(daemon: Daemon, session_id: str, line: str, expect: str | None = None) -> None:
    reply = daemon.call("POST", f"/api/v1/sessions/{session_id}/input", {"data": line + "\n"})
    assert reply.status == 202, reply.body
    daemon.wait_output(session_id, f"echo: {line if expect is None else expect}")


def test_search_finds_output_and_titles_ranked_with_highlights(daemon: Daemon) -> None:
    first = daemon.launch("first", title="tidy the quartz module")
    second = daemon.launch("second", title="unrelated")
    say(daemon, second["id"], "the \x1b[1mquartz\x1b[0m build failed")
    result = search(daemon, "quartz")
    assert result["complete"] is True and result["query"] == "quartz"
    found = {(h["session_id"], h["kind"]) for h in result["hits"]}
    assert found == {(first["id"], "title"), (second["id"], "output")}
    for hit in result["hits"]:
        start, end = hit["highlights"][0]
        assert hit["snippet"][start:end].lower() == "quartz"
        assert "\x1b" not in hit["snippet"]
        assert hit["status"] == "running" and hit["harness"] == "codex"
    output_hit = next(h for h in result["hits"] if h["kind"] == "output")
    assert output_hit["event_id"] and output_hit["seq"] > 0
    # Every word must match; case does not matter; limit bounds the answer.
    assert [h["session_id"] for h in search(daemon, "QUARTZ build")["hits"]] == [second["id"]]
    assert search(daemon, "quartz nonexistentword")["hits"] == []
    assert len(search(daemon, "quartz", limit=1)["hits"]) == 1


def test_search_never_shows_a_secret(daemon: Daemon) -> None:
    session = daemon.launch("x")
    secret = "AKIAIOSFODNN7EXAMPLE"
    say(daemon, session["id"], f"key {secret} leaked", expect="key [REDACTED] leaked")
    assert search(daemon, secret)["hits"] == []
    hits = search(daemon, "leaked")["hits"]
    assert hits and all(secret not in h["snippet"] for h in hits)
    assert any("[REDACTED]" in h["snippet"] for h in hits)


@pytest.mark.parametrize(
    ("target", "code_fragment"),
    [
        ("/api/v1/search", "`q` is required"),
        ("/api/v1/search?q=", "must not be empty"),
        ("/api/v1/search?q=+++", "must not be empty"),
        ("/api/v1/search?q=x&limit=0", "between 1 and"),
        ("/api/v1/search?q=x&limit=abc", "positive integer"),
        ("/api/v1/search?q=%FF", "UTF-8"),
    ],
)
def test_bad_searches_are_refused_clearly(daemon: Daemon, target: str, code_fragment: str) -> None:
    reply = daemon.call("GET", target)
    assert reply.status == 400
    error = reply.json()["error"]
    assert error["code"] == "invalid_request" and code_fragment in error["message"]


def test_fts_syntax_in_a_query_is_taken_literally(daemon: Daemon) -> None:
    session = daemon.launch("x")
    say(daemon, session["id"], 'error: "NEAR(" AND OR *')
    for text in ['"NEAR("', "AND OR", "error:", "*", '"']:
        search(daemon, text)  # 200, never an FTS5 syntax error


def _age_events(home: Path, session_id: str, created_at: str) -> None:
    """Back-date a session's events (a second writer beside the daemon's, as a user might)."""
    conn = sqlite3.connect(home / "coven.sqlite3", timeout=10)
    try:
        conn.execute(
            "UPDATE events SET created_at = ? WHERE session_id = ?", (created_at, session_id)
        )
        conn.commit()
    finally:
        conn.close()


def test_prune_deletes_old_events_of_finished_sessions_only(tmp_path: Path) -> None:
    with running_daemon(tmp_path) as daemon:
        done = daemon.launch("old finished", title="old finished")
        say(daemon, done["id"], "ancient wisdom")
        daemon.call("POST", f"/api/v1/sessions/{done['id']}/input", {"data": "exit\n"})
        daemon.wait_status(done["id"], {"completed"})
        live = daemon.launch("old live")
        say(daemon, live["id"], "ancient live text")
        recent = daemon.launch("--fake-mode=exit")
        daemon.wait_status(recent["id"], {"completed"})
        assert len(search(daemon, "ancient")["hits"]) == 2  # indexed before the events age
        for session_id in (done["id"], live["id"]):
            _age_events(tmp_path / "home", session_id, "2020-01-01T00:00:00.000000000Z")
        before = len(daemon.events(done["id"]))
        dry = daemon.call("POST", "/api/v1/store/prune", {"dryRun": True, "eventDays": 30})
        assert dry.status == 200, dry.body
        plan = dry.json()
        assert plan["dryRun"] is True and plan["eventDays"] == 30
        assert plan["sessions"] == [{"sessionId": done["id"], "events": before}]
        assert plan["events"] == before
        assert len(daemon.events(done["id"])) == before  # a dry run deletes nothing
        reply = daemon.call("POST", "/api/v1/store/prune", {"eventDays": 30})
        assert reply.status == 200, reply.body
        assert reply.json()["events"] == before and reply.json()["dryRun"] is False
        assert daemon.events(done["id"]) == []
        assert daemon.events(live["id"])  # never a live session's
        assert daemon.events(recent["id"])  # nor recent events
        hits = search(daemon, "ancient")["hits"]
        assert [h["session_id"] for h in hits] == [live["id"]]
        # The record stays, with its title.
        record = daemon.call("GET", f"/api/v1/sessions/{done['id']}").json()
        assert record["title"] == "old finished"
        again = daemon.call("POST", "/api/v1/store/prune", {}).json()
        assert again["events"] == 0 and again["sessions"] == []


@pytest.mark.parametrize(
    "body",
    [{"eventDays": 0}, {"eventDays": -3}, {"eventDays": "7"}, {"eventDays": 1.5}, {"x": 1}],
)
def test_bad_prune_bodies_are_refused(daemon: Daemon, body: dict[str, Any]) -> None:
    reply = daemon.call("POST", "/api/v1/store/prune", body)
    assert reply.status == 400, reply.body
    assert reply.json()["error"]["code"] == "invalid_request"


def test_a_store_from_before_search_is_backfilled(tmp_path: Path) -> None:
    with running_daemon(tmp_path) as daemon:
        session = daemon.launch("legacy", title="legacy title")
        say(daemon, session["id"], "legacy output words")
    path = tmp_path / "home" / "coven.sqlite3"
    conn = sqlite3.connect(path)
    try:  # the layout of schema version 2: no search tables
        for table in ("output_index", "title_index", "output_segments", "search_state"):
            conn.execute(f"DROP TABLE {table}")
        for trigger in ("sessions_title_ai", "sessions_title_au", "sessions_title_ad"):
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("ALTER TABLE sessions DROP COLUMN review_state")  # migration 4
        conn.execute("PRAGMA user_version = 2")
        conn.commit()
    finally:
        conn.close()
    with running_daemon(tmp_path) as daemon:
        kinds = sorted(h["kind"] for h in search(daemon, "legacy")["hits"])
        assert kinds == ["output", "title"]


def test_health_advertises_search_and_prune(daemon: Daemon) -> None:
    caps = daemon.call("GET", "/api/v1/health").json()["capabilities"]
    assert caps["search"] is True and caps["storePrune"] is True
    # The bare alias answers too, as for every route.
    assert daemon.call("GET", "/search?q=x").status == 200
