"""The demo agent as a real process: print mode, interactive mode over pipes and a PTY,
and launched end to end through the demo manifest, PATH resolution and build_argv."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from coven.harness import (
    HarnessRegistry,
    LaunchOptions,
    build_argv,
    demo_manifest_text,
    parse_manifest,
    resolve_executable,
)
from tests.support.hermetic import controlled_env

AGENT = [sys.executable, "-m", "coven.harness.demo_agent"]
TIMEOUT = 20


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "notes.txt").write_text("one\ntwo\nthree\n")
    (root / "main.py").write_text("print('hi')\n")
    (root / "src").mkdir()
    (root / ".hidden").write_text("secret\n")
    return root


def snapshot(root: Path) -> list[tuple[str, int, int]]:
    return sorted(
        (str(p.relative_to(root)), p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*")
    )


def run_agent(
    args: list[str], cwd: Path, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*AGENT, *args],
        cwd=cwd,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_print_mode_answers_once_and_exits_zero(project: Path) -> None:
    before = snapshot(project)
    result = run_agent(["--print", "--", "look at notes.txt"], project)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"cwd:        {project}" in out
    assert "stdin tty:  no" in out
    assert "mode:       print" in out
    assert "  - notes.txt (3 lines)" in out
    assert "  - main.py (1 lines)" in out
    assert "  - src/ (directory)" in out
    assert ".hidden" not in out
    assert (
        'You said: "look at notes.txt" (3 words, 17 characters). I see notes.txt here: 3 lines.'
        in out
    )
    assert "demo>" not in out
    assert snapshot(project) == before  # read-only


def test_print_mode_echoes_declared_options(project: Path) -> None:
    result = run_agent(
        ["--model", "m1", "--permission", "read-only", "--add-dir", "/a", "--print", "--", "x"],
        project,
    )
    assert result.returncode == 0
    assert "model:      m1" in result.stdout
    assert "permission: read-only" in result.stdout
    assert "add-dirs:   /a" in result.stdout


def test_prompt_that_looks_like_an_option_after_double_dash(project: Path) -> None:
    result = run_agent(["--print", "--", "--model"], project)
    assert result.returncode == 0
    assert 'You said: "--model"' in result.stdout


def test_interactive_mode_over_pipes(project: Path) -> None:
    result = run_agent(["--", "hello"], project, stdin="pwd\n\nmain.py please\nquit\nnever read\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "mode:       interactive" in out
    assert 'You said: "hello" (1 words, 5 characters).' in out
    assert f"demo> {project}\n" in out
    assert "I see main.py here: 1 lines." in out
    assert out.rstrip().endswith("demo> bye")
    assert "never read" not in out


def test_interactive_mode_ends_cleanly_at_end_of_input(project: Path) -> None:
    result = run_agent(["--", "hi"], project, stdin="ls\n")
    assert result.returncode == 0
    assert "notes.txt (3 lines)\nsrc/ (directory)" in result.stdout
    assert result.stdout.rstrip().endswith("bye (end of input)")


@pytest.mark.parametrize("args", [["--bogus"], ["--model"], ["--add-dir"]])
def test_usage_errors_exit_2(project: Path, args: list[str]) -> None:
    result = run_agent(args, project)
    assert result.returncode == 2
    assert result.stderr.startswith("coven-demo-agent: ")
    assert result.stdout == ""


def test_interactive_mode_on_a_real_pty(project: Path) -> None:
    child = pexpect.spawn(
        AGENT[0],
        [*AGENT[1:], "--", "hi there"],
        cwd=str(project),
        encoding="utf-8",
        timeout=TIMEOUT,
    )
    try:
        child.expect_exact("stdin tty:  yes")
        child.expect_exact('You said: "hi there"')
        child.expect_exact("demo> ")
        child.sendline("help")
        child.expect_exact("Commands: help, pwd, ls, exit, quit.")
        child.expect_exact("demo> ")
        child.sendline("exit")
        child.expect_exact("bye")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0


def test_shipped_manifest_declares_the_demo_adapter() -> None:
    load = parse_manifest(demo_manifest_text(), Path("demo.json"))
    assert load.problems == ()
    (adapter,) = load.adapters
    assert adapter.id == "demo"
    assert adapter.executable == "coven-demo-agent"
    assert adapter.interactive_prompt_prefix_args == ()
    assert adapter.non_interactive_prompt_prefix_args == ("--print",)


def test_demo_is_not_configured_until_installed(tmp_path: Path) -> None:
    assert HarnessRegistry.load({}, tmp_path).get("demo") is None


def test_installed_demo_runs_end_to_end(tmp_path: Path, project: Path) -> None:
    """What `coven adapter install demo` + a launch will do, minus the daemon."""
    home = tmp_path / "home"
    (home / "adapters").mkdir(parents=True)
    (home / "adapters" / "demo.json").write_text(demo_manifest_text())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "coven-demo-agent"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m coven.harness.demo_agent "$@"\n')
    script.chmod(0o755)

    adapter = HarnessRegistry.load({}, home).require("demo")
    executable = resolve_executable(adapter, str(bin_dir))
    assert executable == str(script)
    built = build_argv(
        adapter,
        LaunchOptions(
            "what is in notes.txt?", mode="nonInteractive", model="openai/x", permission="full"
        ),
    )
    assert built.warnings == []
    assert built.argv == [
        "coven-demo-agent",
        "--model",
        "openai/x",
        "--permission",
        "full",
        "--print",
        "--",
        "what is in notes.txt?",
    ]
    result = subprocess.run(
        [executable, *built.argv[1:]],
        cwd=project,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env=controlled_env(tmp_path / "user-home", bin_dir),
    )
    assert result.returncode == 0, result.stderr
    assert "model:      openai/x" in result.stdout
    assert "  - notes.txt (3 lines)" in result.stdout
    assert 'You said: "what is in notes.txt?"' in result.stdout
