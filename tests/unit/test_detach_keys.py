"""Detach key specs and the matcher that spots them in terminal input, in every encoding."""

from __future__ import annotations

import pytest

from coven.cli.detach_keys import (
    DetachKeysError,
    DetachMatcher,
    Key,
    describe,
    parse_detach_keys,
)

CTRL_BRACKET = parse_detach_keys("ctrl-]")
CTRL_P_Q = parse_detach_keys("ctrl-p,ctrl-q")


@pytest.mark.parametrize(
    ("spec", "keys"),
    [
        ("ctrl-]", (Key("]", True),)),
        ("Ctrl-P, ctrl-q", (Key("p", True), Key("q", True))),
        ("ctrl-@", (Key("@", True),)),
        ("ctrl-\\", (Key("\\", True),)),
        ("ctrl-^,ctrl-_", (Key("^", True), Key("_", True))),
        ("ctrl-a,x", (Key("a", True), Key("x", False))),
    ],
)
def test_valid_specs(spec: str, keys: tuple[Key, ...]) -> None:
    assert parse_detach_keys(spec) == keys


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("", "must not be empty"),
        ("  ", "must not be empty"),
        ("ctrl-[", "Escape"),
        ("ctrl-", "invalid detach key `ctrl-`"),
        ("ctrl-1", "invalid detach key `ctrl-1`"),
        ("alt-x", "invalid detach key `alt-x`"),
        ("ctrl-p,,ctrl-q", "invalid detach key ``"),
        ("ctrl-ü", "invalid detach key `ctrl-ü`"),
        ("xy", "invalid detach key `xy`"),
    ],
)
def test_invalid_specs_say_why_and_show_an_example(spec: str, why: str) -> None:
    with pytest.raises(DetachKeysError) as info:
        parse_detach_keys(spec)
    assert why in str(info.value)
    assert "e.g. ctrl-] or ctrl-p,ctrl-q" in str(info.value)


def test_legacy_bytes_and_labels() -> None:
    assert [k.legacy for k in parse_detach_keys("ctrl-@,ctrl-a,ctrl-],ctrl-_,q")] == [
        0x00,
        0x01,
        0x1D,
        0x1F,
        ord("q"),
    ]
    assert describe(CTRL_P_Q) == "Ctrl-P Ctrl-Q"
    assert describe(CTRL_BRACKET) == "Ctrl-]"


def test_ordinary_typing_passes_untouched() -> None:
    matcher = DetachMatcher(CTRL_BRACKET)
    assert matcher.feed(b"hello\r") == (b"hello\r", False)
    assert matcher.feed(b"\x1b[A\x1b[1;5C\x1bOP") == (b"\x1b[A\x1b[1;5C\x1bOP", False)
    assert matcher.pending == b""


@pytest.mark.parametrize(
    "encoded",
    [
        b"\x1d",  # legacy control byte
        b"\x1b[93;5u",  # kitty keyboard protocol (disambiguate)
        b"\x1b[93;5:1u",  # kitty, with event types: a press
        b"\x1b[93;5:2u",  # kitty: a repeat
        b"\x1b[93;69u",  # Ctrl with Caps Lock on
        b"\x1b[93;133u",  # Ctrl with Num Lock on
        b"\x1b[27;5;93~",  # xterm modifyOtherKeys
    ],
)
def test_ctrl_bracket_in_every_encoding(encoded: bytes) -> None:
    matcher = DetachMatcher(CTRL_BRACKET)
    assert matcher.feed(b"ab" + encoded + b"after") == (b"ab", True)


@pytest.mark.parametrize(
    "not_detach",
    [
        b"\x1b[93;5:3u",  # a release, not a press
        b"\x1b[93;6u",  # Ctrl-Shift-]
        b"\x1b[93u",  # ] reported as a key
        b"\x1b[92;5u",  # Ctrl-\
        b"\x1b[27;5;92~",
        b"]",
    ],
)
def test_near_misses_are_forwarded_intact(not_detach: bytes) -> None:
    matcher = DetachMatcher(CTRL_BRACKET)
    assert matcher.feed(not_detach) == (not_detach, False)


def test_a_sequence_of_keys_detaches_only_when_complete() -> None:
    matcher = DetachMatcher(CTRL_P_Q)
    assert matcher.feed(b"x\x10") == (b"x", False)  # Ctrl-P held back
    assert matcher.pending == b"\x10"
    assert matcher.feed(b"\x11") == (b"", True)


def test_a_partial_sequence_that_does_not_complete_is_forwarded_intact() -> None:
    matcher = DetachMatcher(CTRL_P_Q)
    assert matcher.feed(b"\x10") == (b"", False)
    assert matcher.feed(b"k") == (b"\x10k", False)  # Ctrl-P then k: both go to the agent
    assert matcher.feed(b"\x10\x10") == (b"\x10", False)  # the second Ctrl-P may start it
    assert matcher.feed(b"\x11") == (b"", True)


def test_kitty_sequences_and_release_events_between_keys() -> None:
    matcher = DetachMatcher(CTRL_P_Q)
    assert matcher.feed(b"\x1b[112;5u") == (b"", False)
    assert matcher.feed(b"\x1b[112;5:3u") == (b"", False)  # releasing Ctrl-P does not break it
    assert matcher.feed(b"\x1b[113;5u") == (b"", True)


def test_kitty_partial_match_is_forwarded_with_its_release() -> None:
    matcher = DetachMatcher(CTRL_P_Q)
    assert matcher.feed(b"\x1b[112;5u\x1b[112;5:3u") == (b"", False)
    assert matcher.feed(b"\x1b[120;5u") == (b"\x1b[112;5u\x1b[112;5:3u\x1b[120;5u", False)


def test_a_key_report_split_across_reads() -> None:
    matcher = DetachMatcher(CTRL_BRACKET)
    assert matcher.feed(b"a\x1b[93") == (b"a", False)
    assert matcher.pending == b"\x1b[93"
    assert matcher.feed(b";5u") == (b"", True)


def test_a_cut_off_sequence_that_never_completes_is_released_as_typed() -> None:
    matcher = DetachMatcher(CTRL_BRACKET)
    assert matcher.feed(b"\x1b[1") == (b"", False)
    assert matcher.feed_partial_end() == (b"\x1b[1", False)
    assert matcher.pending == b""


def test_a_lone_escape_is_never_held() -> None:
    matcher = DetachMatcher(CTRL_BRACKET)
    assert matcher.feed(b"\x1b") == (b"\x1b", False)
    assert matcher.feed(b"\x1b[") == (b"\x1b[", False)  # Alt-[ goes through at once


@pytest.mark.parametrize(
    ("spec", "encoded"),
    [
        ("ctrl-^", b"\x1b[54;6u"),  # Ctrl-Shift-6 on a US layout
        ("ctrl-_", b"\x1b[45;6u"),
        ("ctrl-@", b"\x1b[32;5u"),  # Ctrl-Space
        ("ctrl-@", b"\x00"),
        ("x", b"\x1b[120u"),  # kitty "report all keys"
        ("X", b"\x1b[120;2u"),
    ],
)
def test_symbol_and_letter_keys_in_kitty_form(spec: str, encoded: bytes) -> None:
    assert DetachMatcher(parse_detach_keys(spec)).feed(encoded) == (b"", True)
