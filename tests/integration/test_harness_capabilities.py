"""Harness capability manifests: a read-only look at local config, honest about its limits."""

from __future__ import annotations

from pathlib import Path

from tests.support.daemon import running_daemon


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
