"""A real Coven daemon for tests: its own COVEN_HOME and HOME, the fake harnesses on PATH.

The daemon's environment comes from ``tests.support.hermetic``: it can never
find a real agent installed on the machine.

The HTTP helper here is deliberately stdlib-only (raw HTTP/1.1 over the Unix
socket), so tests exercise the daemon the way third-party clients do.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.hermetic import FAKE_BIN as FAKE_BIN
from tests.support.hermetic import REPO as REPO
from tests.support.hermetic import controlled_env


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def raw_request(sock_path: Path, data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data`` as is, half-close, read to EOF."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(sock_path))
        sock.sendall(data)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def parse_reply(raw: bytes) -> Reply:
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, f"no header terminator in {raw[:200]!r}"
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(status, headers, body)


def request(
    sock_path: Path, method: str, path: str, body: Any = None, timeout: float = 10.0
) -> Reply:
    payload = b""
    if body is not None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: coven\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode()
    return parse_reply(raw_request(sock_path, head + payload, timeout))


def session_output(sock_path: Path, session_id: str) -> str:
    """The session's stored output text (its first page of events)."""
    reply = request(sock_path, "GET", f"/api/v1/events?sessionId={session_id}")
    assert reply.status == 200, reply.body
    return "".join(
        json.loads(e["payload_json"])["data"]
        for e in reply.json()["events"]
        if e["kind"] == "output"
    )


def wait_for_output(sock_path: Path, session_id: str, needle: str, timeout: float = 10.0) -> str:
    """Poll until ``needle`` is in the stored output; return the whole output."""
    deadline = time.monotonic() + timeout
    while True:
        text = session_output(sock_path, session_id)
        if needle in text:
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"{needle!r} not in output: {text[-2000:]!r}")
        time.sleep(0.02)


class Daemon:
    """A daemon process; ``call`` speaks raw HTTP to it."""

    def __init__(self, home: Path, env: Mapping[str, str]) -> None:
        self.home = home
        self.env = dict(env)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.home / "coven.sock"

    def start(self, timeout: float = 15.0, umask: int = -1, args: Sequence[str] = ()) -> None:
        """Start it and wait for ``ready``; ``umask``: the one it starts with (-1: ours);
        ``args``: more of the daemon's options."""
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "coven.daemon",
                "--home",
                str(self.home),
                "--ready-fd",
                str(write_fd),
                *args,
            ],
            env=self.env,
            pass_fds=(write_fd,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
            umask=umask,
        )
        os.close(write_fd)
        deadline = time.monotonic() + timeout
        line = b""
        try:
            while not line.endswith(b"\n") and time.monotonic() < deadline:
                ready, _, _ = select.select([read_fd], [], [], 0.1)
                if ready:
                    chunk = os.read(read_fd, 256)
                    if not chunk:
                        break
                    line += chunk
        finally:
            os.close(read_fd)
        if line != b"ready\n":
            self.proc.kill()
            _out, err = self.proc.communicate(timeout=5)
            raise RuntimeError(f"daemon did not start: {line!r} {err.decode(errors='replace')}")

    def call(self, method: str, path: str, body: Any = None, timeout: float = 10.0) -> Reply:
        return request(self.socket, method, path, body, timeout)

    def launch(
        self, prompt: str = "hello", harness: str = "codex", **fields: Any
    ) -> dict[str, Any]:
        body = {
            "projectRoot": str(self.env["COVEN_TEST_PROJECT"]),
            "harness": harness,
            "prompt": prompt,
            **fields,
        }
        reply = self.call("POST", "/api/v1/sessions", body)
        assert reply.status == 201, reply.body
        record: dict[str, Any] = reply.json()
        return record

    def events(self, session_id: str, after: int = 0) -> list[dict[str, Any]]:
        reply = self.call("GET", f"/api/v1/events?sessionId={session_id}&afterSeq={after}")
        assert reply.status == 200, reply.body
        events: list[dict[str, Any]] = reply.json()["events"]
        return events

    def output(self, session_id: str) -> str:
        return session_output(self.socket, session_id)

    def wait_output(self, session_id: str, needle: str, timeout: float = 10.0) -> str:
        return wait_for_output(self.socket, session_id, needle, timeout)

    def wait_status(
        self, session_id: str, statuses: set[str], timeout: float = 10.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            record: dict[str, Any] = self.call("GET", f"/api/v1/sessions/{session_id}").json()
            if record["status"] in statuses:
                return record
            if time.monotonic() > deadline:
                raise AssertionError(f"status stayed {record['status']!r}")
            time.sleep(0.02)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM (every session ends), then let go of any holder a crash left behind."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        abandon_holders(self.home)
        return self.proc.returncode

    def stop_keeping_sessions(self, timeout: float = 20.0) -> None:
        """Ask for a shutdown that leaves held sessions running (``stop --keep-sessions``)."""
        assert self.proc is not None
        identity = self.call("GET", "/api/v1/health").json()["daemon"]
        body = {"apiVersion": "coven.daemon.v1", "daemon": identity}
        path = "/api/v1/internal/lifecycle/shutdown?keepSessions=true"
        reply = self.call("POST", path, body, timeout=timeout)
        assert reply.status == 202, reply.body
        self.proc.wait(timeout=timeout)
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    def holder_pids(self) -> dict[str, int]:
        """Session id -> holder pid, as recorded in ``COVEN_HOME/h``."""
        found: dict[str, int] = {}
        for path in (self.home / "h").glob("*.json"):
            with contextlib.suppress(OSError, ValueError):
                record = json.loads(path.read_text())
                found[record["sessionId"]] = int(record["holderPid"])
        return found

    def crash(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()


def abandon_holders(home: Path) -> None:
    """Remove the holder sockets a crashed daemon left: each holder then ends its
    session and exits by itself (within seconds), so no test leaves processes behind."""
    for path in (home / "h").glob("*.sock"):
        with contextlib.suppress(OSError):
            path.unlink()


def daemon_env(home: Path, project: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The controlled environment of a test daemon (or CLI): fakes on PATH, private HOME.

    ``HOME`` is ``user-home`` beside the project; ``extra`` may override anything.
    """
    return controlled_env(
        project.parent / "user-home",
        FAKE_BIN,
        extra={"COVEN_HOME": str(home), "COVEN_TEST_PROJECT": str(project), **(extra or {})},
    )


@contextlib.contextmanager
def running_daemon(tmp_path: Path, extra_env: Mapping[str, str] | None = None) -> Iterator[Daemon]:
    home = tmp_path / "home"
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    daemon = Daemon(home, daemon_env(home, project, extra_env))
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


@contextlib.contextmanager
def cli_spawned_home(tmp_path: Path, monkeypatch: Any) -> Iterator[Path]:
    """A home for daemons a test spawns with the CLI's own helpers (``coven.cli.
    daemon_spawn``), which take this process's environment: it becomes ``daemon_env``'s
    (the fake harnesses first on PATH), and the cwd the project, as a user's would be.
    Every daemon of the home is stopped after, and reaped."""
    from coven.cli import daemon_spawn, daemonctl

    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    home.mkdir(mode=0o700)
    for name, value in daemon_env(home, project, {"FAKE_MODE": "echo"}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(project)
    try:
        yield home
    finally:
        daemonctl.stop(home)
        for process in daemon_spawn._started:
            process.poll()
