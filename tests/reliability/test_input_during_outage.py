"""Input accepted just as storage goes down: delivered at once, recorded later, never a hang."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability.test_storage_faults import LOCK_HOLDER
from tests.support.daemon import running_daemon


@pytest.mark.timeout(60)
def test_input_during_a_lock_answers_within_the_ack_timeout_and_is_recorded_later(
    tmp_path: Path,
) -> None:
    with running_daemon(tmp_path) as daemon:
        sid = daemon.launch("--fake-mode=echo")["id"]
        daemon.wait_output(sid, "ready")
        with subprocess.Popen(
            [sys.executable, "-c", LOCK_HOLDER, str(daemon.home / "coven.sqlite3"), "8"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as holder:
            assert holder.stdin is not None and holder.stdout is not None
            holder.stdin.write("go\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == "locked"
            # The writer is idle and still healthy: the input is accepted, then its
            # commit meets the lock.
            started = time.monotonic()
            reply = daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": "during\r"})
            elapsed = time.monotonic() - started
            assert reply.status == 202, reply.body
            assert reply.json() == {"accepted": True, "ok": True, "recorded": False}
            assert elapsed < 7.5, f"the POST waited {elapsed:.1f} s"
            assert holder.stdout.readline().strip() == "released"
        text = daemon.wait_output(sid, "echo: during", timeout=15)
        assert "echo: during" in text
        inputs = [
            json.loads(e["payload_json"])["data"]
            for e in daemon.events(sid)
            if e["kind"] == "input"
        ]
        assert inputs == ["during\r"], "the queued input event landed after recovery"
