"""``coven doctor`` through the real CLI entry point, in a child process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.hermetic import FAKE_BIN, REPO, controlled_env

COVEN = [sys.executable, "-m", "coven.cli.entry"]


def run_coven(home: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = controlled_env(
        home.parent / "user-home", FAKE_BIN, extra={"COVEN_HOME": str(home), "NO_COLOR": "1"}
    )
    return subprocess.run(
        [*COVEN, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_doctor_json_through_the_cli(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    project = tmp_path / "project"
    project.mkdir()
    result = run_coven(home, project, "doctor", "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert result.stdout == json.dumps(doc, indent=2, sort_keys=True) + "\n"
    assert doc["ok"] is True and doc["blocking"] is False
    assert doc["store"] == str(home)
    assert doc["project"] == str(project.resolve())
    statuses = {check["id"]: check["status"] for check in doc["checks"]}
    assert statuses["harness:codex"] == "pass"
    assert statuses["harness:claude"] == "pass"
    assert statuses["daemon"] == "warn"
    assert not (home / "coven.sock").exists()  # doctor never starts the daemon


def test_doctor_exits_1_on_a_broken_manifest_with_no_error_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "adapters").mkdir(parents=True)
    home.chmod(0o700)
    shutil.copy(REPO / "tests/fixtures/manifests/broken_executable.json", home / "adapters")
    result = run_coven(home, tmp_path, "doctor")
    assert result.returncode == 1
    assert result.stdout.startswith("Coven doctor\n")
    assert "[!!] adapter manifest " in result.stdout
    assert "adapters[0].executable" in result.stdout
    assert "\x1b" not in result.stdout
    assert "Error:" not in result.stderr
