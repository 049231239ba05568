"""Fixtures shared by the unit tests: fake harnesses on real PTYs, a private home."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.ptyio import Spawner


@pytest.fixture
def spawner(tmp_path: Path) -> Iterator[Spawner]:
    """Spawns fake harnesses in ``tmp_path``; every one is killed, reaped and closed after."""
    sp = Spawner(str(tmp_path))
    try:
        yield sp
    finally:
        sp.cleanup()


@pytest.fixture
def home() -> Iterator[Path]:
    """A private (0700) Coven home for a daemon's socket, or a stand-in's. Under /tmp,
    not ``tmp_path``: AF_UNIX socket paths stop at 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="cvn-"))
    os.chmod(path, 0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)
