"""A cold ``coven run``'s first output, on screen before the new daemon's API is up.

With no daemon running, ``run`` hands its launch to the daemon it starts, which
launches before it loads its API (``coven.daemon.handover``). A harness that prints
at once (a shell, a small tool) would still wait for that API, ~0.1 s, before its
output could be attached to. So the daemon also sends the session's first output on
the pipe it answers on, and this shows it: as soon as the launch is answered it says
that the daemon started, prints the session's header and takes the terminal over
(raw mode, as the attachment will keep it), then writes each byte that comes. The
attachment that follows (``attach_flow.follow`` with ``preview``) goes on from the
same terminal and skips the bytes shown here (``attaching``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from types import TracebackType

from coven.cli.terminal import ScreenState, is_interactive, taken_over, write_all
from coven.schema.wire import SessionRecord


class LaunchPreview:
    """Use as a context manager around starting the daemon and the attachment; the
    terminal taken over in ``on_answer`` is given back when it is left.

    ``parse(status, body)``: the launched record from the daemon's answer (raises when
    the answer is a refusal); ``announce(pid, record)``: the lines printed before the
    output (the daemon's start, the session's header)."""

    def __init__(
        self,
        parse: Callable[[int, bytes], SessionRecord],
        announce: Callable[[int, SessionRecord], None],
    ) -> None:
        self._parse = parse
        self._announce = announce
        self._terminal = contextlib.ExitStack()
        self.screen = ScreenState()
        self.shown = bytearray()
        self.taken = False
        self._out_fd = sys.stdout.fileno()

    def on_answer(self, pid: int, answer: tuple[int, bytes]) -> Callable[[bytes], None] | None:
        """``daemonctl.start_launching``'s hook: announce a launched session, take the
        terminal over, and answer where its output goes; ``None`` for a refusal (which
        ``run`` reports once the daemon is ready, as before)."""
        if answer[0] != 201:
            return None
        try:
            record = self._parse(*answer)
        except Exception:  # run parses the answer again and reports it
            return None
        self._announce(pid, record)
        interactive = is_interactive()
        self._terminal.enter_context(
            taken_over(sys.stdin.fileno() if interactive else None, self._out_fd, self.screen)
        )
        self.taken = True
        return self._show

    def _show(self, data: bytes) -> None:
        try:
            write_all(self._out_fd, data)
        except OSError:
            return  # the attachment meets the same terminal, and says what went wrong
        self.screen.see(data)
        self.shown += data

    def __enter__(self) -> LaunchPreview:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._terminal.close()


def started_line(pid: int | None, socket: str) -> str:
    """``Coven daemon: started …``: the line ``run`` prints for a daemon it started."""
    return f"Coven daemon: started (pid {pid}, socket {socket})"


def socket_of(home: os.PathLike[str] | str) -> str:
    """The socket of ``home``'s daemon as that daemon names it (resolved), known before
    it is ready to say so itself."""
    from coven.schema.home import SOCKET_NAME

    return os.path.realpath(os.path.join(home, SOCKET_NAME))
