"""The Cave cockpit's and CastCodes' (Cast Agent's) call sets, replayed in order against a
real daemon with fake harnesses.

Each step is a call one of those clients makes, with the method and body it sends,
and the check is on the fields that client reads from the answer. Every answer must
also be framed the way they read it: never a 404 or 405, a ``Content-Length``,
``Connection: close``, no chunked encoding (CastCodes reads to EOF).

What the clients do, in our words:

* **CastCodes / Cast Agent** speaks raw HTTP/1.1 over the socket (``Host: localhost``,
  ``User-Agent``, ``Accept: application/json``, ``Connection: close``) and reads until
  the daemon closes. It probes health (only 2xx matters), lists sessions as a bare
  array (reading ``id, project_root, harness, title, status, exit_code, archived_at,
  created_at, updated_at, conversation_id``), opens a lane with ``{title, projectRoot,
  harness}`` and **no prompt**, runs a chat turn as a ``nonInteractive`` launch with a
  prompt and a title, polls ``GET /events?sessionId=&afterSeq=`` and ``GET
  /sessions/:id`` until the status is terminal (its output is the ``data`` of the
  ``output`` events' ``payload_json``), and closes a lane with ``POST …/kill {}``.
* **The Cave cockpit** checks health (``apiVersion``, the capability flags), reads the
  capability catalog (it offers the actions of ``available`` records) and posts
  actions with ``origin``/``intentId``, reads the overview, familiars, skills, memory,
  memory overview, research, Coven Calls, weaves, proposals and AFS sessions, the Cast
  Code catalog, records casts (untargeted and targeted), launches a delegation
  (``familiarId`` + ``callerFamiliarId``), pages sessions (``limit``,
  ``includeArchived``), and reads a session's detail, events and log, sends it input
  and kills it. It maps ``status`` to lane states (``running``; ``completed``,
  ``killed``, ``orphaned``, ``idle`` → reviewing; ``failed``).
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.helpers import shared_daemon
from tests.support.daemon import Daemon, Reply, parse_reply

ROSTER = """\
[[familiar]]
id = "sage"
display_name = "Sage"
role = "Research Familiar"
description = "Reads and synthesizes."
harness = "codex"

[[familiar]]
id = "cody"
display_name = "Cody"
role = "Coder"
description = "Writes code."
harness = "codex"
"""
STATUSES = {"created", "running", "idle", "completed", "failed", "killed", "orphaned"}
TERMINAL = {"completed", "killed", "failed", "orphaned"}
RECORD_KEYS_CASTCODES_READS = {
    "id",
    "project_root",
    "harness",
    "title",
    "status",
    "exit_code",
    "archived_at",
    "created_at",
    "updated_at",
    "conversation_id",
}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: Any) -> Iterator[Daemon]:
    with shared_daemon(tmp_path_factory, "callsets") as d:
        (d.home / "familiars.toml").write_text(ROSTER)
        yield d


def framed(reply: Reply, method: str, path: str) -> Reply:
    """The framing every one of these clients relies on; never 404/405."""
    where = (method, path, reply.status, reply.body[:300])
    assert reply.status not in (404, 405), where
    assert reply.headers.get("connection", "").lower() == "close", where
    assert "chunked" not in reply.headers.get("transfer-encoding", ""), where
    assert int(reply.headers["content-length"]) == len(reply.body), where
    return reply


# ------------------------------------------------------------------ CastCodes


def cast_agent_call(daemon: Daemon, method: str, path: str, body: Any = None) -> Reply:
    """One request as Cast Agent's Unix client sends it: its headers, no half-close,
    read until the daemon closes the connection (10 s, as it waits)."""
    payload = b"" if body is None else json.dumps(body).encode()
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: cast_agent/0.1\r\n"
        "Accept: application/json\r\nConnection: close\r\n"
    )
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(str(daemon.socket))
        sock.sendall(head.encode() + b"\r\n" + payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return framed(parse_reply(b"".join(chunks)), method, path)


def test_castcodes_call_set(daemon: Daemon) -> None:
    project = daemon.env["COVEN_TEST_PROJECT"]
    # 1. The status pill: any 2xx.
    assert 200 <= cast_agent_call(daemon, "GET", "/api/v1/health").status < 300
    # 2. The lane list: a bare array of records.
    listed = cast_agent_call(daemon, "GET", "/api/v1/sessions")
    assert listed.status == 200 and isinstance(listed.json(), list)
    # 3. Open a lane: a title, a root, a harness, no prompt.
    lane_reply = cast_agent_call(
        daemon,
        "POST",
        "/api/v1/sessions",
        {"title": "lane one", "projectRoot": project, "harness": "claude"},
    )
    assert lane_reply.status == 201, lane_reply.body
    lane = lane_reply.json()
    assert set(lane) >= RECORD_KEYS_CASTCODES_READS
    assert (lane["title"], lane["harness"], lane["status"]) == ("lane one", "claude", "running")
    # 4. A chat turn: a one-shot launch with a prompt and a title.
    turn_body = {
        "projectRoot": project,
        "harness": "codex",
        "prompt": "--fake-mode=exit",
        "launchMode": "nonInteractive",
        "title": "--fake-mode=exit"[:60],
    }
    turn_reply = cast_agent_call(daemon, "POST", "/api/v1/sessions", turn_body)
    assert turn_reply.status == 201, turn_reply.body
    turn = turn_reply.json()
    # 5. Poll events and the record every 500 ms until the status is terminal.
    after, output, status = 0, "", turn["status"]
    deadline = time.monotonic() + 30
    while True:
        page = cast_agent_call(
            daemon, "GET", f"/api/v1/events?sessionId={turn['id']}&afterSeq={after}"
        )
        assert page.status == 200
        envelope = page.json()
        assert isinstance(envelope["hasMore"], bool)
        for event in envelope["events"]:
            assert event["seq"] > after
            after = event["seq"]
            if event["kind"] == "output":
                output += json.loads(event["payload_json"])["data"]
        if status in TERMINAL:
            break  # the final drain is done
        record = cast_agent_call(daemon, "GET", f"/api/v1/sessions/{turn['id']}")
        assert record.status == 200
        status = record.json()["status"]
        assert status in STATUSES
        assert time.monotonic() < deadline, "the chat turn never ended"
        time.sleep(0.5 if status not in TERMINAL else 0)
    assert status == "completed"
    assert "FAKE[codex]" in output
    # 6. Close the lane: kill with an empty object.
    killed = cast_agent_call(daemon, "POST", f"/api/v1/sessions/{lane['id']}/kill", {})
    assert 200 <= killed.status < 300, killed.body
    final = daemon.wait_status(lane["id"], TERMINAL)
    assert final["status"] == "killed"
    # 7. The list again: both lanes, every record with the fields it maps.
    rows = {r["id"]: r for r in cast_agent_call(daemon, "GET", "/api/v1/sessions").json()}
    assert {lane["id"], turn["id"]} <= set(rows)
    for row in rows.values():
        assert set(row) >= RECORD_KEYS_CASTCODES_READS and row["status"] in STATUSES


# ------------------------------------------------------------------ the Cave


def cave_call(daemon: Daemon, method: str, path: str, body: Any = None) -> Any:
    """One Cave call; returns the parsed body after the framing check."""
    reply = framed(daemon.call(method, path, body), method, path)
    assert 200 <= reply.status < 300 or reply.status == 400, (method, path, reply.body[:300])
    return reply


def ok(daemon: Daemon, method: str, path: str, body: Any = None, status: int = 200) -> Any:
    reply = cave_call(daemon, method, path, body)
    assert reply.status == status, (method, path, reply.status, reply.body[:300])
    return reply.json()


def test_cave_call_set(daemon: Daemon) -> None:
    project = daemon.env["COVEN_TEST_PROJECT"]
    # Handshake: the contract, then the flags the cockpit needs.
    health = ok(daemon, "GET", "/api/v1/health")
    assert health["ok"] is True and health["apiVersion"] == "coven.daemon.v1"
    caps = health["capabilities"]
    assert caps["structuredErrors"] is True and caps["eventCursor"] == "sequence"
    assert caps["sessions"] is True and caps["events"] is True
    assert health["storage"]["status"] in {"ok", "warning", "critical", "degraded"}
    # The catalog: it offers the actions of available records only.
    catalog = ok(daemon, "GET", "/api/v1/capabilities")["capabilities"]
    offered: set[str] = set()
    for record in catalog:
        assert list(record) == ["id", "label", "adapter", "status", "policy", "actions"]
        assert record["status"] in {"available", "planned"}
        assert record["policy"] in {"allow", "requiresApproval"}
        if record["status"] == "available":
            offered.update(record["actions"])
    assert "coven.capabilities.refresh" in offered
    refresh = {"action": "coven.capabilities.refresh", "origin": "cave", "intentId": "intent-7"}
    done = ok(daemon, "POST", "/api/v1/actions", refresh)
    assert (done["ok"], done["accepted"], done["status"]) == (True, True, "completed")
    assert done["event"]["origin"] == "cave" and done["event"]["intentId"] == "intent-7"
    refused = cave_call(daemon, "POST", "/api/v1/actions", {"action": "desktop.window.focus"})
    assert refused.status == 400
    assert refused.json()["status"] == "rejected" and "unknown action" in refused.json()["reason"]
    # The cockpit's reads.
    overview = ok(daemon, "GET", "/api/v1/overview")
    assert set(overview) == {
        "active_familiars",
        "total_familiars",
        "open_sessions",
        "skills_count",
        "average_skill_score",
        "research_iterations",
        "last_research_delta",
    }
    assert overview["total_familiars"] == 2
    familiars = ok(daemon, "GET", "/api/v1/familiars")
    assert [f["id"] for f in familiars] == ["sage", "cody"]
    for familiar in familiars:
        for key in (
            "display_name",
            "role",
            "description",
            "status",
            "active_sessions",
            "last_seen",
        ):
            assert key in familiar, key
    for path in ("/skills", "/memory", "/research", "/threads/weaves"):
        assert ok(daemon, "GET", "/api/v1" + path) == [], path
    memory = ok(daemon, "GET", "/api/v1/memory/overview")
    assert {"generated_at", "totals", "last_updated_at", "capabilities", "verification"} <= set(
        memory
    )
    assert ok(daemon, "GET", "/api/v1/threads/proposals") == {"proposals": []}
    assert ok(daemon, "GET", "/api/v1/afs/sessions") == {"sessions": []}
    assert ok(daemon, "GET", "/api/v1/coven-calls") == {"ok": True, "calls": []}
    codes = ok(daemon, "GET", "/api/v1/cast-codes")
    assert len(codes) == 7 and all(set(c) == {"code", "description", "type"} for c in codes)
    # The palette records a cast (no target: the cockpit's own ledger).
    cast = ok(daemon, "POST", "/api/v1/cast", {"code": "~?"}, status=202)
    assert cast["accepted"] is True and cast["echo"] == "~?"
    assert re.fullmatch(r"cast-[0-9a-f]{32}", cast["cast_id"])
    # A delegation: the callee familiar runs, the call is in the ledger.
    delegated = ok(
        daemon,
        "POST",
        "/api/v1/sessions",
        {
            "projectRoot": project,
            "harness": "codex",
            "prompt": "survey the tests",
            "familiarId": "sage",
            "callerFamiliarId": "cody",
        },
        status=201,
    )
    sid = delegated["id"]
    assert delegated["familiar_id"] == "sage"
    calls = ok(daemon, "GET", "/api/v1/coven-calls")["calls"]
    assert [(c["callerFamiliarId"], c["calleeFamiliarId"], c["sessionId"]) for c in calls] == [
        ("cody", "sage", sid)
    ]
    assert {"id", "request", "status", "createdAt"} <= set(calls[0])
    one = ok(daemon, "GET", f"/api/v1/coven-calls/{calls[0]['id']}")
    assert one["ok"] is True and one["call"]["id"] == calls[0]["id"]
    # Sessions, paged.
    page = ok(daemon, "GET", "/api/v1/sessions?limit=10&includeArchived=true")
    assert set(page) >= {"sessions", "next_cursor"}
    assert sid in {r["id"] for r in page["sessions"]}
    assert all(r["status"] in STATUSES for r in page["sessions"])
    familiar = next(f for f in ok(daemon, "GET", "/api/v1/familiars") if f["id"] == "sage")
    assert familiar["active_sessions"] == 1
    # One lane in detail: record, events, log, input, a targeted cast, kill.
    assert ok(daemon, "GET", f"/api/v1/sessions/{sid}")["status"] == "running"
    events = ok(daemon, "GET", f"/api/v1/events?sessionId={sid}&afterSeq=0")
    assert {"events", "nextCursor", "hasMore"} <= set(events)
    log = ok(daemon, "GET", f"/api/v1/sessions/{sid}/log")
    assert isinstance(log, list) and all(set(line) >= {"ts", "level", "message"} for line in log)
    assert ok(daemon, "POST", f"/api/v1/sessions/{sid}/input", {"data": "hi\n"}, status=202)
    targeted = ok(daemon, "POST", "/api/v1/cast", {"code": "~<handoff", "target": sid}, status=202)
    assert targeted["echo"] == f"~<handoff → {sid}"
    killed = ok(daemon, "POST", f"/api/v1/sessions/{sid}/kill", {}, status=202)
    assert killed["ok"] is True and killed["accepted"] is True
    assert daemon.wait_status(sid, TERMINAL)["status"] == "killed"  # a reviewing lane
    assert ok(daemon, "GET", "/api/v1/overview")["open_sessions"] == 0
