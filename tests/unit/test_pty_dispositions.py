"""Processes that start harnesses undo ignores they inherited, and nothing else."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from coven.pty.dispositions import ENDING_SIGNALS, undo_inherited_ignores


@pytest.fixture(autouse=True)
def _restored() -> Iterator[None]:
    saved = {signo: signal.getsignal(signo) for signo in ENDING_SIGNALS}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    yield
    for signo, handler in saved.items():
        signal.signal(signo, handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def test_ignored_ending_signals_go_back_to_their_default() -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    assert undo_inherited_ignores() == [signal.SIGHUP, signal.SIGQUIT]
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGQUIT) == signal.SIG_DFL


def test_handlers_a_process_installed_itself_are_left_alone() -> None:
    def handler(signo: int, frame: object) -> None:
        pass

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    assert undo_inherited_ignores() == []
    assert signal.getsignal(signal.SIGTERM) is handler


def test_blocked_ending_signals_are_unblocked() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGHUP, signal.SIGTERM, signal.SIGUSR1])
    undo_inherited_ignores()
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    assert signal.SIGUSR1 in blocked  # not one of ours: left as it was
    assert blocked.isdisjoint(ENDING_SIGNALS)
