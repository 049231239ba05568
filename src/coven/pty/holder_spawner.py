"""``HolderSpawner``: the runtime's spawner when every session has a holder (the default).

Each harness is started under its own holder process (``coven.pty.holder``), so the
session outlives the daemon. What the daemon needs to find a holder again lives in
``COVEN_HOME/h/`` (0700), one *key* per session (a hash of its id, kept short because
a Unix socket path has at most 107 bytes):

* ``<key>.sock`` — the holder's socket (made by the holder, 0600);
* ``<key>.json`` — the holder's identity: session id, holder pid and start time,
  socket path, and the terminal's size (written at spawn, rewritten on resize);
* ``<key>.off`` — the output committed so far: ``seq u64 | offset u64`` (little
  endian), overwritten in place each time output commits, *before* the holder is
  told it may forget that output. ``offset`` is the byte offset in the harness's
  output stream just after the output event ``seq``.

Nothing of a session's environment or argv is written there.

A launch that cannot have a holder (its socket path would be too long, or its
prompt for stdin is over 2 MiB or holds a NUL byte) runs as a child of the daemon
instead (``PtySpawner``): it works as before, but ends with the daemon.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path

import msgspec

from coven.errors import HolderUnavailable
from coven.pty import holder_protocol as wire
from coven.pty.child import ExitStatus, PtyChild
from coven.pty.holder_client import HolderForkServer, adopt_holder, spawn_holder
from coven.pty.holder_handle import HolderHandle, HolderIdentity
from coven.pty.process_group import reap_orphan
from coven.pty.spawner import PtySpawner

_SOCKET_PATH_MAX = 107
# A prompt for stdin travels in the launch spec (one frame of at most 4 MiB).
_STDIN_MAX = 2 * 1024 * 1024
_OFFSET_RECORD = struct.Struct("<QQ")
HOLDERS_DIR = "h"


def session_key(session_id: str) -> str:
    """The short file name stem of a session's holder files."""
    return hashlib.sha256(session_id.encode()).hexdigest()[:16]


class HolderRecord(msgspec.Struct, frozen=True):
    """What the daemon recorded to find a session's holder again."""

    identity: HolderIdentity
    socket_path: str
    committed_seq: int
    """The last output event whose end offset was recorded (0: none yet)."""
    committed_offset: int
    """The byte offset just after that event's output."""
    rows: int = 24
    cols: int = 80


class HolderProcess:
    """A session's harness as served by its holder: a ``SessionProcess`` over a ``HolderHandle``.

    Besides what every session process does, it ``acknowledge``s committed output
    (recorded in the session's offset file first, then told to the holder),
    ``release``s the holder once the exit is recorded, and can be ``detach``ed (the
    connection closed, the holder and harness left running for the next daemon).
    """

    def __init__(
        self, handle: HolderHandle, offsets_path: str, record: dict[str, object] | None = None
    ) -> None:
        self.handle = handle
        self._record = record
        self.pid = handle.pid
        self.pgid = handle.pgid
        self.master_fd = handle.master_fd
        self.pidfd = handle.pidfd
        self.start_time = handle.start_time
        self.holder_pid = handle.identity.holder_pid
        self._offsets_path = offsets_path
        self._offsets_fd = os.open(offsets_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._closed = False

    @property
    def offset(self) -> int:
        """Byte offset just after the last output byte ``read`` returned."""
        return self.handle.offset

    def read(self, max_bytes: int = 65536) -> bytes | None:
        return self.handle.read(max_bytes)

    def write(self, data: bytes) -> int:
        return self.handle.write(data)

    def resize(self, rows: int, cols: int) -> None:
        self.handle.resize(rows, cols)
        if self._record is not None and not self._closed:
            # So the next daemon's screen model starts at the terminal's real size.
            self._record.update(rows=rows, cols=cols)
            with contextlib.suppress(OSError):
                _write_record(self._offsets_path[: -len(".off")] + ".json", self._record)

    def poll_exit(self) -> ExitStatus | None:
        """The harness's exit status, or ``None`` (also when the holder is ``lost``)."""
        try:
            return self.handle.poll_exit()
        except HolderUnavailable:
            return None

    @property
    def lost(self) -> str | None:
        """Why the holder went away without an exit status, or ``None``."""
        return None if self.handle.final_offset is not None else self.handle.lost

    def signal_group(self, sig: int) -> None:
        self.handle.signal_group(sig)

    def kill(self, grace: float) -> None:
        """Kill through the holder, which escalates to SIGKILL after ``grace`` by itself."""
        self.handle.kill(grace)

    @property
    def wants_flush(self) -> bool:
        return self.handle.wants_flush

    def flush(self) -> None:
        self.handle.flush()

    def acknowledge(self, seq: int, offset: int) -> None:
        """Output up to byte ``offset`` is committed, its last event being ``seq``.

        Recorded in the offset file before the holder may discard it, so a daemon
        that dies in between resumes from a point the holder still keeps.
        """
        if self._closed:
            return
        with contextlib.suppress(OSError):
            os.pwrite(self._offsets_fd, _OFFSET_RECORD.pack(seq, offset), 0)
        with contextlib.suppress(Exception):
            self.handle.ack(offset)

    def release(self) -> None:
        """The exit is recorded: the holder may exit; its files are removed."""
        with contextlib.suppress(Exception):
            self.handle.release()
            self.handle.flush()
        _remove_files(self._offsets_path)

    def forget(self) -> None:
        """The session ended without a holder to release (it was lost): remove its files."""
        _remove_files(self._offsets_path)

    def detach(self) -> None:
        """Close the connection; the holder keeps the session for the next daemon."""
        self.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self.handle.flush()
        self.handle.close()
        with contextlib.suppress(OSError):
            os.close(self._offsets_fd)

    def __repr__(self) -> str:
        return f"HolderProcess({self.handle!r})"


def _write_record(path: str, record: dict[str, object]) -> None:
    temporary = path + ".new"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(record))
    os.replace(temporary, path)


def _remove_files(offsets_path: str) -> None:
    stem = offsets_path[: -len(".off")]
    for suffix in (".off", ".json", ".sock"):
        with contextlib.suppress(OSError):
            os.unlink(stem + suffix)


class HolderSpawner:
    """Starts each harness under a holder and finds holders an earlier daemon left.

    ``home`` is ``COVEN_HOME``; ``stdin_dir`` as for ``PtySpawner`` (the holder
    writes a prompt for stdin there), ``umask`` the harnesses' (see ``coven.pty.spawn``).
    Holders are forked from one ``HolderForkServer`` (``forkserver``, else one started
    on first use; ``close`` stops it, never the holders).
    """

    def __init__(
        self,
        home: str,
        stdin_dir: str | None = None,
        forkserver: HolderForkServer | None = None,
        umask: int | None = None,
    ) -> None:
        self.dir = os.path.join(home, HOLDERS_DIR)
        self.fallback = PtySpawner(stdin_dir, umask)
        self.forkserver = forkserver if forkserver is not None else HolderForkServer()

    def _paths(self, session_id: str) -> tuple[str, str, str]:
        stem = os.path.join(self.dir, session_key(session_id))
        return stem + ".sock", stem + ".json", stem + ".off"

    def spawn(
        self,
        argv: Sequence[str],
        *,
        cwd: str,
        env: Mapping[str, str],
        rows: int,
        cols: int,
        stdin: bytes | None = None,
    ) -> HolderProcess | PtyChild:
        session_id = env.get("COVEN_SESSION_ID")
        sock, record, offsets = self._paths(session_id or "")
        held_env = dict(env)
        if stdin is not None and self.fallback.stdin_dir is not None:
            held_env[wire.STDIN_VARIABLE] = stdin.decode("utf-8", "surrogateescape")
            held_env[wire.STDIN_DIR_VARIABLE] = self.fallback.stdin_dir
        if self.fallback.umask is not None:
            held_env[wire.UMASK_VARIABLE] = f"{self.fallback.umask:o}"
        if (
            not session_id
            or len(os.fsencode(sock)) > _SOCKET_PATH_MAX
            or (stdin is not None and (b"\0" in stdin or len(stdin) > _STDIN_MAX))
        ):
            return self.fallback.spawn(argv, cwd=cwd, env=env, rows=rows, cols=cols, stdin=stdin)
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        for stale in (sock, record, offsets):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(stale)
        handle = spawn_holder(
            argv,
            held_env,
            cwd,
            rows=rows,
            cols=cols,
            socket_path=sock,
            session_id=session_id,
            forkserver=self.forkserver,
        )
        identity = handle.identity
        body: dict[str, object] = {
            "sessionId": session_id,
            "holderPid": identity.holder_pid,
            "holderStart": identity.holder_start_time,
            "socket": sock,
            "rows": rows,
            "cols": cols,
        }
        _write_record(record, body)
        return HolderProcess(handle, offsets, body)

    def find(self, session_id: str) -> HolderRecord | None:
        """The holder recorded for ``session_id``, or ``None`` when it has none."""
        sock, record, offsets = self._paths(session_id)
        try:
            body = json.loads(Path(record).read_text())
            identity = HolderIdentity(
                str(body["sessionId"]), int(body["holderPid"]), int(body["holderStart"])
            )
            rows, cols = int(body.get("rows", 24)), int(body.get("cols", 80))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
        if identity.session_id != session_id:
            return None
        seq = offset = 0
        with contextlib.suppress(OSError, struct.error):
            seq, offset = _OFFSET_RECORD.unpack(Path(offsets).read_bytes()[: _OFFSET_RECORD.size])
        return HolderRecord(identity, sock, seq, offset, rows, cols)

    def adopt(self, record: HolderRecord, resume_from: int) -> HolderProcess:
        """Reconnect to a recorded holder, streaming from ``resume_from``.

        Raises ``HolderUnavailable`` (gone, or the output is no longer kept) or
        ``HolderRefused`` (something else answers on its socket).
        """
        handle = adopt_holder(record.socket_path, record.identity, resume_from=resume_from)
        _sock, record_path, offsets = self._paths(record.identity.session_id)
        body: dict[str, object] = {}
        with contextlib.suppress(OSError, ValueError):
            body = json.loads(Path(record_path).read_text())
        return HolderProcess(handle, offsets, body or None)

    def recorded(self) -> list[str]:
        """The session ids of every holder recorded in ``COVEN_HOME/h``."""
        ids: list[str] = []
        for path in Path(self.dir).glob("*.json"):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError, AttributeError):
                ids.append(str(json.loads(path.read_text())["sessionId"]))
        return ids

    def forget(self, session_id: str) -> None:
        """Remove a session's holder files (a holder still running sees itself abandoned)."""
        _remove_files(self._paths(session_id)[2])

    def discard_leftovers(self) -> int:
        return self.fallback.discard_leftovers()

    def reap_orphan(self, pid: int, start_time: int | None) -> bool:
        return reap_orphan(pid, start_time)

    def close(self) -> None:
        """Stop the fork server (holders it started keep running)."""
        self.forkserver.close()
