"""Lossless output: a 64 MiB flood stored byte for byte; replies to input never lost."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from tests.support.daemon import Daemon, running_daemon

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fakes"))
from fake_harness import flood_chunks

FLOOD_BYTES = 64 * 1024 * 1024


def _all_output(daemon: Daemon, sid: str, page: int = 1000) -> tuple[bytes, list[str]]:
    """Reassemble every output event by paging with ``limit``; returns (bytes, kinds)."""
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


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_flood_of_64_mib_is_stored_byte_for_byte(tmp_path: Path) -> None:
    expected = b"".join(flood_chunks(FLOOD_BYTES)).replace(b"\n", b"\r\n")
    with running_daemon(tmp_path, extra_env={"FAKE_BYTES": str(FLOOD_BYTES)}) as daemon:
        started = time.monotonic()
        sid = daemon.launch("--fake-mode=flood")["id"]
        record = daemon.wait_status(sid, {"completed", "failed"}, timeout=90)
        drained = time.monotonic() - started
        assert record["status"] == "completed", record
        stored, kinds = _all_output(daemon, sid)
        assert "output_truncated" not in kinds
        assert kinds[-1] == "exit"
        _head, marker, flood = stored.partition(b"ready\r\n")
        assert marker, stored[:500]
        print(
            f"\nflood: emitted {len(expected)} bytes (PTY CRLF), stored {len(flood)} bytes "
            f"in {kinds.count('output')} events, {drained:.1f}s to exit "
            f"({len(expected) / drained / 2**20:.0f} MiB/s)"
        )
        assert len(flood) == len(expected)
        assert flood == expected


def test_every_immediate_echo_of_an_input_is_stored(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=echo")["id"]
    daemon.wait_output(sid, "ready")
    for n in range(200):
        reply = daemon.call("POST", f"/sessions/{sid}/input", {"data": f"line-{n}\r"})
        assert reply.status == 202
    text = daemon.wait_output(sid, "echo: line-199", timeout=20)
    for n in range(200):
        assert f"echo: line-{n}\r\n" in text, n
    kinds = [e["kind"] for e in daemon.events(sid)]
    assert kinds.count("input") == 200
    assert "output_truncated" not in kinds
    daemon.call("POST", f"/sessions/{sid}/kill", {})
