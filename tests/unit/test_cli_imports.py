"""Import budgets of the fast commands: each may load only the modules its budget lists.

``tests/support/imports.py`` holds the budgets; ``coven sessions --json`` against
a running daemon is held to the fast budget in ``tests/e2e/test_cli_fast_path.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from coven.cli import entry
from coven.schema.home import SOCKET_NAME, STATUS_FILE_NAME
from coven.schema.wire import API_VERSION
from tests.support.imports import (
    FAST,
    FAST_COVEN,
    FAST_HELP,
    FAST_HELP_COVEN,
    HELP,
    HELP_COVEN,
    beyond_budget,
    loaded_modules,
    modules_after_importing,
)

NOTHING: frozenset[str] = frozenset()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "COVEN_HOME": str(tmp_path / "no-home-yet"),
        "LANG": "C.UTF-8",
    }


@pytest.fixture
def baseline(env: dict[str, str]) -> set[str]:
    """What the probe loads in a bare interpreter (differs between Python builds)."""
    return loaded_modules(["--probe-baseline"], env)[1]


def test_version_loads_nothing_but_the_package(env: dict[str, str], baseline: set[str]) -> None:
    for args in (["--version"], ["-V"], ["version"]):
        proc, modules = loaded_modules(args, env)
        assert proc.stdout == f"coven v{entry.__version__}\n"
        assert beyond_budget(modules, baseline, NOTHING, FAST_COVEN) == set(), args


@pytest.mark.parametrize("args", [["daemon", "status"], ["daemon", "status", "--json"]])
def test_daemon_status_without_a_daemon_stays_within_the_fast_budget(
    env: dict[str, str], baseline: set[str], args: list[str]
) -> None:
    proc, modules = loaded_modules(args, env)
    assert proc.returncode == 0
    assert "not running" in proc.stdout + proc.stderr or '"stopped"' in proc.stdout
    assert beyond_budget(modules, baseline, FAST, FAST_COVEN) == set()


@pytest.mark.parametrize("args", [["--help"], ["-h"]])
def test_help_loads_nothing_but_the_command_table(
    env: dict[str, str], baseline: set[str], args: list[str]
) -> None:
    proc, modules = loaded_modules(args, env)
    assert proc.returncode == 0 and "Commands:" in proc.stdout
    assert beyond_budget(modules, baseline, FAST_HELP, FAST_HELP_COVEN) == set()
    assert "click" not in modules


@pytest.mark.parametrize("args", [["--help"], []])
def test_help_loads_click_and_no_command_module(
    env: dict[str, str], baseline: set[str], args: list[str]
) -> None:
    # On a narrow terminal (and for a bare ``coven``) click itself prints the help.
    proc, modules = loaded_modules(args, {**env, "COLUMNS": "60"})
    assert "Commands:" in proc.stdout + proc.stderr  # bare `coven` prints it on stderr
    assert beyond_budget(modules, baseline, HELP, HELP_COVEN) == set()
    assert "click" in modules


def test_a_budget_violation_is_seen(baseline: set[str]) -> None:
    assert beyond_budget(baseline | {"msgspec", "_json"}, baseline, FAST, FAST_COVEN) == {"msgspec"}
    assert beyond_budget(baseline | {"coven.client"}, baseline, FAST, FAST_COVEN) == {
        "coven.client"
    }


def test_the_entry_points_copies_of_schema_constants_agree() -> None:
    assert (entry.API_VERSION, entry.SOCKET_NAME, entry.STATUS_FILE_NAME) == (
        API_VERSION,
        SOCKET_NAME,
        STATUS_FILE_NAME,
    )


def test_the_console_script_is_the_entry_point() -> None:
    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    assert 'coven = "coven.cli.entry:main"' in text
    assert os.path.basename(entry.__file__) == "entry.py"


def test_the_daemon_loads_neither_the_client_nor_the_cli() -> None:
    # Both are for programs that talk to a daemon; the client package alone cost the
    # daemon's start-up 14 ms (it was loaded for the trust-store helper).
    loaded = modules_after_importing("coven.daemon.__main__", "coven.daemon.serve")
    coven = {m for m in loaded if m.startswith("coven.")}
    assert {m for m in coven if m.split(".")[1] in ("client", "cli")} == set()


def test_the_daemon_loads_no_http_stack_before_a_handed_over_launch() -> None:
    # What runs before a cold `coven run`'s launch is on its path to the first screen;
    # the HTTP stack (aiohttp, and urllib.request with http.client and email, ~10 ms)
    # loads on a worker thread while the launch runs (coven.daemon.serve).
    loaded = modules_after_importing("coven.daemon.__main__", "coven.daemon.serve")
    heavy = {m for m in loaded if m.split(".")[0] in ("aiohttp", "http", "email")}
    assert heavy | ({"urllib.request"} & loaded) == set()
