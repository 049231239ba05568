"""The daemon imports with the cyclic collector off, then freezes what the imports made."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from coven.daemon.frozen import uncollected


@pytest.fixture(autouse=True)
def _collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    gc.unfreeze()  # the test process goes on collecting what these tests froze
    if was:
        gc.enable()


def test_nothing_is_collected_inside_and_what_was_made_is_frozen_after() -> None:
    gc.unfreeze()
    made: list[object] = []
    with uncollected():
        assert not gc.isenabled()
        made.extend({"n": i} for i in range(1000))  # tracked containers, as modules make
    assert gc.isenabled()
    # Everything alive on leaving is in the permanent generation: never traversed again.
    assert gc.get_freeze_count() >= len(made)


def test_the_collector_runs_again_when_the_import_fails() -> None:
    with pytest.raises(ImportError), uncollected():
        raise ImportError("boom")
    assert gc.isenabled()
