"""Harness capability manifests: a read-only look at local config, honest about its limits."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support.daemon import FAKE_BIN, running_daemon


def test_manifests_report_global_instructions_from_the_users_home(tmp_path: Path) -> None:
    user_home = tmp_path / "user"
    (user_home / ".codex").mkdir(parents=True)
    (user_home / ".codex" / "AGENTS.md").write_text("# house rules\n")
    with running_daemon(tmp_path, {"HOME": str(user_home)}) as daemon:
        reply = daemon.call("GET", "/api/v1/capabilities/harnesses")
        assert reply.status == 200
        body = reply.json()
        manifests = {m["harness_id"]: m for m in body["harness_capabilities"]}
        assert list(manifests)[:2] == ["codex", "claude"]
        assert manifests["codex"]["global_instructions"] == {
            "present": True,
            "path": str(user_home / ".codex" / "AGENTS.md"),
            "byte_count": len("# house rules\n"),
        }
        assert manifests["claude"]["global_instructions"] == {"present": False}
        assert any(w["kind"] == "not_scanned" for w in manifests["codex"]["warnings"])
        single = daemon.call("GET", "/api/v1/capabilities/codex").json()
        assert single["global_instructions"]["present"] is True
        assert daemon.call("GET", "/capabilities/claude").status == 200


def test_harness_availability_is_what_a_launch_would_find_on_the_daemons_path(
    tmp_path: Path,
) -> None:
    # A PATH with codex (and the python3 its script needs) but no claude.
    only_codex = tmp_path / "bin"
    only_codex.mkdir()
    (only_codex / "codex").symlink_to(FAKE_BIN / "codex")
    (only_codex / "python3").symlink_to(sys.executable)
    with running_daemon(tmp_path, {"PATH": str(only_codex)}) as daemon:
        health = daemon.call("GET", "/api/v1/health").json()
        assert health["capabilities"]["harnessAvailability"] is True
        reply = daemon.call("GET", "/api/v1/harnesses")
        assert reply.status == 200
        harnesses = {h["id"]: h for h in reply.json()["harnesses"]}
        assert harnesses["codex"]["available"] is True
        assert "reason" not in harnesses["codex"]
        claude = harnesses["claude"]
        assert claude["available"] is False
        assert "`claude` is not on the daemon's PATH" in claude["reason"]
        refused = daemon.call(
            "POST",
            "/api/v1/sessions",
            {"projectRoot": daemon.env["COVEN_TEST_PROJECT"], "harness": "claude", "prompt": "x"},
        )
        assert refused.status >= 400  # the picker and the launch agree
        assert daemon.call("GET", "/harnesses").status == 200
