"""Search and prune through both clients (sync and asyncio) against a real daemon:
the same typed results, the same errors."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from coven.client import ApiError, AsyncCovenClient, CovenClient
from coven.schema.search import PruneResult, SearchResult
from tests.support.daemon import Daemon


@pytest.fixture
def finished(daemon: Daemon) -> str:
    """A finished session that said "quartz", its events back-dated to 2020."""
    session = daemon.launch("x", title="quartz title")
    daemon.call("POST", f"/api/v1/sessions/{session['id']}/input", {"data": "quartz\n"})
    daemon.wait_output(session["id"], "echo: quartz")
    daemon.call("POST", f"/api/v1/sessions/{session['id']}/input", {"data": "exit\n"})
    daemon.wait_status(session["id"], {"completed"})
    conn = sqlite3.connect(daemon.home / "coven.sqlite3", timeout=10)
    try:
        conn.execute(
            "UPDATE events SET created_at = '2020-01-01T00:00:00.000000000Z' WHERE session_id = ?",
            (session["id"],),
        )
        conn.commit()
    finally:
        conn.close()
    session_id: str = session["id"]
    return session_id


async def test_async_client_searches_and_prunes(daemon: Daemon, finished: str) -> None:
    events = len(daemon.events(finished))
    async with AsyncCovenClient.from_home(daemon.home) as client:
        found = await client.search("quartz")
        assert isinstance(found, SearchResult) and found.complete
        assert {(h.session_id, h.kind) for h in found.hits} == {
            (finished, "output"),
            (finished, "title"),
        }
        assert len((await client.search("quartz", limit=1)).hits) == 1
        plan = await client.prune(30, dry_run=True)
        assert isinstance(plan, PruneResult) and plan.dryRun and plan.events == events
        done = await client.prune()
        assert not done.dryRun and done.eventDays == 30 and done.events == events
        assert [s.sessionId for s in done.sessions] == [finished]
        assert [h.kind for h in (await client.search("quartz")).hits] == ["title"]
        with pytest.raises(ApiError) as refused:
            await client.search("   ")
        assert refused.value.code == "invalid_request"
        with pytest.raises(ApiError) as refused:
            await client.prune(0)
        assert refused.value.code == "invalid_request"
    assert daemon.events(finished) == []


def test_sync_and_async_clients_agree(daemon: Daemon, finished: str) -> None:
    async def both() -> tuple[SearchResult, PruneResult]:
        async with AsyncCovenClient.from_home(daemon.home) as client:
            return await client.search("quartz"), await client.prune(30, dry_run=True)

    sync = CovenClient.from_home(daemon.home)
    found, plan = asyncio.run(both())
    assert found.hits == sync.search("quartz").hits
    expected = sync.prune(30, dry_run=True)
    assert (plan.events, plan.sessions) == (expected.events, expected.sessions)
