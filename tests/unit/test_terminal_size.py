"""The smallest-size policy of several attached terminals, as a pure rule."""

from __future__ import annotations

from coven.runtime.terminal_size import AttachedSizes


def test_each_dimension_is_the_smallest_reported_and_detaching_grows_back() -> None:
    sizes = AttachedSizes()
    a, b = object(), object()
    assert sizes.report("s", a, 30, 100) == (30, 100)
    assert sizes.report("s", b, 40, 80) == (30, 80)
    assert sizes.report("s", a, 50, 200) == (40, 80)  # a reported again: its old size is gone
    assert sizes.forget("s", b) == (50, 200)
    assert sizes.forget("s", a) is None  # nobody left: keep the size
    assert sizes.forget("s", a) is None  # forgetting twice changes nothing


def test_sessions_are_independent_and_unknown_clients_change_nothing() -> None:
    sizes = AttachedSizes()
    a, b = object(), object()
    sizes.report("one", a, 24, 80)
    assert sizes.report("two", b, 50, 200) == (50, 200)
    assert sizes.forget("one", b) is None
    assert sizes.forget("three", a) is None
    assert sizes.report("one", b, 30, 90) == (24, 80)
