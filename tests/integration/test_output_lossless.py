"""Lossless output: a 64 MiB flood stored byte for byte; replies to input never lost."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.daemon import Daemon, running_daemon
from tests.support.flood import expected_flood, stored_output

FLOOD_BYTES = 64 * 1024 * 1024


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_flood_of_64_mib_is_stored_byte_for_byte(tmp_path: Path) -> None:
    expected = expected_flood(FLOOD_BYTES)
    with running_daemon(tmp_path, extra_env={"FAKE_BYTES": str(FLOOD_BYTES)}) as daemon:
        started = time.monotonic()
        sid = daemon.launch("--fake-mode=flood")["id"]
        record = daemon.wait_status(sid, {"completed", "failed"}, timeout=90)
        drained = time.monotonic() - started
        assert record["status"] == "completed", record
        stored, kinds = stored_output(daemon, sid)
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
