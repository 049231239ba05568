"""ScreenModel: a snapshot makes a fresh terminal show what the session's terminal shows.

Every comparison is between two fresh reference terminals (libghostty-vt through
pyghostty's binding, not ours): one fed the session's output directly, one fed the
snapshot. They must agree cell for cell (character, width, colours, attributes,
background-only cells), on the cursor (position, pending wrap, visibility), the screen
in use and the followed modes -- and must keep agreeing when the application's next
output arrives (scroll region, origin mode, pen, tab stops, character set).
"""

from __future__ import annotations

import threading
import time

import pytest

from coven.screen import ScreenModel, TerminalModes
from coven.screen.model import MIN_BACKLOG_LIMIT
from tests.support import vt

COLS, ROWS = 80, 24


def feed_in_pieces(model: ScreenModel, data: bytes, size: int = 7) -> None:
    for i in range(0, len(data), size):
        model.feed(data[i : i + size])


def assert_reproduces(
    stream: bytes, *, cols: int = COLS, rows: int = ROWS, then: bytes = b""
) -> ScreenModel:
    """Feed ``stream`` to a model; its snapshot, replayed on a fresh terminal, must equal
    the terminal that saw ``stream`` -- also after both receive ``then``."""
    model = ScreenModel(cols, rows)
    feed_in_pieces(model, stream)
    snap = model.snapshot()
    assert (snap.cols, snap.rows, snap.offset) == (cols, rows, len(stream))
    assert vt.QUERY.search(snap.data) is None
    direct = vt.replay(stream, cols, rows)
    replayed = vt.replay(snap.data, cols, rows)
    assert vt.state(replayed) == vt.state(direct)
    if then:
        direct.feed(then)
        replayed.feed(then)
        assert vt.state(replayed) == vt.state(direct)
    return model


def test_an_agent_start_up_is_reproduced_without_its_queries() -> None:
    assert vt.QUERY.search(vt.AGENT_STARTUP) is not None  # the stream does query
    model = assert_reproduces(vt.AGENT_STARTUP, then=b"\x1b[?2026hnext frame\x1b[?2026l")
    modes = model.modes()
    assert modes.alt_screen and not modes.cursor_visible
    assert modes.bracketed_paste and modes.focus_events
    assert modes.kitty_keyboard == 7
    assert model.snapshot().exact


def test_an_editor_keeps_its_scroll_region_keypad_mouse_and_coloured_status_line() -> None:
    # Scrolling inside the region, unstyled text in the pen, a tab, line drawing.
    then = b"\x1b[23;1H\nnew line\tafter tab\x1b(0qqq\x1b(B"
    model = assert_reproduces(vt.EDITOR, then=then)
    modes = model.modes()
    assert modes.cursor_keys_application and modes.keypad_application
    assert modes.mouse == (1002,) and modes.mouse_encodings == (1006,)
    snap = model.snapshot().data
    assert b"\x1b[1;23r" in snap
    assert b"\x1b[0;44m\x1b[59X" in snap  # the status line's background-only cells


def test_origin_mode_and_a_pending_wrap_survive() -> None:
    stream = b"\x1b[5;10r\x1b[?6h\x1b[3;1H" + b"x" * 79 + b"\xe6\x97\xa5"  # wide char fills the row
    assert_reproduces(stream, then=b"wrapped\x1b[1;1Htop of region")
    narrow = b"\x1b[2;1H" + b"y" * 80
    assert_reproduces(narrow, then=b"z")


def test_colours_and_attributes_of_every_kind() -> None:
    stream = b"".join(
        [
            b"\x1b[31mred\x1b[0m \x1b[1;92mbright bold\x1b[0m \x1b[2;3;4;5;7;8;9mmany\x1b[0m\r\n",
            b"".join(b"\x1b[38;5;%dm#" % i for i in range(0, 256, 3)) + b"\x1b[0m\r\n",
            b"\x1b[48;2;10;20;30m\x1b[38;2;200;100;50mtruecolour\x1b[0m\r\n",
            b"\x1b[4:3mcurly\x1b[0m \x1b[58;5;196m\x1b[4munderline colour\x1b[0m\r\n",
            b"\x1b[44m\x1b[2K\x1b[0m\r\n",  # a whole row painted by erasing
            b"\x1b[45mprinted and \x1b[K\x1b[0m erased",
            b"\x1b[33m",  # the pen the application left on
        ]
    )
    assert_reproduces(stream, then=b"\r\nin the pen")


def test_wide_characters_and_combining_marks() -> None:
    stream = "日本語の文字 e\u0301 🙂 ok\r\n全角テキスト".encode()
    assert_reproduces(stream, cols=20, rows=4)


def test_a_shell_scrolling_a_thousand_lines_keeps_the_screen_and_the_last_history() -> None:
    stream = vt.shell_lines(1000)
    model = ScreenModel(COLS, ROWS, history=1000)
    feed_in_pieces(model, stream, 4096)
    snap = model.snapshot(history=200)
    direct = vt.replay(stream, COLS, ROWS)
    replayed = vt.replay(snap.data, COLS, ROWS)
    assert vt.state(replayed) == vt.state(direct)
    assert vt.history(replayed, 200) == vt.history(direct, 200)
    # The screen holds the last 23 lines and the prompt; history ends just above it.
    assert vt.history(replayed, 200)[-1] == "line 976 of output"
    assert len(vt.history(replayed, 10_000)) == 200


def test_history_is_only_for_the_main_screen() -> None:
    model = ScreenModel(COLS, ROWS)
    model.feed(vt.shell_lines(100) + b"\x1b[?1049h\x1b[Hfull screen")
    snap = model.snapshot()
    assert b"line 50 of output" not in snap.data
    assert vt.history(vt.replay(snap.data, COLS, ROWS), 100) == []


def test_split_utf8_and_escape_sequences_at_every_boundary() -> None:
    stream = vt.AGENT_STARTUP
    whole = ScreenModel(COLS, ROWS)
    whole.feed(stream)
    expected = whole.snapshot().data
    for cut in range(1, len(stream)):
        model = ScreenModel(COLS, ROWS)
        model.feed(stream[:cut])
        model.feed(stream[cut:])
        assert model.snapshot().data == expected, cut
        model.close()


def test_text_of_a_cursor_positioned_screen_reads_as_words() -> None:
    """`coven sessions log` of Claude read `78WelcometoClaudeCodev2.1.197`."""
    model = ScreenModel(COLS, ROWS)
    model.feed(vt.AGENT_STARTUP)
    lines = model.text().split("\n")
    assert len(lines) == ROWS
    assert lines[1] == "  Welcome to Claude Code"
    assert lines[6] == "  日本語 wide 🙂 emoji"
    assert all(line == line.rstrip() for line in lines)
    ansi = model.text(ansi=True)
    assert "\x1b[0;38;5;174mClaude Code\x1b[0m" in ansi
    assert vt.QUERY.search(ansi.encode()) is None


def test_text_with_history_reads_like_a_log() -> None:
    model = ScreenModel(COLS, ROWS)
    model.feed(vt.shell_lines(100))
    lines = model.text(history=50).split("\n")
    assert len(lines) == 50 + ROWS
    assert lines[0] == "line 27 of output"
    assert lines[-1] == "~/project $"
    assert model.text(history=10_000).split("\n")[0] == "ok line 0"
    assert model.text(ansi=True, history=10_000).split("\n")[0] == "\x1b[0;32mok\x1b[0m line 0"


def test_resizes_apply_at_their_place_in_the_output() -> None:
    model = ScreenModel(COLS, ROWS)
    direct = vt.reference(COLS, ROWS)
    first, second = vt.shell_lines(30), b"\r\nafter the resize " * 5
    model.feed(first)
    direct.feed(first)
    model.resize(40, 10)
    direct.resize(40, 10)
    model.feed(second)
    direct.feed(second)
    snap = model.snapshot()
    assert (snap.cols, snap.rows) == (40, 10)
    assert vt.state(vt.replay(snap.data, 40, 10)) == vt.state(direct)


def test_modes_are_read_without_rendering() -> None:
    model = ScreenModel(COLS, ROWS)
    model.feed(b"\x1b[?1000h\x1b[?1006h\x1b[?2004h\x1b[?1049h\x1b[>5u")
    assert model.modes() == TerminalModes(
        alt_screen=True,
        mouse=(1000,),
        mouse_encodings=(1006,),
        bracketed_paste=True,
        kitty_keyboard_alt=5,
    )
    assert model.backlog_bytes > 0  # nothing was emulated to answer


# -- the bounded backlog -----------------------------------------------------------------

LIMIT = MIN_BACKLOG_LIMIT
FLOOD = b"".join(b"\x1b[3%dmflood line %d\x1b[0m\r\n" % (i % 8, i) for i in range(20_000))


def test_a_flood_skips_to_the_last_wipe_and_the_screen_stays_right() -> None:
    stream = FLOOD + b"\x1b[?2004h" + FLOOD + b"\x1b[H\x1b[2J\x1b[0m" + vt.EDITOR[40:] + b"tail"
    model = ScreenModel(COLS, ROWS, backlog_limit=LIMIT)
    feed_in_pieces(model, stream, 4096)
    assert model.backlog_bytes <= LIMIT + LIMIT // 8 + 4096
    assert model.skipped_bytes > len(FLOOD)
    snap = model.snapshot()
    assert not snap.exact  # output after the last RIS was skipped
    assert snap.modes.bracketed_paste  # a mode set in skipped output is kept
    direct = vt.replay(stream, COLS, ROWS)
    assert vt.state(vt.replay(snap.data, COLS, ROWS)) == vt.state(direct)


def test_skipping_to_a_full_reset_is_exact() -> None:
    stream = b"\x1b[?1000h" + FLOOD + b"\x1bc" + vt.AGENT_STARTUP
    model = ScreenModel(COLS, ROWS, backlog_limit=LIMIT)
    feed_in_pieces(model, stream, 4096)
    snap = model.snapshot()
    assert snap.exact and model.skipped_bytes > 0
    assert snap.modes.mouse == ()  # RIS switched the mouse off
    assert vt.state(vt.replay(snap.data, COLS, ROWS)) == vt.state(vt.replay(stream, COLS, ROWS))


def test_a_flood_without_a_wipe_keeps_the_newest_output() -> None:
    stream = b"\x1b[?1049h\x1b[?25l\x1b[?1049l" + FLOOD * 2
    model = ScreenModel(COLS, ROWS, backlog_limit=LIMIT)
    feed_in_pieces(model, stream, 4096)
    snap = model.snapshot(history=100)
    assert not snap.exact
    direct = vt.replay(stream, COLS, ROWS)
    replayed = vt.replay(snap.data, COLS, ROWS)
    # The screen and the recent history are rewritten by the kept tail: right again.
    assert vt.state(replayed) == vt.state(direct)
    assert vt.history(replayed, 100) == vt.history(direct, 100)
    assert snap.modes.cursor_visible is False


def test_an_old_wipe_is_forgotten_once_the_flood_after_it_is_dropped() -> None:
    stream = vt.AGENT_STARTUP + FLOOD + FLOOD + b"\x1b[?1049l" + FLOOD
    model = ScreenModel(COLS, ROWS, backlog_limit=LIMIT)
    feed_in_pieces(model, stream, 8192)
    snap = model.snapshot()
    direct = vt.replay(stream, COLS, ROWS)
    assert vt.state(vt.replay(snap.data, COLS, ROWS)) == vt.state(direct)


def test_a_scroll_region_set_in_skipped_output_is_kept() -> None:
    stream = vt.EDITOR + FLOOD + FLOOD + b"\x1b[?1049l" + FLOOD
    model = ScreenModel(COLS, ROWS, backlog_limit=LIMIT)
    feed_in_pieces(model, stream, 8192)
    snap = model.snapshot()
    assert not snap.exact and snap.modes.scroll_region == (1, 23)
    direct = vt.replay(stream, COLS, ROWS)
    assert vt.scroll_region(direct) == (1, 23)  # leaving the alternate screen keeps it
    assert vt.state(vt.replay(snap.data, COLS, ROWS)) == vt.state(direct)


def test_one_huge_chunk_is_skipped_piece_by_piece() -> None:
    stream = b"\x1b[?2004h" + FLOOD * 3  # ~1.6 MiB in one call
    model = ScreenModel(COLS, ROWS, backlog_limit=LIMIT)
    model.feed(stream)
    assert model.backlog_bytes <= LIMIT + LIMIT // 8 + 256 * 1024
    snap = model.snapshot(history=100)
    assert snap.modes.bracketed_paste
    direct = vt.replay(stream, COLS, ROWS)
    replayed = vt.replay(snap.data, COLS, ROWS)
    assert vt.state(replayed) == vt.state(direct)
    assert vt.history(replayed, 100) == vt.history(direct, 100)


def test_a_model_never_fed_shows_an_empty_terminal() -> None:
    snap = ScreenModel(COLS, ROWS).snapshot()
    assert (snap.offset, snap.exact) == (0, True)
    assert vt.state(vt.replay(snap.data, COLS, ROWS)) == vt.state(vt.reference(COLS, ROWS))


def test_a_resize_in_skipped_output_is_still_applied() -> None:
    model = ScreenModel(COLS, ROWS, backlog_limit=LIMIT)
    model.feed(FLOOD[: len(FLOOD) // 2])
    model.resize(60, 20)
    feed_in_pieces(model, FLOOD, 8192)
    snap = model.snapshot()
    assert (snap.cols, snap.rows) == (60, 20)
    assert vt.state(vt.replay(snap.data, 60, 20))["cells"][-2][0][0] == "f"


def test_catching_up_empties_the_backlog() -> None:
    model = ScreenModel(COLS, ROWS)
    model.feed(FLOOD)
    assert model.backlog_bytes > 0
    assert model.catch_up() == len(FLOOD) == model.fed_bytes
    assert model.backlog_bytes == 0
    assert model.text().split("\n")[-2].startswith("flood line 19999")


def test_a_snapshot_taken_while_output_flows_stitches_to_the_rest_by_offset() -> None:
    """Attach: the snapshot covers ``offset`` bytes; replaying it and then the output
    from that byte on must give exactly the session's screen."""
    stream = vt.AGENT_STARTUP + FLOOD[:200_000] + b"\x1b[H\x1b[2J" + vt.EDITOR + FLOOD[:50_000]
    model = ScreenModel(COLS, ROWS, backlog_limit=LIMIT)
    snapshots = []

    def writer() -> None:
        for i in range(0, len(stream), 1024):
            model.feed(stream[i : i + 1024])
            time.sleep(0)  # let the renderer in between pieces

    thread = threading.Thread(target=writer)
    thread.start()
    while thread.is_alive() or len(snapshots) < 3:
        snapshots.append(model.snapshot())
    thread.join()
    expected = vt.state(vt.replay(stream, COLS, ROWS))
    offsets = {snap.offset for snap in snapshots}
    assert len(offsets) > 1  # taken at different points of the output
    for snap in snapshots[:: max(1, len(snapshots) // 8)]:
        term = vt.replay(snap.data, COLS, ROWS)
        term.feed(stream[snap.offset :])
        assert vt.state(term) == expected, snap.offset


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0, 24), {}, "outside"),
        ((80, 5000), {}, "outside"),
        ((80, 24), {"history": -1}, "history"),
        ((80, 24), {"backlog_limit": 1024}, "backlog_limit"),
    ],
)
def test_bad_sizes_are_refused_in_words(
    args: tuple[int, int], kwargs: dict[str, int], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ScreenModel(*args, **kwargs)
    model = ScreenModel(80, 24)
    with pytest.raises(ValueError, match="outside"):
        model.resize(0, 0)


def test_a_closed_model_ignores_output_and_refuses_to_render() -> None:
    model = ScreenModel(COLS, ROWS)
    model.feed(b"hello")
    assert model.text().startswith("hello")
    model.close()
    model.close()
    model.feed(b"more")
    model.resize(10, 10)
    assert model.backlog_bytes == 0
    with pytest.raises(ValueError, match="closed"):
        model.snapshot()
