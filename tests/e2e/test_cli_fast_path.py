"""The console script's fast path (``coven.cli.entry``) answers exactly as the full CLI does.

Each command line is run twice against the same real daemon: through the entry
point users run, and through the full click CLI (``coven.cli.main``). Output,
hints and exit status must be identical byte for byte, and the fast path must
really have answered (no click, no msgspec loaded) where it claims to.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from coven.cli import entry
from tests.support.cli import Cli, cli

__all__ = ["cli"]

pytestmark = pytest.mark.timeout(120)

FULL = [sys.executable, "-m", "coven.cli.main"]
# Runs the entry point, then writes the names of every module it loaded to argv[1].
PROBE = """
import atexit, sys
out, sys.argv = sys.argv[1], ["coven", *sys.argv[2:]]
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
from coven.cli.entry import main
main()
"""
HEAVY = {"click", "msgspec", "typing_extensions", "aiohttp", "rich", "textual", "asyncio"}


def both(cli: Cli, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``args`` both ways; assert they agree; answer the entry's run and its top-level modules."""
    modules = tmp_path / "modules.txt"
    fast = subprocess.run(
        [sys.executable, "-c", PROBE, str(modules), *args],
        cwd=cli.project,
        env=cli.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    full = subprocess.run(
        [*FULL, *args],
        cwd=cli.project,
        env=cli.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        full.returncode,
        full.stdout,
        full.stderr,
    )
    loaded = {name.split(".")[0] for name in modules.read_text().split()}
    return fast, loaded


def test_listing_json_is_the_full_clis_own(cli: Cli, tmp_path: Path) -> None:
    cli.run("daemon", "start", ok=True)
    _, loaded = both(cli, tmp_path, "sessions", "--json")
    assert loaded & HEAVY == set()
    first = cli.detached("--fake-mode=exit")
    cli.wait_status(first, {"completed"})
    live = cli.detached("--fake-mode=echo")
    cli.run("run", "codex", "--detach", "--title", 'ünïcode ✓ "quoted"', "--labels", "a,b", ok=True)
    cli.run("archive", first, ok=True)
    cli.wait_output(live, "FAKE[codex]")
    for args in (
        ("sessions", "--json"),
        ("sessions", "--json", "--all"),
        ("sessions", "--all", "--json"),
        ("ls", "--json"),
        ("ps", "--json", "--all"),
    ):
        proc, loaded = both(cli, tmp_path, *args)
        assert loaded & HEAVY == set(), args
    listed = json.loads(proc.stdout)["sessions"]
    assert {r["id"] for r in listed} >= {first, live}
    assert "ünïcode" in proc.stdout  # not \\u-escaped, as the full CLI prints it


def test_daemon_status_running_stopped_and_stale(cli: Cli, tmp_path: Path) -> None:
    for args in (("daemon", "status"), ("daemon", "status", "--json")):
        _, loaded = both(cli, tmp_path, *args)
        assert loaded & HEAVY == set()  # no home, no daemon: answered without the CLI
    cli.run("daemon", "start", ok=True)
    for args in (("daemon", "status"), ("daemon", "status", "--json")):
        _, loaded = both(cli, tmp_path, *args)
        assert loaded & HEAVY == set()
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


def test_without_a_daemon_the_full_cli_says_so(cli: Cli, tmp_path: Path) -> None:
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


def test_host_and_completion_go_to_the_full_cli(cli: Cli, tmp_path: Path) -> None:
    cli.run("daemon", "start", ok=True)
    cli.env["_COVEN_COMPLETE"] = "bash_complete"
    cli.env["COMP_WORDS"] = "coven sess"
    cli.env["COMP_CWORD"] = "1"
    proc, loaded = both(cli, tmp_path, "sessions", "--json")
    assert "click" in loaded
    assert "sessions" in proc.stdout
