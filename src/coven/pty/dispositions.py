"""Harnesses start with the signal dispositions a terminal would give them.

An ignored signal stays ignored across ``fork`` and ``exec``. A daemon started under
``nohup`` (or by a runner that ignores ``SIGHUP``) would pass that on to its holders'
fork server, to every holder and to every harness: a harness whose holder died, or
whose terminal was hung up, would not be hung up with it, and ``coven kill`` would
find ``SIGHUP`` ignored. A blocked signal is inherited the same way. So the processes
that start harnesses (the daemon, the fork server, a holder) undo inherited ignores and
blocks first, as tmux does for its panes. Handlers
a process installs itself (the daemon's event loop takes ``SIGHUP``, ``SIGINT`` and
``SIGTERM``) revert to the default in a child at ``exec`` anyway.
"""

from __future__ import annotations

import signal

# The signals a terminal or ``coven kill`` ends a harness with.
ENDING_SIGNALS = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM)


def undo_inherited_ignores() -> list[signal.Signals]:
    """Reset every ending signal this process ignores to its default, and unblock them
    (a blocked signal is inherited the same way); the ones that were ignored."""
    reset = []
    for signo in ENDING_SIGNALS:
        if signal.getsignal(signo) == signal.SIG_IGN:
            signal.signal(signo, signal.SIG_DFL)
            reset.append(signo)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, ENDING_SIGNALS)
    return reset
