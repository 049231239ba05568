"""Replayed terminal queries are removed; reply-shaped input is dropped while it may be stale."""

from __future__ import annotations

import pytest

from coven.cli.terminal_queries import GRACE, QueryFilter, ReplyGate, has_query

QUERIES = [
    b"\x1b[6n",  # cursor position
    b"\x1b[?6n",  # DECXCPR
    b"\x1b[5n",  # status
    b"\x1b[?996n",  # colour scheme
    b"\x1b[c",  # primary device attributes
    b"\x1b[0c",
    b"\x1b[>c",  # secondary
    b"\x1b[>0c",
    b"\x1b[=c",  # tertiary
    b"\x1b[>q",  # XTVERSION
    b"\x1b[>0q",
    b"\x1b[?2026$p",  # DECRQM, private mode
    b"\x1b[4$p",  # DECRQM, ANSI mode
    b"\x1b[?u",  # kitty keyboard flags
    b"\x1b[?4m",  # XTQMODKEYS
    b"\x1b[14t",  # window size in pixels
    b"\x1b[18t",  # text area size in characters
    b"\x1b[x",  # DECREQTPARM
    b"\x1bP$qm\x1b\\",  # DECRQSS
    b"\x1bP+q544e\x1b\\",  # XTGETTCAP
    b"\x1b]10;?\x1b\\",  # foreground colour
    b"\x1b]11;?\x07",  # background colour
    b"\x1b]4;1;?\x07",  # palette entry
    b"\x1b]52;c;?\x07",  # clipboard read
    b"\x1b]7501;?\x1b\\",  # an OSC query Claude Code sends
    b"\x1bZ",  # DECID
    b"\x05",  # ENQ
]

NOT_QUERIES = [
    b"\x1b[?1049h",
    b"\x1b[?25l",
    b"\x1b[2J",
    b"\x1b[38;5;208mcolour\x1b[0m",
    b"\x1b[2 q",  # cursor shape
    b"\x1b[>1u",  # kitty push
    b"\x1b[<u",  # kitty pop
    b"\x1b[22;0t",  # push title
    b"\x1b]0;title\x07",
    b"\x1b]11;#000000\x07",  # setting a colour, not asking
    b"\x1b]8;;https://example.com\x1b\\link\x1b]8;;\x1b\\",
    b"\x1b[?2026h",
    b"plain text ? with a question mark\r\n",
]


@pytest.mark.parametrize("query", QUERIES)
def test_each_query_is_removed_from_replayed_output(query: bytes) -> None:
    assert has_query(query)
    f = QueryFilter()
    assert f.replay(b"before" + query + b"after") + f.flush() == b"beforeafter"


@pytest.mark.parametrize("sequence", NOT_QUERIES)
def test_other_sequences_pass_through(sequence: bytes) -> None:
    assert not has_query(sequence)
    f = QueryFilter()
    assert f.replay(sequence) + f.flush() == sequence


@pytest.mark.parametrize("query", [q for q in QUERIES if len(q) > 1])
def test_a_query_split_at_every_position_is_still_removed(query: bytes) -> None:
    data = b"ab" + query + b"cd"
    for cut in range(1, len(data)):
        f = QueryFilter()
        out = f.replay(data[:cut]) + f.replay(data[cut:]) + f.flush()
        assert out == b"abcd", (cut, out)


def test_many_small_chunks_keep_every_other_byte() -> None:
    screen = b"\x1b[?1049h\x1b[H\x1b[2J" + b"".join(QUERIES) + b"\x1b[1;1Hhello\x1b[0m world"
    f = QueryFilter()
    out = b"".join(f.replay(screen[i : i + 1]) for i in range(len(screen))) + f.flush()
    assert out == b"\x1b[?1049h\x1b[H\x1b[2J\x1b[1;1Hhello\x1b[0m world"


def test_live_output_is_untouched_and_finishes_a_query_cut_by_the_seam() -> None:
    f = QueryFilter()
    assert f.replay(b"old\x1b[") == b"old"
    assert f.live(b"6nnew\x1b[6n") == b"new\x1b[6n"  # the live query stays
    assert f.live(b"\x1b[c") == b"\x1b[c"


def test_a_held_start_that_is_not_a_query_is_released_by_live_output() -> None:
    f = QueryFilter()
    assert f.replay(b"x\x1b[1") == b"x"
    assert f.live(b";31mred") == b"\x1b[1;31mred"


def test_an_unterminated_string_is_not_held_forever() -> None:
    f = QueryFilter()
    huge = b"\x1b]11;?" + b"x" * 10_000
    assert f.replay(huge) == huge  # too long to be a query still completing


REPLIES = [
    b"\x1b[12;40R",  # cursor position
    b"\x1b[?12;40;1R",
    b"\x1b[?1;2c",  # primary DA
    b"\x1b[?62;22c",
    b"\x1b[>0;276;0c",  # secondary DA
    b"\x1b[?2026;2$y",  # DECRPM
    b"\x1b[?1u",  # kitty flags
    b"\x1b[0n",  # status
    b"\x1b[?997;1n",  # colour scheme
    b"\x1b[8;24;80t",  # window size
    b"\x1bP>|tmux 3.3a\x1b\\",  # XTVERSION
    b"\x1bP!|00000000\x1b\\",  # DA3
    b"\x1b]11;rgb:0000/0000/0000\x1b\\",
    b"\x1b]10;rgb:ffff/ffff/ffff\x07",
]

KEYS = [
    b"a",
    b"\r",
    b"\x1b",
    b"\x1b[A",
    b"\x1b[1;5C",
    b"\x1bOP",
    b"\x1b[15~",
    b"\x1b[200~pasted\x1b[201~",
    b"\x1b[<0;10;5M",
    b"\x1b[I",
    b"\x1b[97;5u",
]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("reply", REPLIES)
def test_replies_are_dropped_while_replaying_and_during_the_grace(reply: bytes) -> None:
    clock = Clock()
    gate = ReplyGate(clock)
    assert gate.filter(b"a" + reply + b"b") == b"ab"
    gate.went_live()
    clock.now += GRACE / 2
    assert gate.filter(reply + b"c") == b"c"
    clock.now += GRACE
    assert gate.filter(reply) == reply  # after the grace: live traffic


@pytest.mark.parametrize("key", KEYS)
def test_keys_pass_while_guarding(key: bytes) -> None:
    gate = ReplyGate(Clock())
    assert gate.filter(key) + gate.flush() == key


def test_a_live_query_opens_the_gate_at_once() -> None:
    clock = Clock()
    gate = ReplyGate(clock)
    gate.went_live()
    gate.saw_output(b"drawing\x1b[6n")
    assert not gate.guarding
    assert gate.filter(b"\x1b[3;4R") == b"\x1b[3;4R"


def test_output_before_going_live_does_not_open_the_gate() -> None:
    gate = ReplyGate(Clock())
    gate.saw_output(b"\x1b[6n")
    assert gate.guarding


def test_a_reply_split_across_reads_is_dropped() -> None:
    gate = ReplyGate(Clock())
    assert gate.filter(b"x\x1b[?1;") == b"x"
    assert gate.pending == b"\x1b[?1;"
    assert gate.filter(b"2cy") == b"y"


def test_held_input_that_never_completes_is_released() -> None:
    gate = ReplyGate(Clock())
    assert gate.filter(b"\x1b[") == b""
    assert gate.flush() == b"\x1b["
