"""The pre-scan and mode tracker: the modes followed on the hot path equal the emulator's.

The screen model restores these modes after skipping output and reports them to clients
without rendering, so they must agree with what libghostty-vt (driven here through
pyghostty, a fresh reference instance) makes of the same bytes -- whole, or split
anywhere.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coven.screen.modes import (
    DEFAULT_MODES,
    ModeTracker,
    TerminalModes,
    enable_sequence,
    transition_sequence,
)
from coven.screen.render import RESET
from coven.screen.scan import Reset, Scanner
from tests.support import vt

# Building blocks of mode-heavy output, including queries and look-alikes that must not
# change anything.
PIECES = [
    *(f"\x1b[?{n}{f}".encode() for n in vt.FOLLOWED_MODES for f in "hl"),
    b"\x1b[?1049h",
    b"\x1b[?1049l",
    b"\x1b[2;5r",
    b"\x1b[3r",
    b"\x1b[;4r",
    b"\x1b[6;3r",  # ignored: top below bottom
    b"\x1b[r",
    b"\x1b[?42r",  # XTRESTORE, not DECSTBM
    b"version 2.0r1 and 3r",  # look-alikes in text
    b"\x1b[?6h",  # origin mode: not followed (the cursor's save and restore carry it)
    b"\x1b7",
    b"\x1b8",
    b"\x1b[?1048h",
    b"\x1b[?1048l",
    b"\x1b[?47h",
    b"\x1b[?1047l",
    b"\x1b[?1000;1006;2004h",
    b"\x1b[?25;1004l",
    b"\x1b=",
    b"\x1b>",
    b"\x1b[>1u",
    b"\x1b[>5u",
    b"\x1b[>u",
    b"\x1b[<u",
    b"\x1b[<2u",
    b"\x1b[<9u",
    b"\x1b[=3u",
    b"\x1b[=4;2u",
    b"\x1b[=1;3u",
    b"\x1b[>4;2m",
    b"\x1b[>4m",
    b"\x1bc",
    b"\x1b[2J",
    b"\x1b[H\x1b[J",
    # Queries and other sequences that share an introducer: no mode changes.
    b"\x1b[?u",
    b"\x1b[>c",
    b"\x1b[=c",
    b"\x1b[>0q",
    b"\x1b[?1049$p",
    b"\x1b[?6n",
    b"\x1b[6n",
    b"\x1b[c",
    b"\x1b]11;?\x1b\\",
    b"\x1b[1;31mtext\x1b[0m",
    b"plain words\r\n",
    "wide 日本 é\r\n".encode(),
]


def tracked(stream: bytes, cuts: list[int] | None = None) -> tuple[TerminalModes, list[int]]:
    """Modes after scanning ``stream`` (split at ``cuts``), and the offset of the last
    reset point found (the scanner reports the last one of each chunk)."""
    tracker = ModeTracker(ROWS)
    scanner = Scanner(tracker)
    resets: list[int] = []
    offset = 0
    bounds = [0, *sorted(set(cuts or [])), len(stream)]
    for start, end in itertools.pairwise(bounds):
        chunk = stream[start:end]
        if not chunk:
            continue
        found = scanner.scan(chunk)
        if found.reset is not None:
            resets.append(offset - len(found.lead_in) + found.reset_at)
        offset += len(chunk)
    return tracker.modes(), resets[-1:]


ROWS = 8


def emulator_modes(stream: bytes) -> dict[str, object]:
    term = vt.replay(stream, 40, ROWS)
    return {
        "alt_screen": term.get("active_screen", "int") == 1,
        "kitty": term.get("kitty_keyboard_flags", "uint8_t"),
        "modes": {n: term.mode(n) for n in vt.FOLLOWED_MODES},
        "scroll_region": vt.scroll_region(term),
    }


def as_emulator_sees(modes: TerminalModes) -> dict[str, object]:
    on = set(modes.dec_modes())
    return {
        "alt_screen": modes.alt_screen,
        "kitty": modes.kitty_keyboard,
        "modes": {n: n in on for n in vt.FOLLOWED_MODES},
        "scroll_region": modes.scroll_region,
    }


streams = st.lists(st.sampled_from(PIECES), max_size=40).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(stream=streams)
def test_tracked_modes_equal_the_emulators(stream: bytes) -> None:
    modes, _ = tracked(stream)
    assert as_emulator_sees(modes) == emulator_modes(stream)


@settings(max_examples=200, deadline=None)
@given(stream=streams, data=st.data())
def test_splitting_the_output_anywhere_changes_nothing(stream: bytes, data: st.DataObject) -> None:
    cuts = data.draw(st.lists(st.integers(0, max(len(stream), 1)), max_size=12))
    assert tracked(stream, cuts) == tracked(stream)


def test_every_single_byte_split_of_an_agent_start_up() -> None:
    whole = tracked(vt.AGENT_STARTUP)
    assert tracked(vt.AGENT_STARTUP, list(range(len(vt.AGENT_STARTUP)))) == whole
    modes, _ = whole
    assert modes.alt_screen and not modes.cursor_visible
    assert modes.bracketed_paste and modes.focus_events
    assert (modes.kitty_keyboard_main, modes.kitty_keyboard_alt) == (7, 7)


def test_the_scroll_region_follows_resizes_and_full_resets() -> None:
    tracker = ModeTracker(24)
    scanner = Scanner(tracker)
    scanner.scan(b"\x1b[2;20r")
    assert tracker.modes().scroll_region == (2, 20)
    tracker.resize(30)
    assert tracker.modes().scroll_region is None
    scanner.scan(b"\x1b[5;4")
    scanner.scan(b"0r")  # split across chunks, clamped to the 30 rows
    assert tracker.modes().scroll_region == (5, 30)
    scanner.scan(b"\x1bc")
    assert tracker.modes().scroll_region is None


def test_queries_change_no_mode() -> None:
    queries = b"\x1b[?u\x1b[>c\x1b[=c\x1b[>0q\x1b[?1049$p\x1b[?2026$p\x1b[6n\x1b[c\x1b]10;?\x07"
    assert tracked(queries) == (DEFAULT_MODES, [])


@pytest.mark.parametrize(
    ("stream", "kind", "at"),
    [
        (b"abc\x1bcdef", Reset.FULL, 3),
        (b"abc\x1b[2Jdef", Reset.CLEAR, 3),
        (b"abc\x1b[H\x1b[Jdef", Reset.CLEAR, 3),
        (b"abc\x1b[H\x1b[0Jdef", Reset.CLEAR, 3),
        (b"abc\x1b[?1049hdef", Reset.ALT_SCREEN, 3),
        (b"abc\x1b[?25;1049hdef", Reset.ALT_SCREEN, 3),
    ],
)
def test_reset_points_are_found(stream: bytes, kind: Reset, at: int) -> None:
    found = Scanner(ModeTracker()).scan(stream)
    assert (found.reset, found.reset_at) == (kind, at)
    assert found.reset_modes == DEFAULT_MODES


@pytest.mark.parametrize(
    "stream",
    [b"\x1b[?1049l", b"\x1b[?47h", b"\x1b[?1047h", b"\x1b[J", b"\x1b[1J", b"\x1b[3J", b"\x1b[K"],
)
def test_sequences_that_keep_part_of_the_screen_are_not_reset_points(stream: bytes) -> None:
    assert Scanner(ModeTracker()).scan(b"x" + stream + b"y").reset is None


def test_entering_the_alternate_screen_twice_is_one_reset_point() -> None:
    scanner = Scanner(ModeTracker())
    assert scanner.scan(b"\x1b[?1049h").reset is Reset.ALT_SCREEN
    assert scanner.scan(b"\x1b[?1049h").reset is None


def test_a_sequence_split_across_chunks_is_reported_with_its_start() -> None:
    scanner = Scanner(ModeTracker())
    assert scanner.scan(b"hello\x1b[?10").reset is None
    found = scanner.scan(b"49hworld")
    assert found.lead_in == b"\x1b[?10"
    assert (found.reset, found.reset_at) == (Reset.ALT_SCREEN, 0)


modes_records = st.builds(
    TerminalModes,
    alt_screen=st.booleans(),
    cursor_visible=st.booleans(),
    cursor_keys_application=st.booleans(),
    keypad_application=st.booleans(),
    autowrap=st.booleans(),
    mouse=st.lists(st.sampled_from([9, 1000, 1002, 1003]), unique=True).map(tuple),
    mouse_encodings=st.lists(st.sampled_from([1005, 1006, 1015, 1016]), unique=True).map(tuple),
    focus_events=st.booleans(),
    bracketed_paste=st.booleans(),
    kitty_keyboard_main=st.integers(0, 31),
    kitty_keyboard_alt=st.integers(0, 31),
    scroll_region=st.one_of(
        st.none(),
        st.tuples(st.integers(1, 7), st.integers(2, 8)).filter(
            lambda r: r[0] < r[1] and r != (1, 8)
        ),
    ),
)


def reach(modes: TerminalModes) -> bytes:
    """Output that leaves a fresh terminal in ``modes``."""
    return transition_sequence(DEFAULT_MODES, modes)


@settings(max_examples=200, deadline=None)
@given(old=modes_records, new=modes_records)
def test_a_transition_takes_the_emulator_from_one_record_to_the_other(
    old: TerminalModes, new: TerminalModes
) -> None:
    stream = reach(old) + transition_sequence(old, new)
    assert emulator_modes(stream) == as_emulator_sees(new)
    assert as_emulator_sees(tracked(stream)[0]) == as_emulator_sees(new)


@settings(max_examples=100, deadline=None)
@given(dirty=modes_records, wanted=modes_records)
def test_reset_then_enable_gives_exactly_the_wanted_modes(
    dirty: TerminalModes, wanted: TerminalModes
) -> None:
    """What a snapshot does to an attaching terminal left in any state (screen, kitty
    flags of the alternate screen and scroll region apart: the snapshot draws those in
    order itself)."""
    wanted = TerminalModes(
        **{**_fields(wanted), "alt_screen": False, "kitty_keyboard_alt": 0, "scroll_region": None}
    )
    stream = reach(dirty) + RESET + enable_sequence(wanted)
    assert emulator_modes(stream) == as_emulator_sees(wanted)


def _fields(modes: TerminalModes) -> dict[str, object]:
    return {name: getattr(modes, name) for name in modes.__struct_fields__}
