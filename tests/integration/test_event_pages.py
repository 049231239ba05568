"""A session's events past the 4 MiB response limit: pages, never a 413.

Before: ``GET /events?sessionId=…`` without ``limit`` on a session with more
than 4 MiB of events answered 413 ``event_response_too_large``, and
``coven sessions events <id>`` failed on every big session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support.daemon import Daemon, running_daemon

FLOOD = 6 * 1024 * 1024
RESPONSE_LIMIT = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def flooded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Daemon, str]]:
    with running_daemon(tmp_path_factory.mktemp("event-pages")) as daemon:
        environment = {**daemon.env, "FAKE_BYTES": str(FLOOD)}
        sid = daemon.launch("--fake-mode=flood", environment=environment)["id"]
        daemon.wait_status(sid, {"completed"}, timeout=60.0)
        yield daemon, sid


@pytest.mark.parametrize("route", ["/api/v1/events?sessionId={}", "/api/v1/sessions/{}/events"])
def test_without_a_limit_the_first_page_that_fits_comes_back(
    flooded: tuple[Daemon, str], route: str
) -> None:
    daemon, sid = flooded
    reply = daemon.call("GET", route.format(sid))
    assert reply.status == 200, reply.body[:300]
    assert len(reply.body) < RESPONSE_LIMIT
    page = reply.json()
    assert page["hasMore"] is True and page["events"]
    assert page["nextCursor"] == {"afterSeq": page["events"][-1]["seq"]}


def test_following_the_cursor_without_a_limit_reads_every_byte(flooded: tuple[Daemon, str]) -> None:
    daemon, sid = flooded
    after, pages, events = 0, 0, []
    while True:
        reply = daemon.call("GET", f"/api/v1/events?sessionId={sid}&afterSeq={after}")
        assert reply.status == 200 and len(reply.body) < RESPONSE_LIMIT
        page = reply.json()
        events += page["events"]
        pages += 1
        if not page["hasMore"]:
            break
        after = page["nextCursor"]["afterSeq"]
    assert pages >= 2
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))
    assert events[-1]["kind"] == "exit"
    output = "".join(json.loads(e["payload_json"])["data"] for e in events if e["kind"] == "output")
    # The flood is 64-byte lines ending in "\n"; the terminal stores each as "\r\n".
    assert output.count("\r\n") >= FLOOD // 64
