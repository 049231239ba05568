"""A throwaway SSH world for the ``coven --host`` tests (no tests here).

``SshWorld`` generates a host key and a client key in the test's own
directory, starts ``tests.support.sshd`` (a real SSH server on 127.0.0.1) whose
exec environment is a "remote" machine with its own ``COVEN_HOME``, and writes
a private ``ssh_config`` (``-F``) with its own known-hosts file and identity,
so the real OpenSSH client never reads or writes ``~/.ssh``.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import asyncssh
import pytest

from tests.support.daemon import FAKE_BIN, REPO
from tests.support.hermetic import controlled_env

VENV_BIN = Path(sys.executable).parent  # where `coven` is installed as a console script
HOST_ALIAS = "coven-test-box"


def require_ssh() -> str:
    """The OpenSSH client; its absence fails the test loudly (the install guarantees it)."""
    path = shutil.which("ssh")
    if path is None:
        pytest.fail(
            "OpenSSH's `ssh` client is not installed; the remote-host tests need it "
            "(Debian/Ubuntu: apt-get install openssh-client)"
        )
    return path


class SshWorld:
    """A real SSH server whose exec requests run as a "remote" machine.

    ``remote_env`` is the environment of every command the server runs (PATH with
    the fake harnesses and ``coven``, ``COVEN_HOME`` = ``remote_home``).
    ``local_env(...)`` is what the local ``coven`` needs to reach it: the ssh
    command with ``-F``, and a short private runtime directory for its sockets.
    """

    def __init__(self, root: Path, *, with_coven: bool = True) -> None:
        self.ssh = require_ssh()
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.remote_home = root / "remote-home"
        self.remote_project = root / "remote-project"
        self.remote_project.mkdir(exist_ok=True)
        self.log = root / "sshd.log"
        self.log.touch()
        # Unix socket paths are short (108 bytes): the runtime dir lives directly in /tmp.
        self.runtime = Path(tempfile.mkdtemp(prefix="coven-ssh-"))
        os.chmod(self.runtime, 0o700)
        # The other machine's PATH: the fake agents, the test tools and (unless the test
        # wants a machine without it) `coven` alone, never a whole system directory.
        remote_bin = root / "remote-bin"
        remote_bin.mkdir(exist_ok=True)
        if with_coven:
            (remote_bin / "coven").symlink_to(VENV_BIN / "coven")
        self.remote_env = controlled_env(
            root / "remote-user-home",
            FAKE_BIN,
            remote_bin,
            extra={
                "COVEN_HOME": str(self.remote_home),
                "COVEN_TEST_PROJECT": str(self.remote_project),
                "FAKE_MODE": "echo",
            },
        )
        self._write_keys()
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def _write_keys(self) -> None:
        keys = self.root / "keys"
        keys.mkdir(mode=0o700, exist_ok=True)
        self.host_key = keys / "host_key"
        self.client_key = keys / "client_key"
        self.stranger_key = keys / "stranger_key"  # never authorized
        for path in (self.host_key, self.client_key, self.stranger_key):
            key = asyncssh.generate_private_key("ssh-ed25519")
            key.write_private_key(str(path))
            os.chmod(path, 0o600)
            key.write_public_key(str(path) + ".pub")
        self.authorized = keys / "authorized_keys"
        self.authorized.write_bytes(Path(str(self.client_key) + ".pub").read_bytes())
        host_pub = Path(str(self.host_key) + ".pub").read_text().split()
        self.known_hosts = keys / "known_hosts"
        self.known_hosts.write_text(f"{HOST_ALIAS} {host_pub[0]} {host_pub[1]}\n")

    def start(self) -> None:
        env_file = self.root / "remote-env.json"
        env_file.write_text(json.dumps(self.remote_env))
        self._stderr = (self.root / "sshd.stderr").open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.sshd",
                "--host-key",
                str(self.host_key),
                "--authorized-keys",
                str(self.authorized),
                "--env-file",
                str(env_file),
                "--cwd",
                str(self.root),
                "--log",
                str(self.log),
            ],
            cwd=REPO,
            env=controlled_env(self.root / "sshd-home", extra={"PYTHONPATH": str(REPO)}),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 20)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("listening "):
            self._end_server()
            err = (self.root / "sshd.stderr").read_text(errors="replace")
            raise RuntimeError(f"test sshd did not start: {line!r} {err}")
        self.port = int(line.split()[1])
        self.config = self.write_config("ssh_config", self.client_key)

    def write_config(self, name: str, identity: Path, port: int | None = None) -> Path:
        """An ssh_config that reaches this server as ``HOST_ALIAS`` or 127.0.0.1."""
        path = self.root / name
        body = (
            f"Host {HOST_ALIAS} 127.0.0.1\n"
            "  HostName 127.0.0.1\n"
            f"  Port {port if port is not None else self.port}\n"
            f"  HostKeyAlias {HOST_ALIAS}\n"
            f"  IdentityFile {identity}\n"
            "  IdentitiesOnly yes\n"
            "  IdentityAgent none\n"
            f"  UserKnownHostsFile {self.known_hosts}\n"
            "  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n"
            "  PasswordAuthentication no\n"
            "  KbdInteractiveAuthentication no\n"
            "  LogLevel ERROR\n"
        )
        path.write_text(body)
        os.chmod(path, 0o600)
        return path

    @property
    def url(self) -> str:
        return f"ssh://tester@{HOST_ALIAS}"

    def local_env(self, base: Mapping[str, str], config: Path | None = None) -> dict[str, str]:
        env = dict(base)
        # The real client by its absolute path: the tests' PATH holds no system directory.
        env["COVEN_SSH_COMMAND"] = f"{self.ssh} -F {config or self.config}"
        env["XDG_RUNTIME_DIR"] = str(self.runtime)
        env.pop("COVEN_HOST", None)
        return env

    def log_lines(self, prefix: str) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if line.startswith(prefix)]

    def stop_remote_daemon(self) -> None:
        """Stop whatever daemon the remote home has, killing it if it will not go."""
        status = self.remote_home / "daemon.json"
        pid = None
        with contextlib.suppress(OSError, ValueError, KeyError):
            pid = int(json.loads(status.read_text())["pid"])
        env = self.remote_env
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                [sys.executable, "-m", "coven.cli.main", "daemon", "stop"],
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=30,
            )
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)

    def close_masters(self) -> None:
        """End every ssh control master the tests' coven left in the runtime dir."""
        for ctl in self.runtime.rglob("ctl"):
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(
                    [
                        self.ssh,
                        "-F",
                        str(self.config),
                        "-o",
                        f"ControlPath={ctl}",
                        "-O",
                        "exit",
                        "x",
                    ],
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=10,
                )

    def _end_server(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self._stderr):
            if stream is not None:
                stream.close()

    def stop(self) -> None:
        self.stop_remote_daemon()
        self.close_masters()
        self._end_server()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(self.runtime.rglob("ctl")):
            time.sleep(0.05)
        shutil.rmtree(self.runtime, ignore_errors=True)
