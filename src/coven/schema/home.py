"""The fixed layout of a Coven home (``COVEN_HOME``): names only, no I/O.

The daemon creates and checks these files; clients find the socket and the
status file here. One definition, so the names cannot drift between them.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing and pathlib cost a cold `coven run` before its daemon starts
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

SOCKET_NAME = "coven.sock"
STATUS_FILE_NAME = "daemon.json"
DATABASE_NAME = "coven.sqlite3"
SERVE_LOCK_NAME = "daemon-serve.lock"
LIFECYCLE_LOCK_NAME = "daemon.lock"
LOG_NAME = "daemon.log"
ADAPTERS_DIR_NAME = "adapters"
PRIVACY_NAME = "privacy.toml"
PROMPTS_DIR_NAME = "prompts"
WORKTREES_DIR_NAME = "worktrees"


class HomePaths:
    """Where each file of the home at ``home`` lives.

    A plain class, not a Struct: the CLI finds its lock files here before it has any
    use for msgspec (a cold ``coven run`` starts the daemon from this module)."""

    __slots__ = ("home",)

    def __init__(self, home: Path) -> None:
        self.home = home

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HomePaths) and other.home == self.home

    def __hash__(self) -> int:
        return hash(self.home)

    def __repr__(self) -> str:
        return f"HomePaths(home={self.home!r})"

    @property
    def socket(self) -> Path:
        return self.home / SOCKET_NAME

    @property
    def status_file(self) -> Path:
        return self.home / STATUS_FILE_NAME

    @property
    def db(self) -> Path:
        return self.home / DATABASE_NAME

    @property
    def serve_lock(self) -> Path:
        """Held (exclusive flock) by the serving daemon for its whole life: one daemon per home."""
        return self.home / SERVE_LOCK_NAME

    @property
    def lifecycle_lock(self) -> Path:
        """Held briefly (exclusive flock) by a CLI command that starts, stops or cleans up.

        The same file and use as other Coven CLIs, so theirs and ours wait for each other.
        """
        return self.home / LIFECYCLE_LOCK_NAME

    @property
    def log(self) -> Path:
        return self.home / LOG_NAME

    @property
    def adapters(self) -> Path:
        return self.home / ADAPTERS_DIR_NAME

    @property
    def privacy(self) -> Path:
        return self.home / PRIVACY_NAME

    @property
    def prompts(self) -> Path:
        """Where a prompt handed to a harness on stdin is written (0600) and at once unlinked."""
        return self.home / PROMPTS_DIR_NAME

    @property
    def worktrees(self) -> Path:
        """Sessions' lanes: one git worktree per session, named by its id."""
        return self.home / WORKTREES_DIR_NAME


def default_home(env: Mapping[str, str]) -> Path:
    """``$COVEN_HOME`` when set and non-empty (made absolute against the cwd), else ``~/.coven``.

    ``~`` is ``$HOME`` from ``env`` when non-empty, else the password database entry.
    """
    from pathlib import Path

    configured = env.get("COVEN_HOME", "")
    if configured:
        return Path(os.path.abspath(configured))
    user_home = env.get("HOME", "")
    if not user_home:
        import pwd

        user_home = pwd.getpwuid(os.getuid()).pw_dir
    return Path(os.path.abspath(user_home)) / ".coven"
