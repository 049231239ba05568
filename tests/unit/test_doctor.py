"""``coven doctor``: every state against real homes, real PATH directories and a real daemon."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from coven.cli.doctor import run_doctor
from tests.support.daemon import running_daemon

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "manifests"
FAKE_BIN = REPO / "tests" / "fakes" / "bin"


def make_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    home.chmod(0o700)
    return home


def make_bin(tmp_path: Path, *names: str, marker: Path | None = None) -> Path:
    """A PATH directory holding executable scripts; each touches ``marker`` if it is ever run."""
    directory = tmp_path / "bin"
    directory.mkdir(exist_ok=True)
    for name in names:
        script = directory / name
        touch = f'touch "{marker}"\n' if marker is not None else ""
        script.write_text(f"#!/bin/sh\n{touch}exit 0\n")
        script.chmod(0o755)
    return directory


def doctor(
    home: Path, path: Path | str, *, json_output: bool = False, **extra: str
) -> tuple[int, str]:
    out = io.StringIO()
    env = {"PATH": str(path), "HOME": str(home.parent), **extra}
    code = run_doctor(json_output, home=home, env=env, out=out)
    return code, out.getvalue()


def doctor_json(home: Path, path: Path | str, **extra: str) -> tuple[int, dict[str, object]]:
    code, text = doctor(home, path, json_output=True, **extra)
    return code, json.loads(text)


def checks_by_id(doc: dict[str, object]) -> dict[str, dict[str, str]]:
    checks = doc["checks"]
    assert isinstance(checks, list)
    return {check["id"]: check for check in checks}


# ----------------------------------------------------------------------------- harnesses


def test_available_and_missing_harnesses_are_pass_and_warn(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    code, doc = doctor_json(home, make_bin(tmp_path, "codex"))
    checks = checks_by_id(doc)
    assert code == 0
    assert checks["harness:codex"]["status"] == "pass"
    assert checks["harness:claude"]["status"] == "warn"
    assert "npm install -g @anthropic-ai/claude-code" in checks["harness:claude"]["hint"]
    assert checks["harnesses"] == {
        "id": "harnesses",
        "message": "1 of 2 configured harness executables available",
        "status": "pass",
    }
    assert doc["nextSteps"] == [
        'coven run codex "explain this repo in 5 bullets"',
        "coven sessions",
    ]


def test_no_harness_blocks_and_suggests_the_demo(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    code, doc = doctor_json(home, make_bin(tmp_path))
    assert code == 1
    assert doc["blocking"] is True and doc["ok"] is False
    assert checks_by_id(doc)["harnesses"]["status"] == "fail"
    steps = doc["nextSteps"]
    assert isinstance(steps, list)
    assert "coven adapter install demo" in steps
    assert 'coven run demo "explain this repo in 5 bullets"' in steps


def test_a_non_executable_file_or_a_directory_is_not_a_harness(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    directory = make_bin(tmp_path)
    (directory / "codex").write_text("#!/bin/sh\n")
    (directory / "codex").chmod(0o644)
    (directory / "claude").mkdir()
    code, doc = doctor_json(home, directory)
    checks = checks_by_id(doc)
    assert code == 1
    assert checks["harness:codex"]["status"] == "warn"
    assert checks["harness:claude"]["status"] == "warn"


def test_doctor_never_runs_a_harness(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    marker = tmp_path / "ran"
    directory = make_bin(tmp_path, "codex", "claude", marker=marker)
    code, _ = doctor(home, directory)
    assert code == 0
    assert not marker.exists()


def test_empty_path_entries_are_not_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = make_home(tmp_path)
    make_bin(tmp_path, "codex")
    monkeypatch.chdir(tmp_path / "bin")
    code, doc = doctor_json(home, ":")
    assert code == 1
    assert checks_by_id(doc)["harness:codex"]["status"] == "warn"


def test_demo_adapter_installed_and_available_counts_as_a_harness(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    (home / "adapters").mkdir()
    shutil.copy(REPO / "src" / "coven" / "harness" / "demo_manifest.json", home / "adapters")
    code, doc = doctor_json(home, make_bin(tmp_path, "coven-demo-agent"))
    checks = checks_by_id(doc)
    assert code == 0
    assert checks["harness:demo"]["status"] == "pass"
    assert (
        "adapter manifest <coven-home>/adapters/demo_manifest.json"
        in (checks["harness:demo"]["message"])
    )
    assert doc["nextSteps"] == [
        "No real harness (codex, claude) found; try Coven with the demo harness:",
        'coven run demo "explain this repo in 5 bullets"',
        "coven sessions",
    ]


# ----------------------------------------------------------------------------- manifests


def test_a_broken_manifest_blocks_and_names_file_and_field(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    (home / "adapters").mkdir()
    shutil.copy(FIXTURES / "broken_executable.json", home / "adapters")
    code, text = doctor(home, make_bin(tmp_path, "codex"))
    assert code == 1
    lines = [line for line in text.splitlines() if line.startswith("  [!!]")]
    assert len(lines) == 1
    assert str(home / "adapters" / "broken_executable.json") in lines[0]
    assert "adapters[0].executable" in lines[0]
    assert text.endswith("Doctor found problems; review the failing checks above.\n")


def test_an_unparsable_manifest_blocks(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    (home / "adapters").mkdir()
    (home / "adapters" / "junk.json").write_text("{not json")
    code, doc = doctor_json(home, make_bin(tmp_path, "codex"))
    check = checks_by_id(doc)["manifest:junk.json"]
    assert code == 1
    assert check["status"] == "fail"
    assert "<coven-home>/adapters/junk.json" in check["message"]


def test_a_valid_manifest_adapter_is_listed_after_the_builtins(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    code, doc = doctor_json(
        home,
        make_bin(tmp_path, "codex"),
        COVEN_HARNESS_ADAPTER_MANIFEST=str(FIXTURES / "mytool.json"),
    )
    ids = [check["id"] for check in doc["checks"]]  # type: ignore[union-attr]
    assert code == 0
    assert ids.index("harness:claude") < ids.index("harness:mytool") < ids.index("harnesses")
    assert checks_by_id(doc)["manifests"]["message"] == "1 manifest adapter(s) loaded, all valid"


def test_a_manifest_shadowing_a_builtin_is_a_warning(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    code, doc = doctor_json(
        home,
        make_bin(tmp_path, "codex"),
        COVEN_HARNESS_ADAPTER_MANIFEST=str(FIXTURES / "shadow_codex.json"),
    )
    assert code == 0
    assert checks_by_id(doc)["manifests:warning"]["status"] == "warn"


# ----------------------------------------------------------------------------- home and socket


def test_a_missing_home_is_advisory_and_is_not_created(tmp_path: Path) -> None:
    home = tmp_path / "absent"
    code, doc = doctor_json(home, make_bin(tmp_path, "codex"))
    assert code == 0
    assert checks_by_id(doc)["store"]["status"] == "warn"
    assert not home.exists()


@pytest.mark.parametrize("mode", [0o755, 0o750, 0o701])
def test_a_home_open_to_others_blocks(tmp_path: Path, mode: int) -> None:
    home = make_home(tmp_path)
    home.chmod(mode)
    code, text = doctor(home, make_bin(tmp_path, "codex"))
    assert code == 1
    assert f"[!!] {home} has mode {mode:04o}; it must be 0700" in text
    assert f"chmod 700 {home}" in text
    assert home.stat().st_mode & 0o777 == mode  # read-only: doctor repairs nothing


def test_a_symlinked_home_blocks(tmp_path: Path) -> None:
    real = make_home(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(real)
    code, doc = doctor_json(link, make_bin(tmp_path, "codex"))
    assert code == 1
    assert (
        checks_by_id(doc)["store"]["message"]
        == "<coven-home> is a symlink; Coven refuses a symlinked home"
    )


def test_a_home_that_is_a_file_blocks(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("")
    code, doc = doctor_json(home, make_bin(tmp_path, "codex"))
    assert code == 1
    assert checks_by_id(doc)["store"]["status"] == "fail"


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")
def test_a_foreign_owned_home_blocks(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    os.chown(home, 4242, 4242)
    code, doc = doctor_json(home, make_bin(tmp_path, "codex"))
    assert code == 1
    assert "owned by uid 4242" in checks_by_id(doc)["store"]["message"]


def test_a_planted_socket_path_blocks(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    (home / "coven.sock").write_text("not a socket")
    code, doc = doctor_json(home, make_bin(tmp_path, "codex"))
    assert code == 1
    assert checks_by_id(doc)["socket"] == {
        "hint": "stop the daemon and remove <daemon-socket>",
        "id": "socket",
        "message": "<daemon-socket> is not a socket",
        "status": "fail",
    }


# ----------------------------------------------------------------------------- daemon


def test_a_stopped_daemon_is_a_warning(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    code, doc = doctor_json(home, make_bin(tmp_path, "codex"))
    assert code == 0
    assert checks_by_id(doc)["daemon"]["status"] == "warn"
    assert checks_by_id(doc)["daemon"]["message"] == "not running"


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=5)


def test_a_live_pid_without_an_answering_socket_is_a_stale_daemon(
    tmp_path: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    home = make_home(tmp_path)
    (home / "daemon.json").write_text(json.dumps({"pid": sleeper.pid}))
    code, text = doctor(home, make_bin(tmp_path, "codex"))
    assert code == 1
    assert f"[!!] stale daemon record (pid {sleeper.pid} is alive" in text
    assert "       run: coven daemon restart" in text
    assert "  coven daemon restart\n" in text.split("Next steps:")[1]


def test_a_dead_pid_in_daemon_json_is_only_not_running(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    proc = subprocess.Popen(["true"])
    proc.wait(timeout=5)
    (home / "daemon.json").write_text(json.dumps({"pid": proc.pid}))
    code, doc = doctor_json(home, make_bin(tmp_path, "codex"))
    assert code == 0
    assert checks_by_id(doc)["daemon"]["status"] == "warn"


@pytest.mark.parametrize("content", ["{broken", '{"pid": "12"}', '{"pid": true}', "[1]"])
def test_an_unreadable_daemon_json_is_not_stale(tmp_path: Path, content: str) -> None:
    home = make_home(tmp_path)
    (home / "daemon.json").write_text(content)
    code, doc = doctor_json(home, make_bin(tmp_path, "codex"))
    assert code == 0
    assert checks_by_id(doc)["daemon"]["status"] == "warn"


@pytest.fixture
def daemon_home(tmp_path: Path) -> Iterator[Path]:
    """A real daemon serving a fresh home; stopped with SIGTERM afterwards."""
    with running_daemon(tmp_path) as served:
        yield served.home


def test_a_running_daemon_passes(tmp_path: Path, daemon_home: Path) -> None:
    code, doc = doctor_json(daemon_home, make_bin(tmp_path, "codex"))
    checks = checks_by_id(doc)
    status = json.loads((daemon_home / "daemon.json").read_text())
    assert code == 0
    assert checks["daemon"]["status"] == "pass"
    assert checks["daemon"]["message"] == f"running (pid {status['pid']}, socket <daemon-socket>)"
    assert checks["socket"]["status"] == "pass"


# ----------------------------------------------------------------------------- output format


def test_json_envelope_is_sorted_and_indented(tmp_path: Path) -> None:
    home = make_home(tmp_path)
    code, text = doctor(home, make_bin(tmp_path, "codex"), json_output=True)
    doc = json.loads(text)
    assert code == 0
    assert list(doc) == ["blocking", "checks", "nextSteps", "ok", "project", "store"]
    assert text == json.dumps(doc, indent=2, sort_keys=True) + "\n"
    assert doc["store"] == str(home)
    assert doc["project"] == os.path.realpath(os.getcwd())
    for check in doc["checks"]:
        assert set(check) <= {"id", "status", "message", "hint"}
        assert check["status"] in {"pass", "warn", "fail"}
        assert str(home) not in check["message"]


def test_project_is_the_canonical_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = make_home(tmp_path)
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real)
    monkeypatch.chdir(tmp_path / "alias")
    code, text = doctor(home, make_bin(tmp_path, "codex"))
    assert code == 0
    assert f"Project: {real}\n" in text


def test_a_deleted_working_directory_is_advisory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = make_home(tmp_path)
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    code, doc = doctor_json(home, make_bin(tmp_path, "codex"))
    assert code == 0
    assert doc["project"] is None
    assert checks_by_id(doc)["project"]["status"] == "warn"


def test_prose_layout_and_no_terminal_control(tmp_path: Path) -> None:
    home = tmp_path / "ho\x1b[31mme"
    home.mkdir(mode=0o700)
    code, text = doctor(home, make_bin(tmp_path, "codex"))
    assert code == 0
    assert "\x1b" not in text
    assert "ho\\u{1b}[31mme" in text
    lines = text.splitlines()
    assert lines[0] == "Coven doctor"
    assert lines[1].startswith("Store: ")
    assert "Harnesses:" in lines and "Daemon:" in lines and "Next steps:" in lines
    assert "  [OK] Codex        `codex` executable is available (built-in adapter)" in lines
    assert "  [--] Claude Code  `claude` is missing (built-in adapter)" in lines
    assert "Doctor found problems" not in text


def test_env_defaults_to_os_environ_and_home_to_coven_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = make_home(tmp_path)
    monkeypatch.setenv("COVEN_HOME", str(home))
    monkeypatch.setenv("PATH", str(FAKE_BIN))
    out = io.StringIO()
    code = run_doctor(True, out=out)
    doc = json.loads(out.getvalue())
    assert code == 0
    assert doc["store"] == str(home)
    assert checks_by_id(doc)["harness:claude"]["status"] == "pass"
