"""Reaching another machine's daemon with the user's own OpenSSH: no listener, no protocol.

``SshLink`` keeps one OpenSSH *control master* per target (``ControlPath`` in a
private 0700 directory) and, through it,

* runs ``coven …`` on the remote machine (ssh exec), to ask its daemon's socket
  path (``coven daemon status --json``), to start it, or to run commands that
  are about that machine (``doctor``);
* forwards a local Unix socket to the remote daemon's ``coven.sock``
  (``ssh -O forward -L local.sock:remote.sock``), so every client — the sync
  client, the attach WebSocket — talks to it exactly as to a local daemon, with
  the same trust checks (the local socket is 0600 in a 0700 directory and its
  peer is our own ssh process).

Authentication, encryption, host keys and the user's ssh_config are OpenSSH's.
The master stays up ``PERSIST_SECONDS`` after the last forwarded connection
closes (``ControlPersist``), so a run of commands pays for one login; ``close()``
(``coven hosts disconnect``) ends it at once. Each forwarded connection is its
own SSH channel, so an attach keeps the master alive for as long as it lasts.

Directory layout (one per target and ssh command)::

    $XDG_RUNTIME_DIR/coven/ssh-<hash>/    (else $TMPDIR/coven-<uid>/ssh-<hash>/)
        ctl         the control master's socket
        coven.sock  the forwarded daemon socket (what clients connect to)
        forward     the remote socket path the current forward points at
        lock        serialises setting up among concurrent coven commands
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shlex
import stat
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from coven.client.errors import (
    ApiVersionMismatch,
    CovenClientError,
    DaemonUnsafe,
    ProtocolError,
    RemoteCovenMissing,
    RemoteDaemonNotRunning,
    RemoteHostError,
    SshFailed,
    SshUnavailable,
    TransportError,
)
from coven.client.hosts import DEFAULT_REMOTE_COMMAND, SshTarget
from coven.client.sync import CovenClient
from coven.client.transport import UnixTransport
from coven.schema.home import SOCKET_NAME

SSH_COMMAND_ENV = "COVEN_SSH_COMMAND"
PERSIST_SECONDS = 600
CONNECT_TIMEOUT = 15
_EXEC_BUDGET = 60.0
_PROBE_TIMEOUT = 5.0
# sun_path holds 108 bytes; OpenSSH appends ".XXXXXXXXXXXXXXXX" while it binds ControlPath.
_MAX_SOCKET_PATH = 107 - 17
_COMMAND_NOT_FOUND = 127
_SSH_ERROR = 255


def ssh_command_from(environ: Mapping[str, str]) -> list[str]:
    """``$COVEN_SSH_COMMAND`` split like a shell would (e.g. ``ssh -F ~/.ssh/work``), else ``ssh``."""
    raw = environ.get(SSH_COMMAND_ENV, "").strip()
    if not raw:
        return ["ssh"]
    try:
        words = shlex.split(raw)
    except ValueError as exc:
        raise SshUnavailable(f"${SSH_COMMAND_ENV} cannot be split into words: {exc}") from exc
    return [os.path.expanduser(w) for w in words] or ["ssh"]


def runtime_root(environ: Mapping[str, str]) -> Path:
    """Where links keep their sockets: ``$XDG_RUNTIME_DIR/coven``, else ``$TMPDIR/coven-<uid>``."""
    xdg = environ.get("XDG_RUNTIME_DIR", "")
    if xdg and os.path.isabs(xdg) and os.path.isdir(xdg):
        return Path(xdg) / "coven"
    return Path(tempfile.gettempdir()) / f"coven-{os.geteuid()}"


def private_dir(path: Path) -> Path:
    """Make ``path`` (0700) if missing; refuse one that is not a private directory of ours."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    st = os.lstat(path)
    euid = os.geteuid()
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise DaemonUnsafe(f"{path} is not a directory; refusing to keep ssh sockets there")
    if st.st_uid != euid or st.st_mode & 0o077:
        raise DaemonUnsafe(
            f"{path} is not private to uid {euid} ({stat.filemode(st.st_mode)}, "
            f"owner {st.st_uid}); refusing to keep ssh sockets there"
        )
    return path


def _classify(stderr: str) -> tuple[str, str]:
    """(kind, the line that says why) from what ssh printed on failing."""
    lines = [
        line.strip()
        for line in stderr.splitlines()
        if line.strip() and not line.startswith(("Warning: Permanently added", "debug"))
    ]
    said = lines[-1] if lines else "ssh exited without saying why"
    text = stderr.lower()
    if "permission denied" in text or "too many authentication failures" in text:
        return "auth", said
    if "host key verification failed" in text or "host identification has changed" in text:
        return "host_key", said
    unreachable = (
        "could not resolve hostname",
        "connection refused",
        "timed out",
        "no route to host",
        "network is unreachable",
        "connection closed by",
        "connection reset",
    )
    if any(word in text for word in unreachable):
        return "unreachable", said
    return "other", said


class SshLink:
    """One machine, reached through one OpenSSH control master.

    ``label`` is how the user named the machine (``--host`` as typed), used in
    every message. ``remote_command`` is how to run coven there. With
    ``batch=True`` ssh never prompts (``BatchMode``): right when no terminal is
    there to answer; with a terminal, passwords and host-key questions go to it.
    Every failure is a ``RemoteHostError`` (or a ``CovenClientError`` from the
    health handshake) whose message is a sentence.
    """

    def __init__(
        self,
        target: SshTarget,
        *,
        label: str,
        remote_command: str = DEFAULT_REMOTE_COMMAND,
        ssh_command: Sequence[str] = ("ssh",),
        runtime: Path,
        batch: bool = True,
    ) -> None:
        self.target = target
        self.label = label
        self.remote_command = remote_command
        self.ssh_command = list(ssh_command)
        self.batch = batch
        key = json.dumps([self.ssh_command, target.user, target.host, target.port])
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        self._runtime = runtime
        self.state_dir = runtime / f"ssh-{digest}"
        self.control_path = self.state_dir / "ctl"
        # Named like a home's socket, so the directory can stand in for a home.
        self.socket_path = self.state_dir / SOCKET_NAME
        if len(os.fsencode(self.control_path)) > _MAX_SOCKET_PATH:
            raise RemoteHostError(
                f"{runtime} is too deep for Unix socket paths; point XDG_RUNTIME_DIR or "
                "TMPDIR at a shorter directory"
            )
        # ssh reads "-o ControlPath=…" like a config line (whitespace splits it, % expands)
        # and "-L a:b" splits at colons: such a directory cannot be named to it safely.
        if any(c in str(self.state_dir) for c in " \t\n\"'%:"):
            raise RemoteHostError(
                f"{runtime} has a space, quote, % or : in its path, which ssh cannot take in "
                "ControlPath or -L; point XDG_RUNTIME_DIR or TMPDIR at a plainer directory"
            )

    # ------------------------------------------------------------------ ssh

    def _argv(self, *options: str, master: bool = False) -> list[str]:
        argv = [
            *self.ssh_command,
            "-o",
            f"ControlPath={self.control_path}",
            "-o",
            f"ConnectTimeout={CONNECT_TIMEOUT}",
        ]
        if not master:
            # Never become a master by accident; fall back to a plain connection if the
            # master went away between our check and this command.
            argv += ["-o", "ControlMaster=no"]
        if self.batch:
            argv += ["-o", "BatchMode=yes"]
        return [*argv, *options]

    def _run(
        self, argv: list[str], *, timeout: float | None, capture: bool = True
    ) -> subprocess.CompletedProcess[bytes]:
        try:
            return subprocess.run(
                argv,
                stdin=subprocess.DEVNULL if capture else None,
                stdout=subprocess.PIPE if capture else None,
                stderr=subprocess.PIPE if capture else None,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            shown = " ".join(self.ssh_command)
            raise SshUnavailable(
                f"cannot run `{shown}`: OpenSSH's ssh client is not installed or not on PATH; "
                "`coven --host` uses it to reach other machines "
                "(Debian/Ubuntu: apt-get install openssh-client)"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise SshFailed(
                f"ssh to {self.label} did not finish within {timeout:g} s", "unreachable"
            ) from exc

    def _failed(self, what: str, stderr: bytes) -> SshFailed:
        kind, said = _classify(stderr.decode("utf-8", "replace"))
        lead = {
            "auth": f"ssh could not log in to {self.label}",
            "host_key": f"ssh refused the host key of {self.label}",
            "unreachable": f"cannot reach {self.label} over ssh",
        }.get(kind, f"ssh to {self.label} failed while {what}")
        hint = " (check that plain `ssh` to it works)" if kind in ("auth", "host_key") else ""
        return SshFailed(f"{lead}: {said}{hint}", kind)

    def master_running(self) -> bool:
        """Does a control master answer on our ``ControlPath``?"""
        if not self.control_path.exists():
            return False
        done = self._run(self._argv("-O", "check", *self.target.ssh_args()), timeout=_EXEC_BUDGET)
        return done.returncode == 0

    def connect(self) -> None:
        """Make sure the control master is up (logging in if needed)."""
        private_dir(private_dir(self._runtime) / self.state_dir.name)
        with self._locked():
            self._connect_locked()

    def _connect_locked(self) -> None:
        if self.master_running():
            return
        self.control_path.unlink(missing_ok=True)
        self.socket_path.unlink(missing_ok=True)
        (self.state_dir / "forward").unlink(missing_ok=True)
        argv = self._argv(
            "-M",
            "-N",
            "-f",
            "-o",
            f"ControlPersist={PERSIST_SECONDS}",
            "-o",
            "ExitOnForwardFailure=yes",
            "-o",
            "StreamLocalBindUnlink=yes",
            "-o",
            "StreamLocalBindMask=0177",
            "-o",
            "ServerAliveInterval=15",
            "-o",
            "ServerAliveCountMax=4",
            *self.target.ssh_args(),
            master=True,
        )
        # -f: ssh returns once logged in, leaving the master in the background with its
        # stdio on /dev/null, so capturing stderr here cannot hang on the master.
        done = self._run(argv, timeout=_EXEC_BUDGET if self.batch else None)
        if done.returncode != 0:
            raise self._failed("connecting", done.stderr)

    def close(self) -> bool:
        """End the control master and its forwards; answer whether one was running."""
        if not self.state_dir.is_dir():
            return False
        with self._locked():
            was = self.master_running()
            if was:
                self._run(self._argv("-O", "exit", *self.target.ssh_args()), timeout=_EXEC_BUDGET)
            for name in ("ctl", SOCKET_NAME, "forward"):
                (self.state_dir / name).unlink(missing_ok=True)
        return was

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.state_dir / "lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ exec

    def remote_argv(self, args: Sequence[str]) -> str:
        """The remote shell command line for ``coven ARGS`` (``remote_command`` stays a shell word)."""
        return " ".join([self.remote_command, *(shlex.quote(a) for a in args)])

    def run(
        self, args: Sequence[str], *, capture: bool = True, tty: bool = False
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``coven ARGS`` on the remote machine through the master; its status is answered.

        ``capture=False`` passes this process's stdio through (``tty`` asks ssh for
        a remote terminal, for commands that may prompt). Exit status 127 (the
        remote shell found no coven) raises ``RemoteCovenMissing``; 255 (ssh's own
        failure) raises ``SshFailed``.
        """
        argv = self._argv("-t" if tty else "-T", *self.target.ssh_args(), self.remote_argv(args))
        done = self._run(argv, timeout=_EXEC_BUDGET if capture else None, capture=capture)
        if done.returncode == _COMMAND_NOT_FOUND:
            raise RemoteCovenMissing(
                f"`{self.remote_command}` was not found on {self.label}: install coven there, "
                "or, if it is installed where a non-interactive ssh shell does not look "
                f"(e.g. ~/.local/bin), name its path with `coven hosts add NAME {self.target.url} "
                "--command /path/to/coven`"
            )
        if done.returncode == _SSH_ERROR:
            raise self._failed(f"running `coven {' '.join(args)}`", done.stderr or b"")
        return done

    def remote_status(self) -> dict[str, Any]:
        """The remote ``coven daemon status --json`` document (``status``, ``socket``, ``pid``)."""
        done = self.run(["daemon", "status", "--json"])
        said = done.stderr.decode("utf-8", "replace").strip()
        if done.returncode != 0:
            raise RemoteHostError(
                f"`coven daemon status` on {self.label} failed (status {done.returncode}): "
                f"{said or 'no message'}"
            )
        try:
            doc = json.loads(done.stdout)
        except ValueError:
            doc = None
        if not isinstance(doc, dict) or doc.get("status") not in ("running", "stale", "stopped"):
            raise RemoteHostError(
                f"coven on {self.label} answered `daemon status --json` with something this "
                f"coven does not understand: {done.stdout[:200]!r}"
            )
        return doc

    # ------------------------------------------------------------------ forward

    def open(self) -> Path:
        """The local socket of a working forward to the remote daemon, set up if needed.

        A forward already in place whose daemon answers the health handshake is
        used as is (no ssh process runs). Otherwise: log in if needed, ask the
        remote coven where its daemon's socket is, forward to it, and check health.
        """
        if self._answers():
            return self.socket_path
        private_dir(private_dir(self._runtime) / self.state_dir.name)
        with self._locked():
            if self._answers():  # another coven command set it up while we waited
                return self.socket_path
            self._connect_locked()
            remote = self._remote_socket()
            self._forward(remote)
        client = CovenClient(UnixTransport(self.socket_path, timeout=_PROBE_TIMEOUT))
        try:
            client.handshake()
        except (TransportError, ProtocolError) as exc:
            raise TransportError(
                f"the Coven daemon on {self.label} ({remote}) does not answer through ssh: {exc}"
            ) from exc
        return self.socket_path

    def _answers(self) -> bool:
        if not self.socket_path.exists():
            return False
        client = CovenClient(UnixTransport(self.socket_path, timeout=_PROBE_TIMEOUT))
        try:
            client.handshake()
        except (DaemonUnsafe, ApiVersionMismatch):
            raise
        except CovenClientError:
            return False
        return True

    def _remote_socket(self) -> str:
        status = self.remote_status()
        state = status["status"]
        if state == "stopped":
            raise RemoteDaemonNotRunning(
                f"the Coven daemon on {self.label} is not running; start it with "
                f"`coven --host {self.label} daemon start`",
                state,
            )
        if state == "stale":
            raise RemoteDaemonNotRunning(
                f"the Coven daemon on {self.label} does not answer (its recorded process is "
                f"alive); restart it with `coven --host {self.label} daemon restart`",
                state,
            )
        remote = status.get("socket")
        if (
            not isinstance(remote, str)
            or not remote.startswith("/")
            or any(c in remote for c in ":\n\r\0")
        ):
            raise RemoteHostError(
                f"coven on {self.label} reported a daemon socket this coven cannot forward: "
                f"{remote!r}"
            )
        return remote

    def _forward(self, remote: str) -> None:
        record = self.state_dir / "forward"
        with contextlib.suppress(OSError):
            previous = record.read_text(encoding="utf-8")
            # The daemon there moved (or restarted elsewhere): drop the old forward first.
            self._run(
                self._argv(
                    "-O", "cancel", "-L", f"{self.socket_path}:{previous}", *self.target.ssh_args()
                ),
                timeout=_EXEC_BUDGET,
            )
        record.unlink(missing_ok=True)
        self.socket_path.unlink(missing_ok=True)
        done = self._run(
            self._argv(
                "-O", "forward", "-L", f"{self.socket_path}:{remote}", *self.target.ssh_args()
            ),
            timeout=_EXEC_BUDGET,
        )
        if done.returncode != 0:
            _kind, said = _classify(done.stderr.decode("utf-8", "replace"))
            raise SshFailed(
                f"ssh could not forward a local socket to {remote} on {self.label}: {said}",
                "forward",
            )
        record.write_text(remote, encoding="utf-8")
