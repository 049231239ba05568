"""COVEN_HOME through the real CLI: nothing written into a refused home, homes made 0700,
and an unusable home named in one sentence by every command (never a traceback)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.support.cli import Cli

pytestmark = pytest.mark.timeout(90)

# Commands that create or need the home; `doctor` is read-only and reports instead.
WRITERS = [
    ("daemon", "start"),
    ("run", "codex", "--detach", "--", "hi"),
    ("adapter", "install", "demo"),
]


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.mark.parametrize("args", WRITERS, ids=lambda a: " ".join(a[:2]))
def test_a_missing_home_is_created_0700(cli: Cli, args: tuple[str, ...]) -> None:
    home = cli.home.parent / "fresh" / "nested" / "home"
    proc = cli.run(*args, env={"COVEN_HOME": str(home)})
    try:
        assert proc.returncode == 0, proc.stderr
        assert _mode(home) == 0o700
    finally:
        cli.run("daemon", "stop", "--yes", env={"COVEN_HOME": str(home)})


@pytest.mark.parametrize(
    "args", [*WRITERS, ("daemon", "status"), ("daemon", "stop"), ("doctor",)], ids=" ".join
)
def test_nothing_is_created_in_a_symlinked_home(cli: Cli, args: tuple[str, ...]) -> None:
    real = cli.home.parent / "real"
    real.mkdir(mode=0o700)
    cli.home.symlink_to(real)
    proc = cli.run(*args)
    assert list(real.iterdir()) == [], "nothing may be written through the symlink"
    assert "unexpected internal error" not in proc.stderr
    if args[0] in ("daemon", "run", "adapter") and args[1] not in ("status", "stop"):
        assert proc.returncode == 1
        assert proc.stderr == f"Error: Coven home {cli.home} is a symlink; refusing to use it\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="planting a home owned by another user needs root")
@pytest.mark.parametrize("args", WRITERS, ids=lambda a: " ".join(a[:2]))
def test_nothing_is_created_in_a_home_owned_by_someone_else(
    cli: Cli, args: tuple[str, ...]
) -> None:
    cli.home.mkdir(mode=0o700)
    os.chown(cli.home, 65534, 65534)
    proc = cli.run(*args)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"Error: Coven home {cli.home} is owned by uid 65534")
    assert list(cli.home.iterdir()) == []


@pytest.mark.parametrize("kind", ["file", "under-a-file"])
@pytest.mark.parametrize("args", WRITERS, ids=lambda a: " ".join(a[:2]))
def test_a_home_that_is_no_directory_is_named_in_one_sentence(
    cli: Cli, kind: str, args: tuple[str, ...]
) -> None:
    blocker = cli.home.parent / "blocker"
    blocker.write_text("not a directory")
    home = blocker if kind == "file" else blocker / "home"
    proc = cli.run(*args, env={"COVEN_HOME": str(home)})
    assert proc.returncode == 1
    expected = (
        f"Error: Coven home {home} is not a directory\n"
        if kind == "file"
        else f"Error: cannot create Coven home {home}: {blocker} is not a directory\n"
    )
    assert proc.stderr == expected
    assert proc.stdout == ""
    assert blocker.read_text() == "not a directory"


@pytest.mark.parametrize("kind", ["file", "under-a-file", "symlink"])
def test_doctor_reports_an_unusable_home_and_never_crashes(cli: Cli, kind: str) -> None:
    blocker = cli.home.parent / "blocker"
    blocker.write_text("not a directory")
    if kind == "symlink":
        (cli.home.parent / "real").mkdir()
        cli.home.symlink_to(cli.home.parent / "real")
        home = cli.home
    else:
        home = blocker if kind == "file" else blocker / "home"
    for args in (("doctor",), ("doctor", "--json")):
        proc = cli.run(*args, env={"COVEN_HOME": str(home), "NO_COLOR": "1"})
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr == ""
        assert "internal error" not in proc.stdout
    prose = cli.run("doctor", env={"COVEN_HOME": str(home), "NO_COLOR": "1"}).stdout
    reason = {
        "file": f"[!!] {home} is not a directory",
        "under-a-file": f"[!!] {home} cannot be used: {blocker} is not a directory",
        "symlink": f"[!!] {home} is a symlink",
    }[kind]
    assert reason in prose
    assert "not running (no daemon can serve an unusable home)" in prose


@pytest.mark.parametrize("args", [("daemon", "status"), ("daemon", "stop"), ("sessions",)])
def test_read_only_commands_on_a_home_under_a_file_answer_in_words(
    cli: Cli, args: tuple[str, ...]
) -> None:
    blocker = cli.home.parent / "blocker"
    blocker.write_text("")
    proc = cli.run(*args, env={"COVEN_HOME": str(blocker / "home")})
    assert "unexpected internal error" not in proc.stderr
    if args == ("sessions",):
        assert proc.returncode == 1 and str(blocker / "home") in proc.stderr
    else:
        assert proc.returncode == 0 and "not running" in proc.stdout


def test_the_daemon_log_is_never_followed_through_a_symlink(cli: Cli) -> None:
    cli.home.mkdir(mode=0o700)
    elsewhere = cli.home.parent / "elsewhere.log"
    elsewhere.write_text("precious\n")
    (cli.home / "daemon.log").symlink_to(elsewhere)
    proc = cli.run("daemon", "start")
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"Error: cannot open log file `{cli.home / 'daemon.log'}`")
    assert elsewhere.read_text() == "precious\n"
    assert not (cli.home / "coven.sock").exists()
