"""Peer credentials of a connected Unix socket (Linux ``SO_PEERCRED``)."""

from __future__ import annotations

import os
import socket
import struct

_UCRED = struct.Struct("3i")


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """``(pid, uid, gid)`` of the process that connected ``sock`` (as of ``connect``).

    ``sock`` must be a connected ``AF_UNIX`` socket; raises ``OSError`` otherwise.
    """
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return pid, uid, gid


def is_same_user(sock: socket.socket) -> bool:
    """True when the peer's uid equals this process's effective uid.

    Any failure to read the credentials counts as a different user (fail closed).
    """
    try:
        _, uid, _ = peer_credentials(sock)
    except OSError:
        return False
    return uid == os.geteuid()
