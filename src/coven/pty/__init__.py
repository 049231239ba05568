"""PTY and process control: the only code that touches fds, termios, signals and process groups.

Linux only. Spawn a harness on its own PTY (``spawn`` -> ``PtyChild``, or through
``PtySpawner``, the runtime's spawner), read every master on one thread
(``PtyReader``), and control a harness and whatever it started by session id
(``signal_session``, ``kill_session_tree``, ``reap_orphan``).
"""

from coven.pty.child import ExitStatus, PtyChild, SpawnError, spawn
from coven.pty.process_group import (
    kill_session_tree,
    reap_orphan,
    session_members,
    signal_session,
)
from coven.pty.procfs import proc_start_time
from coven.pty.reader import PtyReader, PtySource
from coven.pty.spawner import PtySpawner
from coven.pty.stdin_file import discard_leftovers, stdin_file

__all__ = [
    "ExitStatus",
    "PtyChild",
    "PtyReader",
    "PtySource",
    "PtySpawner",
    "SpawnError",
    "discard_leftovers",
    "kill_session_tree",
    "proc_start_time",
    "reap_orphan",
    "session_members",
    "signal_session",
    "spawn",
    "stdin_file",
]
