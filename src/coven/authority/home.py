"""COVEN_HOME preparation and planted-file checks.

Same-user trust rests on file modes, so the home must be a real directory owned
by us with no group/other bits, and the files the daemon binds or opens in it
must not be symlinks, hard links or someone else's files.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Literal

from coven.errors import HomeRefused
from coven.schema.home import default_home

__all__ = [
    "check_safe_file",
    "default_home",
    "open_lock_file",
    "open_log_file",
    "prepare_home",
    "why_uncreatable",
]


def _refuse_foreign(path: Path, st: os.stat_result) -> None:
    if st.st_uid != os.geteuid():
        raise HomeRefused(
            f"`{path}` is owned by uid {st.st_uid}, not the current user (uid {os.geteuid()})",
            {"path": str(path)},
        )


def prepare_home(path: Path) -> Path:
    """Create or verify the Coven home; return its absolute path.

    Creates it (and missing parents) with mode 0700 if absent. Raises
    ``HomeRefused`` if it is a symlink, not a directory, or owned by another
    uid. Group/other permission bits on an existing home are removed.
    """
    home = Path(os.path.abspath(path))
    try:
        os.makedirs(home, mode=0o700, exist_ok=False)
    except FileExistsError:
        pass
    except OSError as exc:
        raise HomeRefused(
            f"failed to create Coven home `{home}`: {why_uncreatable(home, exc)}",
            {"path": str(home)},
        ) from exc
    st = os.lstat(home)
    if stat.S_ISLNK(st.st_mode):
        raise HomeRefused(
            f"Coven home `{home}` is a symlink; refusing to use it", {"path": str(home)}
        )
    if not stat.S_ISDIR(st.st_mode):
        raise HomeRefused(f"Coven home `{home}` is not a directory", {"path": str(home)})
    _refuse_foreign(home, st)
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(home, 0o700)
    return home


def why_uncreatable(path: Path, exc: OSError) -> str:
    """A sentence for a failed ``makedirs(path)``, naming the ancestor in the way if any."""
    if exc.errno == errno.ENOTDIR:
        for parent in path.parents:
            if os.path.lexists(parent) and not os.path.isdir(parent):
                return f"`{parent}` is not a directory"
    return exc.strerror or str(exc)


def check_safe_file(path: Path, expect: Literal["socket", "file"]) -> None:
    """Refuse a planted file at ``path``; a missing path is fine.

    An existing path must not be a symlink, must be a socket (``expect="socket"``)
    or a regular file (``"file"``), be owned by the current user and have
    exactly one link. Raises ``HomeRefused`` naming the path.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    details = {"path": str(path)}
    if stat.S_ISLNK(st.st_mode):
        raise HomeRefused(f"`{path}` is a symlink; refusing to use it", details)
    wanted = stat.S_ISSOCK if expect == "socket" else stat.S_ISREG
    if not wanted(st.st_mode):
        raise HomeRefused(f"`{path}` exists and is not a {expect}; refusing to use it", details)
    _refuse_foreign(path, st)
    if st.st_nlink != 1:
        raise HomeRefused(f"`{path}` has {st.st_nlink} hard links; refusing to use it", details)


def open_lock_file(path: Path) -> int:
    """Open (creating 0600) a lock file without following symlinks; return the fd.

    Raises ``HomeRefused`` if the path is a symlink, not a regular file, owned
    by someone else or hard-linked. The caller owns (and must close) the fd.
    """
    return _open_private(path, os.O_RDWR, "lock file")


def open_log_file(path: Path) -> int:
    """Open (creating 0600) a log file for appending, with the checks of ``open_lock_file``."""
    return _open_private(path, os.O_WRONLY | os.O_APPEND, "log file")


def _open_private(path: Path, access: int, what: str) -> int:
    flags = access | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        raise HomeRefused(
            f"cannot open {what} `{path}`: {exc.strerror}", {"path": str(path)}
        ) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise HomeRefused(f"{what} `{path}` is not a regular file", {"path": str(path)})
        _refuse_foreign(path, st)
        if st.st_nlink != 1:
            raise HomeRefused(
                f"{what} `{path}` has {st.st_nlink} hard links; refusing to use it",
                {"path": str(path)},
            )
    except BaseException:
        os.close(fd)
        raise
    return fd
