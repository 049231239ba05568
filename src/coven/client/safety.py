"""Same-user trust checks run before and after connecting to the daemon.

These mirror what the reference clients do: the home directory and the socket
must be ours and private, and the process that accepted the connection must run
as our user. A failure raises ``DaemonUnsafe`` and no request byte is sent.
"""

from __future__ import annotations

import os
import socket
import stat
import struct
from pathlib import Path
from typing import Protocol

from coven.client.errors import DaemonNotRunning, DaemonUnsafe

_PEERCRED = struct.Struct("3i")  # struct ucred {pid_t pid; uid_t uid; gid_t gid;}


class _SockOptSource(Protocol):
    def getsockopt(self, level: int, optname: int, buflen: int) -> bytes: ...


def _check_private(path: Path, st: os.stat_result, what: str) -> None:
    euid = os.geteuid()
    if st.st_uid != euid:
        raise DaemonUnsafe(f"{what} {path} is owned by uid {st.st_uid}, not by us (uid {euid})")
    if st.st_mode & 0o077:
        raise DaemonUnsafe(
            f"{what} {path} has group/other permission bits "
            f"({stat.filemode(st.st_mode)}); refusing to connect"
        )


def check_home(home: Path, socket_path: Path) -> None:
    """Refuse a home that is a symlink, not a directory, foreign-owned or not 0700-private.

    A missing home means no daemon ever ran there: ``DaemonNotRunning``.
    """
    try:
        st = os.lstat(home)
    except FileNotFoundError as exc:
        raise DaemonNotRunning(str(socket_path), "no Coven home directory") from exc
    except OSError as exc:  # e.g. a path component is a file: there is no home to trust
        raise DaemonUnsafe(
            f"Coven home {home} cannot be used: {exc.strerror or exc}; refusing to connect"
        ) from exc
    if stat.S_ISLNK(st.st_mode):
        raise DaemonUnsafe(f"Coven home {home} is a symlink; refusing to connect")
    if not stat.S_ISDIR(st.st_mode):
        raise DaemonUnsafe(f"Coven home {home} is not a directory; refusing to connect")
    _check_private(home, st, "Coven home")


def check_socket(socket_path: Path) -> None:
    """Refuse a socket path that is a symlink, not a socket, foreign-owned or not 0600-private."""
    try:
        st = os.lstat(socket_path)
    except FileNotFoundError as exc:
        raise DaemonNotRunning(str(socket_path), "no socket") from exc
    except OSError as exc:
        raise DaemonUnsafe(
            f"daemon socket {socket_path} cannot be used: {exc.strerror or exc}"
        ) from exc
    if stat.S_ISLNK(st.st_mode):
        raise DaemonUnsafe(f"daemon socket {socket_path} is a symlink; refusing to connect")
    if not stat.S_ISSOCK(st.st_mode):
        raise DaemonUnsafe(f"daemon socket {socket_path} is not a socket; refusing to connect")
    _check_private(socket_path, st, "daemon socket")


def check_peer(sock: _SockOptSource) -> int:
    """Require the connected peer (``SO_PEERCRED``) to run as our euid; return its pid."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    pid, uid, _gid = _PEERCRED.unpack(raw)
    euid = os.geteuid()
    if uid != euid:
        raise DaemonUnsafe(f"daemon peer (pid {pid}) runs as uid {uid}, not as us (uid {euid})")
    return int(pid)


def check_endpoint(socket_path: Path) -> None:
    """Both pre-connect checks: the socket's parent directory (the home) and the socket."""
    check_home(socket_path.parent, socket_path)
    check_socket(socket_path)
