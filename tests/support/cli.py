"""Shared pieces of the CLI end-to-end tests (no tests here).

Each test gets its own ``COVEN_HOME`` and project directory, the fake
harnesses first on ``PATH``, and a finalizer that stops the daemon the CLI
started (and kills it if it does not go).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.daemon import (
    abandon_holders,
    daemon_env,
    request,
    session_output,
    wait_for_output,
)

COVEN = [sys.executable, "-m", "coven.cli.entry"]


@dataclass
class Cli:
    home: Path
    project: Path
    env: dict[str, str] = field(default_factory=dict)

    def run(
        self,
        *args: str,
        timeout: float = 30.0,
        env: Mapping[str, str] | None = None,
        ok: bool | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``coven ARGS`` with stdin from /dev/null; never a traceback on stderr."""
        proc = subprocess.run(
            [*COVEN, *args],
            cwd=self.project,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        if ok is True:
            assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, ok=True).stdout)

    def session(self, session_id: str) -> dict[str, Any]:
        record: dict[str, Any] = self.json("sessions", "show", session_id, "--json")
        return record

    def wait_status(
        self, session_id: str, statuses: set[str], timeout: float = 10.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            record = self.session(session_id)
            if record["status"] in statuses:
                return record
            assert time.monotonic() < deadline, f"status stayed {record['status']!r}"
            time.sleep(0.05)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        reply = request(self.home / "coven.sock", method, path, body)
        return reply

    def output(self, session_id: str) -> str:
        return session_output(self.home / "coven.sock", session_id)

    def wait_output(self, session_id: str, needle: str, timeout: float = 10.0) -> str:
        return wait_for_output(self.home / "coven.sock", session_id, needle, timeout)

    def detached(self, *prompt: str) -> str:
        """Launch ``codex`` in the background; answer the session id."""
        proc = self.run("run", "codex", "--detach", "--", *prompt, ok=True)
        session_id = proc.stdout.strip()
        assert len(session_id) == 36, proc.stdout
        return session_id

    def daemon_pid(self) -> int | None:
        try:
            pid = json.loads((self.home / "daemon.json").read_text())["pid"]
        except (OSError, ValueError, KeyError):
            return None
        return int(pid)

    def shutdown(self) -> None:
        """Stop the daemon(s) of this home; kill whatever survives (even with no daemon.json)."""
        pids = set(daemon_pids(self.home))
        pid = self.daemon_pid()
        if pid is not None:
            pids.add(pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.run("daemon", "stop", "--yes", timeout=30)
        for pid in pids | set(daemon_pids(self.home)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        # Sessions a killed daemon left to their holders: without a socket to be found
        # at, each holder ends its session and exits by itself.
        abandon_holders(self.home)


def daemon_pids(home: Path) -> list[int]:
    """Pids of live ``coven.daemon`` processes started for ``home`` (from /proc)."""
    wanted = [b"coven.daemon", b"--home", str(home).encode()]
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if all(word in argv for word in wanted):
            found.append(int(entry.name))
    return found


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    home = tmp_path / "home"
    project = tmp_path / "project"
    project.mkdir()
    env = daemon_env(home, project)
    env.pop("NO_COLOR", None)
    env["FAKE_MODE"] = "echo"
    handle = Cli(home, project, env)
    try:
        yield handle
    finally:
        handle.shutdown()
