"""``coven attach`` without click: which command lines it takes, how it resolves ids.

Everything it declines goes to the full CLI, so a decline is always safe; taking a
line the full CLI reads differently is the bug these tests guard against.
"""

from __future__ import annotations

import pytest

from coven.cli import attach_fast, entry
from coven.cli.attach_fast import AttachArgs, parse, resolve


@pytest.mark.parametrize(
    ("args", "parsed"),
    [
        (["abc"], AttachArgs("abc")),
        (["abc", "--read-only"], AttachArgs("abc", read_only=True)),
        (["--read-only", "abc"], AttachArgs("abc", read_only=True)),
        (["abc", "--replay"], AttachArgs("abc", replay=True)),
        (["abc", "--history", "0"], AttachArgs("abc", history=0)),
        (["--history=10000", "abc"], AttachArgs("abc", history=10_000)),
        (["abc", "--detach-keys", "ctrl-p,ctrl-q"], AttachArgs("abc", detach_keys="ctrl-p,ctrl-q")),
        (["--detach-keys=ctrl-a", "abc"], AttachArgs("abc", detach_keys="ctrl-a")),
        (["--detach-keys", "", "abc"], AttachArgs("abc", detach_keys="")),
    ],
)
def test_the_lines_whose_meaning_is_certain_are_taken(args: list[str], parsed: AttachArgs) -> None:
    assert parse(args) == parsed


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["a", "b"],
        ["--help"],
        ["abc", "-h"],
        ["abc", "--"],
        ["--", "abc"],
        ["abc", "--read-only", "--read-only"],
        ["abc", "--read-only=yes"],
        ["abc", "--read"],  # click has no abbreviations either: it refuses
        ["abc", "--history"],
        ["abc", "--history", "10001"],
        ["abc", "--history", "-1"],
        ["abc", "--history", " 5"],
        ["abc", "--history", "1_0"],
        ["abc", "--history", "\u0665"],  # an Arabic-Indic five: int() takes it, click too
        ["abc", "--history=5", "--history=6"],
        ["abc", "--detach-keys"],
        ["abc", "--bogus"],
        ["-x"],
    ],
)
def test_anything_else_goes_to_the_full_cli(args: list[str]) -> None:
    assert parse(args) is None


SESSIONS = [
    {"id": "1111aaaa-0000-4000-8000-000000000001"},
    {"id": "1111bbbb-0000-4000-8000-000000000002"},
    {"id": "2222aaaa-0000-4000-8000-000000000003"},
]


@pytest.fixture
def listed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    sessions = [dict(s) for s in SESSIONS]
    monkeypatch.setattr(entry, "session_records", lambda home, include_archived: sessions)
    return sessions


def test_an_exact_id_or_a_unique_prefix_resolves(listed: list[dict[str, str]]) -> None:
    assert resolve("/h", "2222") == SESSIONS[2]["id"]
    assert resolve("/h", "1111b") == SESSIONS[1]["id"]
    assert resolve("/h", SESSIONS[0]["id"]) == SESSIONS[0]["id"]


def test_an_exact_id_wins_over_the_ids_it_prefixes(listed: list[dict[str, str]]) -> None:
    listed.append({"id": "1111"})
    assert resolve("/h", "1111") == "1111"


@pytest.mark.parametrize("ref", ["1111", "3", ""])
def test_no_single_match_is_left_to_the_full_cli_to_word(
    listed: list[dict[str, str]], ref: str
) -> None:
    with pytest.raises(entry.Doubt):
        resolve("/h", ref)


def test_a_record_without_an_id_is_a_doubt(listed: list[dict[str, str]]) -> None:
    listed.insert(0, {"title": "no id"})
    with pytest.raises(entry.Doubt):
        resolve("/h", "2222")


def test_keys_that_do_not_parse_go_to_the_full_cli(
    listed: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert attach_fast.run(["2222", "--detach-keys", "ctrl-"]) is None
    monkeypatch.setenv("COVEN_DETACH_KEYS", "nonsense-key")
    assert attach_fast.run(["2222"]) is None


def test_no_daemon_goes_to_the_full_cli(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COVEN_HOME", str(tmp_path))
    assert attach_fast.run(["2222"]) is None
