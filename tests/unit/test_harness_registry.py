"""Registry loading (sources, order, containment of broken manifests) and availability."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from coven.errors import InvalidRequest
from coven.harness import (
    CLAUDE,
    CODEX,
    HarnessRegistry,
    demo_manifest_text,
    describe_availability,
    missing_executable_message,
    resolve_executable,
    unsupported_harness_message,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "manifests"


def copy(name: str, directory: Path, as_name: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / (as_name or name)
    shutil.copyfile(FIXTURES / name, target)
    return target


def test_builtins_only_when_nothing_is_configured(tmp_path: Path) -> None:
    registry = HarnessRegistry.load({}, tmp_path / "home")
    assert registry.ids() == ["codex", "claude"]
    assert registry.problems == () and registry.warnings == ()
    assert registry.get("codex") is CODEX
    assert registry.get("claude") is CLAUDE


def test_sources_load_in_order_manifest_dirs_then_home(tmp_path: Path) -> None:
    single = copy("bare.json", tmp_path / "single")
    dir_a, dir_b = tmp_path / "a", tmp_path / "b"
    copy("streamer.json", dir_a)
    copy("bound.json", dir_a)  # sorted by name: bound before streamer
    copy("mytool.json", dir_b)
    home = tmp_path / "home"
    (home / "adapters").mkdir(parents=True)
    (home / "adapters" / "demo.json").write_text(demo_manifest_text())
    env = {
        "COVEN_HARNESS_ADAPTER_MANIFEST": str(single),
        "COVEN_HARNESS_ADAPTER_DIRS": os.pathsep.join([str(dir_a), "", str(dir_b)]),
    }
    registry = HarnessRegistry.load(env, home)
    assert registry.problems == ()
    assert registry.warnings == ()
    assert registry.ids() == ["codex", "claude", "bare", "bound", "streamer", "mytool", "demo"]
    assert [a.id for a in registry.adapters()] == registry.ids()


def test_broken_manifest_disables_only_its_own_adapters(tmp_path: Path) -> None:
    directory = tmp_path / "dir"
    broken = copy("broken_executable.json", directory)
    copy("mytool.json", directory)
    registry = HarnessRegistry.load({"COVEN_HARNESS_ADAPTER_DIRS": str(directory)}, tmp_path)
    assert registry.ids() == ["codex", "claude", "mytool"]
    assert registry.get("pathy") is None
    assert [str(p) for p in registry.problems] == [
        f"adapter manifest {broken}: adapters[0].executable: "
        'must be a bare command name, got "/usr/bin/x"'
    ]


def test_missing_single_manifest_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    absent = tmp_path / "nope.json"
    registry = HarnessRegistry.load({"COVEN_HARNESS_ADAPTER_MANIFEST": str(absent)}, tmp_path)
    assert registry.ids() == ["codex", "claude"]
    assert [(p.path, p.field) for p in registry.problems] == [(absent, None)]


def test_missing_manifest_directory_is_a_warning(tmp_path: Path) -> None:
    absent = tmp_path / "nodir"
    registry = HarnessRegistry.load({"COVEN_HARNESS_ADAPTER_DIRS": str(absent)}, tmp_path)
    assert registry.ids() == ["codex", "claude"]
    assert registry.warnings == (f"adapter manifest directory {absent} does not exist",)


def test_shadowing_a_builtin_warns_and_the_builtin_wins(tmp_path: Path) -> None:
    shadow = copy("shadow_codex.json", tmp_path / "home" / "adapters")
    registry = HarnessRegistry.load({}, tmp_path / "home")
    assert registry.ids() == ["codex", "claude"]
    assert registry.get("codex") is CODEX
    assert registry.warnings == (
        f"ignoring external harness adapter `codex` in {shadow}: Coven ships `codex` as a "
        "built-in harness. Delete the manifest to silence this warning.",
    )
    assert registry.problems == ()


def test_later_duplicate_id_is_skipped_with_a_warning(tmp_path: Path) -> None:
    first = copy("mytool.json", tmp_path / "dir")
    second = copy("mytool_snake.json", tmp_path / "home" / "adapters")
    registry = HarnessRegistry.load(
        {"COVEN_HARNESS_ADAPTER_DIRS": str(tmp_path / "dir")}, tmp_path / "home"
    )
    adapter = registry.get("mytool")
    assert adapter is not None and adapter.manifest_path == first
    assert registry.ids().count("mytool") == 1
    assert registry.warnings == (
        f"ignoring harness adapter `mytool` in {second}: `mytool` is already declared in {first}",
    )


def test_same_file_from_two_sources_loads_once(tmp_path: Path) -> None:
    path = copy("mytool.json", tmp_path / "dir")
    registry = HarnessRegistry.load(
        {
            "COVEN_HARNESS_ADAPTER_MANIFEST": str(path),
            "COVEN_HARNESS_ADAPTER_DIRS": str(path.parent),
        },
        tmp_path,
    )
    assert registry.ids() == ["codex", "claude", "mytool"]
    assert registry.warnings == ()


def test_non_json_files_and_subdirectories_are_ignored(tmp_path: Path) -> None:
    adapters = tmp_path / "adapters"
    adapters.mkdir()
    (adapters / "notes.txt").write_text("not a manifest")
    (adapters / "sub.json").mkdir()
    (adapters / "demo.json.bak").write_text("{")
    registry = HarnessRegistry.load({}, tmp_path)
    assert registry.ids() == ["codex", "claude"]
    assert registry.problems == ()


def test_ids_are_case_sensitive_and_unknown_ids_fail_closed(tmp_path: Path) -> None:
    registry = HarnessRegistry.load({}, tmp_path)
    assert registry.get("Codex") is None
    assert registry.get(" codex") is None
    with pytest.raises(InvalidRequest) as info:
        registry.require("gemini")
    assert info.value.message == unsupported_harness_message("gemini", registry)
    assert registry.require("claude") is CLAUDE


def test_unsupported_harness_message(tmp_path: Path) -> None:
    registry = HarnessRegistry.load({}, tmp_path)
    assert unsupported_harness_message("gemini", registry) == (
        "unsupported harness `gemini`. Configured harnesses: codex, claude. Known installable "
        "adapter recipes: demo. For other external harnesses, create a trusted adapter "
        "manifest under COVEN_HOME/adapters or set COVEN_HARNESS_ADAPTER_MANIFEST / "
        "COVEN_HARNESS_ADAPTER_DIRS before starting Coven."
    )


def test_missing_executable_message_uses_the_install_hint() -> None:
    assert missing_executable_message(CLAUDE) == (
        "harness `claude` is not available. Install Claude Code with `npm install -g "
        "@anthropic-ai/claude-code`; if it is already installed, make sure `claude` is on PATH "
        "and run `claude auth login` to authenticate, then retry `coven doctor`."
    )
    assert missing_executable_message(CODEX).startswith(
        "harness `codex` is not available. Install Codex with `npm install -g @openai/codex`"
    )


# --- PATH resolution ------------------------------------------------------------------


def make_file(path: Path, mode: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(mode)
    return path


def test_resolve_takes_the_first_executable_on_path(tmp_path: Path) -> None:
    make_file(tmp_path / "one" / "codex", 0o644)  # not executable: skipped
    (tmp_path / "two" / "codex").mkdir(parents=True)  # a directory: skipped
    found = make_file(tmp_path / "three" / "codex", 0o755)
    make_file(tmp_path / "four" / "codex", 0o755)
    path_env = os.pathsep.join(
        str(tmp_path / d) for d in ("missing", "one", "two", "three", "four")
    )
    assert resolve_executable(CODEX, path_env) == str(found)


def test_non_executable_file_is_not_available(tmp_path: Path) -> None:
    make_file(tmp_path / "bin" / "claude", 0o644)
    assert resolve_executable(CLAUDE, str(tmp_path / "bin")) is None


def test_no_path_means_not_available() -> None:
    assert resolve_executable(CODEX, None) is None
    assert resolve_executable(CODEX, "") is None


def test_empty_path_entry_is_not_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_file(tmp_path / "codex", 0o755)
    monkeypatch.chdir(tmp_path)
    assert resolve_executable(CODEX, os.pathsep + str(tmp_path / "nothing")) is None


def test_symlink_to_executable_is_available(tmp_path: Path) -> None:
    real = make_file(tmp_path / "real" / "codex-1.2", 0o755)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "codex").symlink_to(real)
    assert resolve_executable(CODEX, str(tmp_path / "bin")) == str(tmp_path / "bin" / "codex")


def test_describe_availability(tmp_path: Path) -> None:
    home = tmp_path / "home"
    manifest = copy("bare.json", home / "adapters")
    codex = make_file(tmp_path / "bin" / "codex", 0o755)
    registry = HarnessRegistry.load({}, home)
    statuses = describe_availability(registry, str(tmp_path / "bin"))
    assert [(s.id, s.source, s.executable_path, s.available) for s in statuses] == [
        ("codex", "builtin", str(codex), True),
        ("claude", "builtin", None, False),
        ("bare", "manifest", None, False),
    ]
    assert statuses[1].install_hint == CLAUDE.install_hint
    assert statuses[2].manifest_path == manifest
    assert statuses[2].label == "Bare"


def test_unsupported_harness_message_names_manifests_that_failed_to_load(tmp_path: Path) -> None:
    adapters = tmp_path / "adapters"
    adapters.mkdir()
    broken = adapters / "mytool.json"
    broken.write_text('{"adapters": [{"id": "mytool", "label": "My tool"}]}')
    registry = HarnessRegistry.load({}, tmp_path)
    message = unsupported_harness_message("mytool", registry)
    assert message.startswith("unsupported harness `mytool`.")
    assert f"Manifests that could not be loaded: adapter manifest {broken}" in message
    assert "executable" in message
