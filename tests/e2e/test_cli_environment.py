"""``coven run`` launches in the environment of the shell that ran it, not the daemon's.

Before: the daemon started earlier (here: with a PATH holding no harness) ran
every session in its own start-up environment, so ``coven doctor`` said codex
was available while ``coven run codex`` said it was not, and variables the user
exported after the daemon started never reached the harness.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from pathlib import Path

from tests.support.cli import Cli


def test_run_uses_the_shells_environment_and_agrees_with_doctor(cli: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    cli.run("daemon", "start", env={"PATH": str(empty)}, ok=True)

    doctor = json.loads(cli.run("doctor", "--json").stdout)
    statuses = {check["id"]: check["status"] for check in doctor["checks"]}
    assert statuses["harness:codex"] == "pass"

    value = "mark-" + secrets.token_hex(16)
    shell = {"COVEN_TEST_MARK": value, "FAKE_DIGEST_ENV": "COVEN_TEST_MARK", "FAKE_MODE": "exit"}
    proc = cli.run("run", "codex", "--detach", "--", "hello", env=shell, ok=True)
    session_id = proc.stdout.strip()
    digest = hashlib.sha256(value.encode()).hexdigest()
    cli.wait_output(session_id, f"envdigest COVEN_TEST_MARK={digest}")
    assert cli.wait_status(session_id, {"completed", "failed"})["status"] == "completed"
    assert value not in proc.stdout + proc.stderr

    cli.shutdown()
    stored = b"".join(p.read_bytes() for p in sorted(cli.home.rglob("*")) if p.is_file())
    assert value.encode() not in stored
