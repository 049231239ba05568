"""Helpers shared by the integration tests: process probes, module-scoped daemons, waits."""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from tests.support.daemon import Daemon, running_daemon

T = TypeVar("T")


def harness_pids(home: Path) -> set[int]:
    """Pids of fake-harness processes started by the daemon serving ``home``.

    Matched on the inherited ``COVEN_HOME`` so other test runs on the machine
    (other engineers run suites concurrently) never disturb the count.
    """
    wanted = f"COVEN_HOME={home}".encode()
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            if b"fake_harness" not in cmdline and b"/fakes/bin/" not in cmdline:
                continue
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if wanted in environ and state != "Z":
            found.add(int(entry))
    return found


def alive(pid: int) -> bool:
    """Is ``pid`` a live (non-zombie) process?"""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_until(predicate: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def session_count(daemon: Daemon) -> int:
    reply = daemon.call("GET", "/api/v1/sessions?includeArchived=true&limit=1000")
    assert reply.status == 200, reply.body
    return len(reply.json()["sessions"])


def error_of(reply: Any) -> dict[str, Any]:
    body = reply.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    return error


def payloads(daemon: Daemon, session_id: str, kind: str) -> list[dict[str, Any]]:
    return [json.loads(e["payload_json"]) for e in daemon.events(session_id) if e["kind"] == kind]


def ids_line(text: str) -> tuple[int, int, int]:
    found = re.search(r"ids pid=(\d+) pgid=(\d+) sid=(\d+)", text)
    assert found, text
    pid, pgid, sid = (int(g) for g in found.groups())
    return pid, pgid, sid


@contextlib.contextmanager
def shared_daemon(tmp_path_factory: Any, name: str, **env: str) -> Iterator[Daemon]:
    with running_daemon(tmp_path_factory.mktemp(name), extra_env=env or None) as daemon:
        yield daemon
