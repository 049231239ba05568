"""Writing to pipes: every byte of it, and how much a pipe takes without waiting."""

from __future__ import annotations

import fcntl
import os
import struct
import termios


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to the blocking ``fd`` (a write may take less)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def free_space(fd: int) -> int | None:
    """Bytes the pipe ``fd`` can take now without a writer waiting; ``None`` when ``fd`` is
    not a pipe."""
    try:
        capacity: int = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
        unread: int = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]
    except OSError:
        return None
    return capacity - unread
