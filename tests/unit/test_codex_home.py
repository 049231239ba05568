"""The one rule for where Codex keeps its files (the daemon's rollouts, the hook's config)."""

from __future__ import annotations

from coven.schema.codex_home import codex_home


def test_codex_home_prefers_codex_home_then_home() -> None:
    assert codex_home({"CODEX_HOME": "/c", "HOME": "/h"}) == "/c"
    assert codex_home({"HOME": "/h"}) == "/h/.codex"


def test_an_empty_codex_home_is_not_a_home() -> None:
    assert codex_home({"CODEX_HOME": "", "HOME": "/h"}) == "/h/.codex"


def test_no_home_at_all_is_none() -> None:
    assert codex_home({}) is None
    assert codex_home({"HOME": ""}) is None
