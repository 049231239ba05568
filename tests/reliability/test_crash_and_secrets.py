"""kill -9 mid-flood, graceful stop, and secrets that must never reach the store or the log."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.support.daemon import Daemon
from tests.support.daemon import daemon_env as make_env


def _daemon(tmp_path: Path, **extra: str) -> Daemon:
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir(exist_ok=True)
    return Daemon(home, make_env(home, project, extra))


def all_events(daemon: Daemon, sid: str) -> list[dict[str, object]]:
    """Every event, paged (a flood is larger than one unpaged response may be)."""
    events: list[dict[str, object]] = []
    after = 0
    while True:
        reply = daemon.call("GET", f"/api/v1/events?sessionId={sid}&afterSeq={after}&limit=200")
        assert reply.status == 200, reply.body
        page = reply.json()
        events.extend(page["events"])
        if not page["hasMore"]:
            return events
        after = page["nextCursor"]["afterSeq"]


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.timeout(120)
@pytest.mark.parametrize(
    ("run", "holders"),
    [(0, True), (1, True), (0, False)],
    ids=["holders-0", "holders-1", "daemon-owned"],
)
def test_kill_9_mid_flood_keeps_committed_events_and_adopts_or_orphans_rows(
    tmp_path: Path, run: int, holders: bool
) -> None:
    """With holders the next daemon adopts every session (they keep running); with
    harnesses as the daemon's children (``COVEN_HOLDERS=0``) it reaps and orphans them."""
    # Adopted floods run to their end (their whole output is read back below): smaller.
    extra = {"FAKE_BYTES": str(32 * 1024 * 1024)} if holders else {"COVEN_HOLDERS": "0"}
    daemon = _daemon(tmp_path, **{"FAKE_BYTES": str(200 * 1024 * 1024), **extra})
    daemon.start()
    floods = [daemon.launch("--fake-mode=flood")["id"] for _ in range(3)]
    stubborn = daemon.launch("--fake-mode=ignore-signals")["id"]
    text = daemon.wait_output(stubborn, "ready")
    pids = [int(p) for p in text.split("pids ", 1)[1].split()[:2]]
    time.sleep(0.3 + 0.2 * run)
    seen = {sid: all_events(daemon, sid) for sid in [*floods, stubborn]}
    assert all(seen[sid] for sid in floods)
    daemon.crash()
    assert (daemon.home / "coven.sock").exists()  # left behind, to be reclaimed
    daemon.start()
    try:
        if holders:
            for sid in floods:
                daemon.wait_status(sid, {"completed"}, timeout=60)
        checked = 0
        for sid, before in seen.items():
            after = all_events(daemon, sid)
            by_seq = {e["seq"]: e for e in after}
            for event in before:
                assert by_seq[event["seq"]] == event  # committed before the crash: intact
                json.loads(event["payload_json"])
                checked += 1
            seqs = [e["seq"] for e in after]
            assert seqs == sorted(set(seqs))
            record = daemon.call("GET", f"/api/v1/sessions/{sid}").json()
            meta = [json.loads(e["payload_json"]) for e in after if e["kind"] == "metadata"]
            if holders:
                assert record["status"] in ("running", "completed"), record
                assert not any(m.get("orphaned") for m in meta), meta
            else:
                assert record["status"] == "orphaned", record
                assert any(m.get("orphaned") and m.get("reason") for m in meta), meta
        status = json.loads((daemon.home / "daemon.json").read_text())
        assert status["pid"] == daemon.proc.pid if daemon.proc else False
        if holders:
            # Adopted: the stubborn harness runs on, until the daemon's stop ends it.
            assert all(_alive(p) for p in pids), "an adopted harness died"
            assert daemon.call("GET", f"/api/v1/sessions/{stubborn}").json()["status"] == "running"
            assert daemon.stop() == 0
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) for p in pids), "a harness survived the crash and restart"
        print(f"crash run {run}: {checked} pre-crash events verified")
    finally:
        daemon.stop()


def test_graceful_stop_leaves_no_row_running(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path)
    daemon.start()
    ids = [daemon.launch(f"--fake-mode={m}")["id"] for m in ("sleep", "echo", "ignore-signals")]
    for sid in ids:
        daemon.wait_output(sid, "ready")
    assert daemon.stop() == 0
    assert not (daemon.home / "coven.sock").exists()
    assert not (daemon.home / "daemon.json").exists()
    daemon.start()
    try:
        for sid in ids:
            record = daemon.call("GET", f"/api/v1/sessions/{sid}").json()
            assert record["status"] not in ("running", "orphaned"), record
            assert daemon.events(sid)[-1]["kind"] == "exit"
    finally:
        daemon.stop()


SECRETS = [
    "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd",
    "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "github_pat_11AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "AKIAIOSFODNN7EXAMPLQ",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
]
LINES = [
    f"OPENAI_API_KEY={SECRETS[0]}",
    f"key {SECRETS[1]}",
    f"token {SECRETS[2]} and {SECRETS[3]}",
    f"slack {SECRETS[4]}",
    f"aws_access_key_id={SECRETS[5]} aws_secret_access_key={SECRETS[6]}",
    f"jwt {SECRETS[7]}",
    "Authorization: Bearer Zm9vYmFyYmF6cXV4c2VjcmV0dG9rZW4xMjM0",
    "Cookie: session=Zm9vYmFyc2VjcmV0Y29va2llMTIzNDU2",
    "password=Hunter2Hunter2Secret",
    "postgres://admin:S3cretPassw0rdXyz@db.example.com/app",
]
NEEDLES = [
    *SECRETS,
    "Zm9vYmFyYmF6cXV4c2VjcmV0dG9rZW4xMjM0",
    "Zm9vYmFyc2VjcmV0Y29va2llMTIzNDU2",
    "Hunter2Hunter2Secret",
    "S3cretPassw0rdXyz",
]
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"


def test_secrets_in_output_input_prompt_and_split_reads_are_never_stored(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path)
    daemon.start()
    try:
        sid = daemon.launch(f"deploy with {SECRETS[0]}")["id"]
        daemon.wait_output(sid, "ready")
        for line in LINES:
            assert (
                daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": line + "\r"}).status
                == 202
            )
        for secret in (SECRETS[2], SECRETS[4], SECRETS[7]):  # typed in two halves with a pause
            half = len(secret) // 2
            daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": secret[:half]})
            time.sleep(0.4)
            daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": secret[half:] + "\r"})
        daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": "done-marker\r"})
        daemon.wait_output(sid, "echo: done-marker")
        daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})
        stored = (
            json.dumps(daemon.events(sid))
            + json.dumps(daemon.call("GET", f"/api/v1/sessions/{sid}").json())
            + json.dumps(daemon.call("GET", f"/api/v1/sessions/{sid}/log").json())
        )
    finally:
        daemon.stop()
    db = (daemon.home / "coven.sqlite3").read_bytes()
    for name in ("coven.sqlite3-wal", "daemon.log"):
        path = daemon.home / name
        db += path.read_bytes() if path.exists() else b""
    leaks = [n for n in NEEDLES if n in stored or n.encode() in db]
    assert not leaks, leaks
    assert "[REDACTED]" in stored


def test_pem_typed_line_by_line_is_never_stored(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path)
    daemon.start()
    try:
        sid = daemon.launch("pem")["id"]
        daemon.wait_output(sid, "ready")
        for pem_line in PEM.split("\n"):
            daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": pem_line + "\r"})
            time.sleep(0.2)
        daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": "done-marker\r"})
        daemon.wait_output(sid, "echo: done-marker")
        stored = json.dumps(daemon.events(sid))
    finally:
        daemon.stop()
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in stored


def test_bad_regex_in_privacy_toml_refuses_to_start(tmp_path: Path) -> None:
    daemon = _daemon(tmp_path)
    daemon.home.mkdir(mode=0o700)
    (daemon.home / "privacy.toml").write_text('extra_patterns = ["(unclosed"]\n')
    os.chmod(daemon.home / "privacy.toml", 0o600)
    with pytest.raises(RuntimeError, match="privacy"):
        daemon.start()
    assert not (daemon.home / "coven.sock").exists()
