"""Shared fixtures: a real daemon per test, in its own home, with fake harnesses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.daemon import Daemon, running_daemon


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    with running_daemon(tmp_path) as d:
        yield d


@pytest.fixture
def project(daemon: Daemon) -> Path:
    return Path(daemon.env["COVEN_TEST_PROJECT"])
