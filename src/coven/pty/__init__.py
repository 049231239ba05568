"""PTY and process control: the only code that touches fds, termios, signals and process groups.

Linux only. Spawn a harness on its own PTY (``spawn`` -> ``PtyChild``), read every
master on one thread (``PtyReader``), and control a harness and whatever it started
by session id (``signal_session``, ``kill_session_tree``, ``reap_orphan``).
"""

from coven.pty.child import ExitStatus, PtyChild, SpawnError, spawn
from coven.pty.control import kill_session_tree, reap_orphan, session_members, signal_session
from coven.pty.procfs import proc_start_time
from coven.pty.protocol import PtyProcess
from coven.pty.reader import PtyReader, PtySource

__all__ = [
    "ExitStatus",
    "PtyChild",
    "PtyProcess",
    "PtyReader",
    "PtySource",
    "SpawnError",
    "kill_session_tree",
    "proc_start_time",
    "reap_orphan",
    "session_members",
    "signal_session",
    "spawn",
]


def _conforms(child: PtyChild) -> PtyProcess:
    # Static check (mypy) that the real handle satisfies the protocol.
    return child
