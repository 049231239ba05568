"""A harness's standard input served from a private, already-deleted file.

A prompt too long for the command line reaches the harness on stdin. It is
written to a file that only the daemon's user can read (0600, in a 0700
directory inside ``COVEN_HOME``), opened for reading, and unlinked before the
harness even starts: the open descriptor is the only way to the text, so
nothing is left behind once the harness closes its stdin or exits, whatever
happens to the daemon. A file (not a pipe) means the daemon never has to feed
a harness that reads slowly or not at all.

Names are random, opened with ``O_EXCL | O_NOFOLLOW`` relative to the
directory's own descriptor (opened with ``O_NOFOLLOW``), so a planted file or
symlink cannot redirect the write.
"""

from __future__ import annotations

import contextlib
import os
import stat

from coven.pty.pipes import write_all

_PREFIX = "prompt-"


def _open_private_dir(directory: str) -> int:
    """The directory's fd, creating it 0700; refuse a symlink, a foreign owner or loose mode."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(directory, 0o700)
    # O_NOFOLLOW: a symlink in the directory's place fails here (ELOOP/ENOTDIR).
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    info = os.fstat(fd)
    if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
        os.close(fd)
        raise PermissionError(f"{directory} must be a directory owned by this user with mode 0700")
    return fd


def stdin_file(data: bytes, directory: str) -> int:
    """A read-only descriptor of an unlinked 0600 file in ``directory`` holding ``data``.

    ``directory`` is created (0700) when missing. The caller owns the returned
    descriptor (close-on-exec; pass it as a child's stdin, then close it).
    Raises ``OSError`` when the directory is unsafe (``PermissionError``, or
    ``ELOOP``/``ENOTDIR`` for a symlink) or the file cannot be written (e.g. the
    disk is full); nothing is left behind then.
    """
    dir_fd = _open_private_dir(directory)
    # os.urandom is what secrets.token_hex reads; importing secrets (hashlib, hmac,
    # random) would cost the holders' fork server ~5 ms of every cold start.
    name = _PREFIX + os.urandom(16).hex()
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        write_fd = os.open(name, flags, 0o600, dir_fd=dir_fd)
        try:
            try:
                read_fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
            finally:
                os.unlink(name, dir_fd=dir_fd)
            try:
                write_all(write_fd, data)
            except BaseException:
                os.close(read_fd)
                raise
        finally:
            os.close(write_fd)
    finally:
        os.close(dir_fd)
    return read_fd


def discard_leftovers(directory: str) -> int:
    """Remove prompt files a crashed daemon may have left (it died between create and unlink).

    Returns how many were removed. Only regular files named like ours are
    touched; a missing directory is not an error.
    """
    removed = 0
    try:
        entries = os.scandir(directory)
    except OSError:
        return 0
    with entries:
        for entry in entries:
            if entry.name.startswith(_PREFIX) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed += 1
    return removed
