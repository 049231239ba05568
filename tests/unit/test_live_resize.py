"""A resize that arrives as a session ends is a no-op, never an error."""

from __future__ import annotations

from coven.runtime.live import LiveSession, LiveState


class _ClosedChild:
    closed = True

    def resize(self, rows: int, cols: int) -> None:
        raise OSError(9, "PTY is closed")


def test_a_resize_after_the_terminal_closed_but_before_the_session_finished_is_ignored() -> None:
    # Regression: this raised EBADF and cut the attach streams of clients that resized
    # while the session's last output was being stored (they lost it and the exit frame).
    session = LiveSession.__new__(LiveSession)
    session.state = LiveState.RUNNING
    session.child = _ClosedChild()  # type: ignore[assignment]
    session.resize(30, 100)
