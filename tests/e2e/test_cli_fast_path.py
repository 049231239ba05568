"""The console script's fast path (``coven.cli.entry``) answers exactly as the full CLI does.

Each command line is run twice against the same real daemon: through the entry
point users run, and through the full click CLI (``coven.cli.main``). Output,
hints and exit status must be identical byte for byte, and the fast path must
really have answered (no click, no msgspec loaded) where it claims to.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from coven.cli import entry
from tests.support.cli import Cli, cli
from tests.support.imports import LISTING, LISTING_COVEN, beyond_budget, loaded_modules

__all__ = ["cli"]

pytestmark = pytest.mark.timeout(120)

FULL = [sys.executable, "-m", "coven.cli.main"]


@pytest.fixture(scope="module")
def baseline() -> set[str]:
    return loaded_modules(["--probe-baseline"], {"PATH": "/usr/bin:/bin"})[1]


def within_fast_budget(modules: set[str], baseline: set[str]) -> bool:
    return beyond_budget(modules, baseline, LISTING, LISTING_COVEN) == set()


def _ages_blurred(text: str) -> list[list[str]]:
    # The two runs are a moment apart: a session's age (and so its column's width) may
    # tick over between them. Compare cells, ages blurred.
    return [
        ["N" if re.fullmatch(r"\d+[smhd]", cell) else cell for cell in re.split(r"  +", line)]
        for line in text.splitlines()
    ]


def both(cli: Cli, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``args`` both ways; assert they agree; answer the entry's run and its top-level modules."""
    fast, modules = loaded_modules(list(args), cli.env, cli.project)
    full = subprocess.run(
        [*FULL, *args],
        cwd=cli.project,
        env=cli.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (fast.returncode, _ages_blurred(fast.stdout), fast.stderr) == (
        full.returncode,
        _ages_blurred(full.stdout),
        full.stderr,
    )
    return fast, modules


def _record(cli: Cli, session_id: str) -> dict[str, Any]:
    listed = cli.json("sessions", "--json")["sessions"]
    return next(r for r in listed if r["id"] == session_id)


def test_listing_json_is_the_full_clis_own(cli: Cli, tmp_path: Path, baseline: set[str]) -> None:
    cli.run("daemon", "start", ok=True)
    for args in (("sessions", "--json"), ("sessions",), ("ls", "--all"), ("ps", "--plain")):
        _, loaded = both(cli, tmp_path, *args)  # the empty listings
        assert within_fast_budget(loaded, baseline), args
    first = cli.detached("--fake-mode=exit")
    cli.wait_status(first, {"completed"})
    live = cli.detached("--fake-mode=echo")
    cli.run("run", "codex", "--detach", "--title", 'ünïcode ✓ "quoted"', "--labels", "a,b", ok=True)
    # A title with escape sequences: click drops them when stdout is not a terminal.
    cli.run("run", "codex", "--detach", "--title", "\x1b[31mred\x1b[0m\nline", ok=True)
    cli.run("archive", first, ok=True)
    cli.wait_output(live, "FAKE[codex]")
    asking = cli.detached("--fake-mode=ask")  # a (y/n) question: awaiting input, listed first
    deadline = time.monotonic() + 20
    while _record(cli, asking)["attention"] != "awaiting_input":
        assert time.monotonic() < deadline, _record(cli, asking)
        time.sleep(0.2)
    # The others settle too (working -> idle after a quiet spell): both runs of each
    # comparison below must see the same states, however slow the machine.
    deadline = time.monotonic() + 30
    while any(
        r["status"] == "running" and r["attention"] == "working"
        for r in cli.json("sessions", "--json")["sessions"]
    ):
        assert time.monotonic() < deadline, cli.json("sessions", "--json")
        time.sleep(0.2)
    for args in (
        ("sessions", "--json"),
        ("sessions", "--json", "--all"),
        ("sessions", "--all", "--json"),
        ("ls", "--json"),
        ("ps", "--json", "--all"),
        ("sessions",),
        ("sessions", "--plain"),
        ("sessions", "--all"),
        ("ls", "--plain", "--all"),
        ("ps",),
    ):
        proc, loaded = both(cli, tmp_path, *args)
        assert within_fast_budget(loaded, baseline), args
    assert first[:8] not in proc.stdout and live[:8] in proc.stdout  # `ps`: archived hidden
    assert "red line" in proc.stdout and "\x1b" not in proc.stdout
    overview, _ = both(cli, tmp_path, "sessions")
    first_row = overview.stdout.splitlines()[1]
    assert first_row.startswith(asking[:8]) and " waiting " in first_row, overview.stdout
    assert "Apply this edit to app.py? (y/n)" in first_row
    proc, _ = both(cli, tmp_path, "sessions", "--json", "--all")
    listed = json.loads(proc.stdout)["sessions"]
    assert {r["id"] for r in listed} >= {first, live}
    assert "ünïcode" in proc.stdout  # not \\u-escaped, as the full CLI prints it


def test_daemon_status_running_stopped_and_stale(
    cli: Cli, tmp_path: Path, baseline: set[str]
) -> None:
    for args in (("daemon", "status"), ("daemon", "status", "--json")):
        _, loaded = both(cli, tmp_path, *args)
        assert within_fast_budget(loaded, baseline)  # no home, no daemon: answered without the CLI
    cli.run("daemon", "start", ok=True)
    for args in (("daemon", "status"), ("daemon", "status", "--json")):
        _, loaded = both(cli, tmp_path, *args)
        assert within_fast_budget(loaded, baseline)
    cli.run("daemon", "stop", "--yes", ok=True)
    # A stale daemon.json is the full CLI's to classify (and clean up, once).
    (cli.home / "daemon.json").write_text(json.dumps({"pid": 999999999}))
    fast = cli.run("daemon", "status")
    assert "stale" in fast.stdout
    assert "removed the daemon.json" in fast.stderr
    _, loaded = both(cli, tmp_path, "daemon", "status")


@pytest.mark.parametrize(
    "args",
    [
        ("sessions", "--json", "--plain"),
        ("sessions", "--json", "--json"),
        ("sessions", "--plain", "--label", "a"),
        ("sessions", "--json", "--project", "/nowhere"),
        ("daemon", "status", "--bogus"),
    ],
)
def test_anything_else_goes_to_the_full_cli(
    cli: Cli, tmp_path: Path, args: tuple[str, ...]
) -> None:
    cli.run("daemon", "start", ok=True)
    _, loaded = both(cli, tmp_path, *args)
    assert "click" in loaded


@pytest.mark.parametrize("columns", ["", "80", "200", "79", "60"])
def test_help_is_the_full_clis_own(
    cli: Cli, tmp_path: Path, baseline: set[str], columns: str
) -> None:
    # Off a terminal click lays help out for $COLUMNS (80 when unset); from 80 columns
    # on, the fast path prints it, and below that it leaves it to click.
    if columns:
        cli.env["COLUMNS"] = columns
    for flag in ("--help", "-h"):
        proc, loaded = both(cli, tmp_path, flag)
        assert proc.returncode == 0 and proc.stdout.startswith("Usage: coven [OPTIONS]")
        assert ("click" in loaded) == (columns in ("79", "60")), (columns, flag)


def test_without_a_daemon_the_full_cli_says_so(
    cli: Cli, tmp_path: Path, baseline: set[str]
) -> None:
    proc, loaded = both(cli, tmp_path, "sessions", "--json")
    assert proc.returncode == 1
    assert "daemon is not running" in proc.stderr
    assert "click" in loaded


def test_a_daemon_of_another_version_is_left_to_the_full_cli(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli.run("daemon", "start", ok=True)
    monkeypatch.setenv("COVEN_HOME", str(cli.home))
    monkeypatch.delenv("COVEN_HOST", raising=False)
    assert entry.answer(["sessions", "--json"]) is not None
    monkeypatch.setattr(entry, "__version__", "0.0.0-other")
    # Its records may have another shape: only the full client may decode them.
    assert entry.answer(["sessions", "--json"]) is None
    assert entry.answer(["daemon", "status"]) is not None  # status reads only health


def test_host_and_completion_go_to_the_full_cli(
    cli: Cli, tmp_path: Path, baseline: set[str]
) -> None:
    cli.run("daemon", "start", ok=True)
    cli.env["_COVEN_COMPLETE"] = "bash_complete"
    cli.env["COMP_WORDS"] = "coven sess"
    cli.env["COMP_CWORD"] = "1"
    proc, loaded = both(cli, tmp_path, "sessions", "--json")
    assert "click" in loaded
    assert "sessions" in proc.stdout


def test_attach_is_the_full_clis_own_without_click(cli: Cli, tmp_path: Path) -> None:
    # Off a terminal attach replays and follows; both ways print the same header,
    # output and closing line, and the fast way never loads click. (On a terminal the
    # first screen comes from attach_prelude: tests/unit/test_attach_prelude.py and the
    # tmux tests in test_cli_attach_terminal.py.)
    cli.run("daemon", "start", ok=True)
    done = cli.detached("--fake-mode=exit")
    cli.wait_status(done, {"completed"})
    for args in (
        ("attach", done[:8]),
        ("attach", done),
        ("attach", "--replay", done[:6]),
        ("attach", done[:8], "--history=5", "--read-only"),
        ("attach", done[:8], "--detach-keys", "ctrl-p,ctrl-q"),
    ):
        proc, loaded = both(cli, tmp_path, *args)
        assert proc.returncode == 0 and "FAKE[codex]" in proc.stdout, args
        assert "[coven session completed (exit code 0)]" in proc.stderr, args
        assert "click" not in loaded, args
    # A title with escape sequences: off a terminal they are dropped, as click does.
    title = ("--title", "\x1b[31mred\x1b[0m")
    red = cli.run(
        "run", "codex", "--detach", *title, "--", "--fake-mode=exit", ok=True
    ).stdout.strip()
    cli.wait_status(red, {"completed"})
    proc, loaded = both(cli, tmp_path, "attach", red[:8])
    assert '(codex, "red", status: completed)' in proc.stderr and "\x1b" not in proc.stderr
    assert "click" not in loaded
    for args in (
        ("attach", "nope"),
        ("attach", done[:8], "--history", "10001"),
        ("attach", done[:8], "--detach-keys", "ctrl-["),
        ("attach", "--help"),
    ):
        proc, loaded = both(cli, tmp_path, *args)  # refused in the full CLI's words
        assert "click" in loaded, args
