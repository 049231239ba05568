"""Shared fixtures: a real daemon per test, in its own home, with fake harnesses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coven.pty.dispositions import undo_inherited_ignores
from tests.support.daemon import Daemon, running_daemon

# Tests start harnesses on PTYs straight from this process too (``coven.pty.spawn``):
# they must start as from a terminal even when the runner ignores SIGHUP (nohup).
undo_inherited_ignores()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    with running_daemon(tmp_path) as d:
        yield d


@pytest.fixture
def project(daemon: Daemon) -> Path:
    return Path(daemon.env["COVEN_TEST_PROJECT"])
