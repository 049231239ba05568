"""A real cockpit server for tests (``python -m coven.cockpit``) and a real headless Chromium.

The browser is Debian's ``chromium`` package driven by Playwright through
``executable_path`` (Playwright's own browser download is not used). Its path
is ``$COVEN_TEST_CHROMIUM`` or the first ``chromium`` on ``PATH``; without one
the tests fail and say how to install it (the README's test command does).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.daemon import REPO, Daemon

ARTIFACTS = Path(os.environ.get("COVEN_TEST_ARTIFACTS", REPO / "tmp" / "artifacts")) / "cockpit"


@dataclass
class HttpReply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Cockpit:
    proc: subprocess.Popen[str]
    url: str  # the printed address, token included
    home: Path

    @property
    def port(self) -> int:
        port = urlsplit(self.url).port
        assert port is not None
        return port

    @property
    def token(self) -> str:
        return urlsplit(self.url).query.removeprefix("token=")

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def http(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        *,
        token: bool = True,
        host: str | None = None,
    ) -> HttpReply:
        """One request with exactly these headers (``Host`` defaults to the cockpit's own)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host or f"127.0.0.1:{self.port}")
            if token:
                conn.putheader("Authorization", f"Bearer {self.token}")
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Type", "application/json")
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            return HttpReply(
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            conn.close()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return self.proc.returncode


def cockpit_command(home: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "coven.cockpit", "--home", str(home), "--no-open", *args]


def read_url(proc: subprocess.Popen[str], timeout: float = 15.0) -> str:
    """The address from the first stdout line (``Coven cockpit: <url>``)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    line = ""
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    buffer = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buffer += chunk
            if b"\n" in buffer:
                line = buffer.split(b"\n", 1)[0].decode()
                break
    os.set_blocking(fd, True)
    assert line.startswith("Coven cockpit: http://127.0.0.1:"), (line, buffer)
    return line.removeprefix("Coven cockpit: ").strip()


@contextlib.contextmanager
def serving(
    argv: list[str], env: Mapping[str, str], home: Path, cwd: Path | None = None
) -> Iterator[Cockpit]:
    """Run a cockpit command line until it prints its address; stop it afterwards."""
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        cockpit = Cockpit(proc, read_url(proc), home)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    try:
        yield cockpit
    finally:
        cockpit.stop()


@contextlib.contextmanager
def running_cockpit(daemon: Daemon, *args: str) -> Iterator[Cockpit]:
    project = daemon.env["COVEN_TEST_PROJECT"]
    argv = cockpit_command(daemon.home, "--project-root", project, *args)
    with serving(argv, daemon.env, daemon.home) as cockpit:
        yield cockpit


def chromium_path() -> str:
    found = os.environ.get("COVEN_TEST_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail(
            "the cockpit's browser tests need Debian's chromium: `apt-get install -y chromium` "
            "(or set COVEN_TEST_CHROMIUM to a Chromium binary)"
        )
    return found


@contextlib.contextmanager
def headless_chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright; closed on the way out."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        try:
            yield browser
        finally:
            browser.close()


def pane_text(page: Any, session_id: str) -> str:
    """What the session's terminal pane shows (the app's test hook)."""
    text: str = page.evaluate("id => window.__cockpit.paneText(id)", session_id)
    return text


def wait_pane(page: Any, session_id: str, needle: str, timeout_ms: int) -> str:
    """Wait until the session's pane shows ``needle``; answer what it shows then."""
    page.wait_for_function(
        "([id, needle]) => window.__cockpit.paneText(id).includes(needle)",
        arg=[session_id, needle],
        timeout=timeout_ms,
    )
    return pane_text(page, session_id)


def screenshot(page: Any, name: str) -> Path:
    """Save a PNG of ``page`` under the artifacts directory (not part of the repository)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
