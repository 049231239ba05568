"""A cold ``coven run`` or ``coven daemon start`` starts the daemon before the CLI loads
(``coven.cli.early_start``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from coven.cli import daemon_spawn, daemonctl, early_start, home_files

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    "args",
    [
        ["codex"],
        ["codex", "fix", "the", "tests"],
        ["codex", "--", "-v", "--help"],  # after --, words are the prompt
        ["--worktree", "claude", "--title", "t", "hello"],  # options before HARNESS too
        ["codex", "--title=x", "--model", "m", "--labels=a,b", "--add-dir", "d", "--add-dir=e"],
        ["codex", "--root", "/r", "--cwd", "sub", "--continue", "abc", "--familiar", "f"],
        ["codex", "--permission", "read-only", "--detach"],
        ["codex", "--print", "a prompt"],
        ["codex", "--non-interactive", "--", "a prompt"],
        ["codex", "--detach-keys", "ctrl-p,ctrl-q"],
        ["codex", "-"],
    ],
)
def test_command_lines_that_surely_reach_the_daemon_start_it(args: list[str]) -> None:
    assert early_start.certain(["run", *args])


@pytest.mark.parametrize(
    "args",
    [
        [],  # click: missing HARNESS
        ["--detach"],
        ["--help"],
        ["codex", "--help"],
        ["codex", "-h"],
        ["codex", "--bogus"],
        ["codex", "--work"],  # click does not expand abbreviations
        ["codex", "--title"],  # a value is missing
        ["codex", "--worktree=yes"],  # a flag takes no value
        ["codex", "--permission", "root"],  # not one of run's choices
        ["codex", "--print"],  # --print needs a prompt
        ["codex", "--print", "  "],
        ["codex", "--detach-keys", "ctrl-["],  # keys that do not parse
        ["codex", "-1"],
    ],
)
def test_anything_click_might_refuse_leaves_the_start_to_the_full_cli(args: list[str]) -> None:
    assert not early_start.certain(["run", *args])


def test_daemon_start_exactly_is_certain_and_nothing_else_is() -> None:
    assert early_start.certain(["daemon", "start"])
    for args in (
        ["daemon", "start", "--help"],
        ["daemon", "start", "x"],
        ["daemon"],
        ["daemon", "stop"],
        ["daemon", "restart"],
        ["daemon", "status"],
        ["sessions"],
        ["attach", "x"],
        [],
    ):
        assert not early_start.certain(args), args


def test_the_detach_keys_variable_is_detach_keys_own() -> None:
    from coven.cli.detach_keys import ENV_VAR

    assert ENV_VAR == "COVEN_DETACH_KEYS"


def test_detach_keys_from_the_environment_must_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVEN_DETACH_KEYS", "ctrl-[")
    assert not early_start.certain(["run", "codex"])
    monkeypatch.setenv("COVEN_DETACH_KEYS", "")  # click ignores an empty variable
    assert early_start.certain(["run", "codex"])


@pytest.fixture
def coven_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home of our own; whatever daemon a test started there is stopped after it."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("COVEN_HOME", str(home))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    try:
        yield home
    finally:
        leftover = early_start.take(home)
        if leftover is not None:
            leftover.wait(10.0)
            leftover.release()
        daemonctl.stop(home)
        for process in daemon_spawn._started:  # reaped: no "still running" warning at exit
            process.poll()


def test_the_early_daemon_holds_the_lock_until_daemonctl_takes_it_over(coven_home: Path) -> None:
    early_start.start(["run", "codex", "hello"], str(coven_home))
    assert early_start.pending()
    busy = home_files.try_lifecycle_lock(coven_home)  # a `coven daemon stop` would wait
    assert busy is None
    status = daemonctl.start(coven_home)  # what `run`'s ensure_daemon does next
    assert status.state == "running"
    assert not early_start.pending()
    free = home_files.try_lifecycle_lock(coven_home)  # released once it answered
    assert free is not None
    os.close(free)
    # It is the daemon the early start spawned, not a second one.
    assert status.pid is not None and daemonctl.probe(coven_home).pid == status.pid
    # `run` launches next: the daemon was asked to start its holders' fork server first.
    assert b"--launch-soon" in Path(f"/proc/{status.pid}/cmdline").read_bytes().split(b"\0")


def test_an_early_daemon_start_asks_for_no_fork_server_yet(coven_home: Path) -> None:
    early_start.start(["daemon", "start"], str(coven_home))
    status = daemonctl.start(coven_home)
    assert status.pid is not None
    assert b"--launch-soon" not in Path(f"/proc/{status.pid}/cmdline").read_bytes()


def test_nothing_is_started_for_a_doubtful_command_line_or_a_home_with_traces(
    coven_home: Path,
) -> None:
    early_start.start(["run", "codex", "--bogus"], str(coven_home))
    assert not early_start.pending()
    assert not coven_home.exists()  # not even the home is created
    coven_home.mkdir(mode=0o700)
    (coven_home / "daemon.json").write_text("{}")  # a daemon's traces: the full CLI probes
    early_start.start(["daemon", "start"], str(coven_home))
    assert not early_start.pending()
    assert daemonctl.probe(coven_home).state == "stale"


def test_nothing_is_started_while_another_command_holds_the_lock(coven_home: Path) -> None:
    coven_home.mkdir(mode=0o700)
    with home_files.lifecycle_lock(coven_home):
        early_start.start(["daemon", "start"], str(coven_home))
    assert not early_start.pending()
    assert daemonctl.probe(coven_home).state == "stopped"


def test_an_unusable_home_is_left_to_the_full_cli_to_report(coven_home: Path) -> None:
    coven_home.write_text("not a directory")
    early_start.start(["daemon", "start"], str(coven_home))
    assert not early_start.pending()


def test_the_early_start_loads_no_library_before_the_daemon_is_spawned() -> None:
    """Every module it loads delays the daemon: standard library only (no click, no
    msgspec, not the client, not subprocess or pathlib), and the detach keys' parser only
    when keys are given."""
    from tests.support.imports import modules_after_importing

    loaded = modules_after_importing("coven.cli.early_start")
    tops = {name.split(".")[0] for name in loaded}
    assert not tops & {"click", "msgspec", "aiohttp", "asyncio", "typing_extensions"}
    # Not even these: together they took longer than all the rest (posix_spawn instead).
    assert not tops & {"subprocess", "pathlib", "typing", "re"}
    assert not {n for n in loaded if n.startswith("coven.client")}
    assert "coven.cli.detach_keys" not in loaded
    assert "coven.schema.home" in loaded  # the home's file names, without msgspec


def test_the_options_it_knows_are_exactly_runs() -> None:
    """A new or changed `run` option must be taught here too, or a command line with it
    could be judged wrongly (an option taking a value read as a flag, say)."""
    import click

    from coven.cli.run_cmd import run_cmd

    flags: set[str] = set()
    valued: set[str] = set()
    for param in run_cmd.params:
        if not isinstance(param, click.Option):
            continue
        names = {*param.opts, *param.secondary_opts}
        if names & {"--help"}:
            continue
        (flags if param.is_flag else valued).update(names)
        if isinstance(param.type, click.Choice):
            assert tuple(param.type.choices) == early_start._PERMISSIONS
    assert flags == set(early_start._FLAGS)
    assert valued == set(early_start._VALUED)
