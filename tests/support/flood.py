"""The deterministic flood of the fake harness, and reassembling it from the store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.support.daemon import Daemon

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fakes"))
from fake_harness import flood_chunks


def expected_flood(total: int) -> bytes:
    """What a flood of ``total`` bytes looks like after the PTY (ONLCR: LF becomes CRLF)."""
    return b"".join(flood_chunks(total)).replace(b"\n", b"\r\n")


def stored_output(daemon: Daemon, sid: str, page: int = 200) -> tuple[bytes, list[str]]:
    """Every stored output event of ``sid`` reassembled by paging; also every event kind."""
    parts: list[bytes] = []
    kinds: list[str] = []
    after = 0
    while True:
        reply = daemon.call(
            "GET", f"/api/v1/events?sessionId={sid}&afterSeq={after}&limit={page}", timeout=30
        )
        assert reply.status == 200, reply.body[:300]
        body = reply.json()
        for event in body["events"]:
            kinds.append(event["kind"])
            if event["kind"] == "output":
                parts.append(json.loads(event["payload_json"])["data"].encode())
        if not body["hasMore"]:
            return b"".join(parts), kinds
        after = body["nextCursor"]["afterSeq"]
