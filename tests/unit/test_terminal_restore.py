"""The restore sequence an attachment writes when it gives the terminal back."""

from __future__ import annotations

import os
import pty
import signal
import termios

import pytest

from coven.cli.terminal import RESTORE, Hangup, ScreenState, taken_over

LEAVE = b"\x1b[?1049l"


@pytest.mark.parametrize(
    "mode_off",
    [
        b"\x1b[?25h",  # cursor shown
        b"\x1b[?1000l",
        b"\x1b[?1002l",
        b"\x1b[?1003l",
        b"\x1b[?1006l",
        b"\x1b[?1015l",
        b"\x1b[?2004l",  # bracketed paste
        b"\x1b[?1004l",  # focus events
        b"\x1b[?2031l",  # colour-scheme reports
        b"\x1b[?1l",  # application cursor keys
        b"\x1b>",  # application keypad
        b"\x1b[=0;1u",  # kitty flags
        b"\x1b[<99u",  # kitty stack
        b"\x1b[r",  # scroll region
        b"\x1b[0m",  # attributes
    ],
)
def test_restore_turns_off_every_mode(mode_off: bytes) -> None:
    assert mode_off in RESTORE


def test_scroll_region_reset_does_not_move_the_cursor() -> None:
    save, reset, restore = (
        RESTORE.index(b"\x1b7"),
        RESTORE.index(b"\x1b[r"),
        RESTORE.index(b"\x1b8"),
    )
    assert save < reset < restore


def test_plain_output_is_not_sent_to_the_alternate_screens_saved_cursor() -> None:
    screen = ScreenState()
    screen.see(b"hello\r\n")
    assert LEAVE not in screen.restore_bytes()
    assert screen.restore_bytes().endswith(RESTORE + b"\r\x1b[J")
    screen.see(b"prompt> ")
    assert screen.restore_bytes().endswith(RESTORE + b"\r\n\x1b[J")


def test_a_full_screen_app_is_taken_off_the_alternate_screen_first() -> None:
    screen = ScreenState()
    screen.see(b"header\r\n\x1b[?1049h\x1b[H\x1b[2Jdrawing")
    assert screen.alternate
    restore = screen.restore_bytes()
    assert restore.index(b"\x1b[=0;1u") < restore.index(LEAVE) < restore.index(RESTORE)
    # Back on the main screen the cursor is where the app found it: a fresh line.
    assert restore.endswith(RESTORE + b"\r\x1b[J")


def test_leaving_the_alternate_screen_is_followed() -> None:
    screen = ScreenState()
    screen.see(b"x\x1b[?1049h")
    screen.see(b"y\x1b[?1049l")
    assert not screen.alternate
    screen.see(b"\x1b[?1047;25h")
    assert screen.alternate


def test_taken_over_restores_termios_and_writes_the_restore_on_an_exception() -> None:
    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        screen = ScreenState()
        screen.see(b"\x1b[?1049h")
        with pytest.raises(RuntimeError), taken_over(slave, slave, screen):
            assert termios.tcgetattr(slave)[3] & termios.ICANON == 0  # raw
            raise RuntimeError("boom")
        assert termios.tcgetattr(slave) == before
        written = os.read(master, 4096)
        assert LEAVE in written and RESTORE in written
    finally:
        os.close(master)
        os.close(slave)


def test_taken_over_turns_sigterm_into_a_restoring_exit() -> None:
    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        with pytest.raises(Hangup) as info, taken_over(slave, slave, ScreenState()):
            os.kill(os.getpid(), signal.SIGTERM)
        assert info.value.code == 128 + signal.SIGTERM
        assert termios.tcgetattr(slave) == before
        assert RESTORE in os.read(master, 4096)
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    finally:
        os.close(master)
        os.close(slave)
