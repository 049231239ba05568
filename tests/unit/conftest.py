"""Fixtures shared by the unit tests that spawn fake harnesses on real PTYs."""

from __future__ import annotations

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
