"""The CLI's own files in ``COVEN_HOME``: the home itself, the lifecycle lock, a dead daemon's leftovers.

Nothing is created or written inside a home before it passes the checks the
daemon applies to it: not a symlink, a directory, owned by us; a home with
group/other bits is tightened to 0700, and a missing one is created 0700.

``daemon.lock`` is the *lifecycle* lock: a command that starts, stops or cleans
up after a daemon holds it (exclusive ``flock``) for that command only, as
other Coven CLIs do, so theirs and ours take turns. The serving daemon holds
``daemon-serve.lock`` for its whole life instead; whoever can take that lock
knows no daemon serves the home.

Standard library only, without pathlib: a cold ``coven run`` prepares the home and
takes the lifecycle lock here before it starts the daemon (``coven.cli.early_start``),
so every module loaded here delays the daemon. Paths may be given as ``str`` or
``Path``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time

from coven.schema.home import LIFECYCLE_LOCK_NAME as LIFECYCLE_LOCK
from coven.schema.home import SERVE_LOCK_NAME as SERVE_LOCK

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

LOCK_WAIT = 5.0


class HomeUnusable(Exception):
    """The home (or a file in it) cannot be used; the message names the path and why."""


class LifecycleBusy(Exception):
    """Another command held the lifecycle lock for longer than we wait."""


def prepare_home(home: Path) -> Path:
    """Create ``home`` 0700 if missing (parents too) or verify it; return its absolute path.

    Raises ``HomeUnusable`` if it cannot be created, is a symlink, is not a
    directory or belongs to another user. Group/other bits are removed.
    """
    from pathlib import Path

    return Path(prepare_home_dir(os.fspath(home)))


def prepare_home_dir(home: str) -> str:
    """``prepare_home`` for a ``str`` path, without loading pathlib (the early start)."""
    home = os.path.abspath(home)
    try:
        os.makedirs(home, mode=0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise HomeUnusable(f"cannot create Coven home {home}: {_why(home, exc)}") from exc
    st = verify_home(home)
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(home, 0o700)
    return home


def verify_home(home: str | Path) -> os.stat_result:
    """Check an existing home without changing it; raise ``HomeUnusable`` naming the fault."""
    try:
        st = os.lstat(home)
    except OSError as exc:
        raise HomeUnusable(f"cannot use Coven home {home}: {_why(home, exc)}") from exc
    if stat.S_ISLNK(st.st_mode):
        raise HomeUnusable(f"Coven home {home} is a symlink; refusing to use it")
    if not stat.S_ISDIR(st.st_mode):
        raise HomeUnusable(f"Coven home {home} is not a directory")
    if st.st_uid != os.geteuid():
        raise HomeUnusable(
            f"Coven home {home} is owned by uid {st.st_uid}, not by you (uid {os.geteuid()})"
        )
    return st


def _why(path: str | Path, exc: OSError) -> str:
    if exc.errno == errno.ENOTDIR:
        parent = os.path.dirname(os.fspath(path))
        while parent != os.path.dirname(parent):
            if os.path.lexists(parent) and not os.path.isdir(parent):
                return f"{parent} is not a directory"
            parent = os.path.dirname(parent)
    return exc.strerror or str(exc)


def _open_lock(path: str | Path) -> int:
    """Open (creating 0600) a lock file: never through a symlink, never someone else's."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise HomeUnusable(f"cannot open lock file {path}: {exc.strerror or exc}") from exc
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_nlink != 1:
        os.close(fd)
        raise HomeUnusable(f"lock file {path} is not a private regular file; refusing to use it")
    return fd


def try_lifecycle_lock(home: str | Path) -> int | None:
    """Take ``daemon.lock`` of a verified ``home`` if it is free now: the open fd that
    holds it (closing it releases the lock), else ``None``."""
    fd = _open_lock(os.path.join(home, LIFECYCLE_LOCK))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def lifecycle_lock(home: Path, wait: float = LOCK_WAIT) -> Iterator[None]:
    """Hold ``daemon.lock`` of a verified ``home``; ``LifecycleBusy`` after ``wait`` seconds."""
    path = home / LIFECYCLE_LOCK
    fd = _open_lock(path)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LifecycleBusy(
                        f"timed out after {wait:g} s waiting for the Coven daemon lifecycle "
                        f"lock {path}: another command is starting or stopping the daemon"
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def no_daemon_serving(home: Path) -> Iterator[bool]:
    """Yield whether no daemon serves ``home`` (its serve lock was free and is now ours).

    While the block runs with ``True``, no daemon can start serving the home.
    """
    fd = _open_lock(home / SERVE_LOCK)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def remove_if_ours(path: Path, kind: int) -> bool:
    """Unlink ``path`` if it is a ``kind`` (``stat.S_IFSOCK``/``S_IFREG``) file of ours."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if stat.S_IFMT(st.st_mode) != kind or st.st_uid != os.geteuid():
        return False
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return True
