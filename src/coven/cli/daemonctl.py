"""Managing the daemon as a process: probe, start, stop. No click, no printing.

The CLI never imports the runtime; it starts ``python -m coven.runtime.daemon``
as a detached process and talks to it over the socket like any other client.
``daemon.json`` (written by the daemon) names the pid, socket and start time;
the health route is the only proof that the recorded daemon is really serving.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from coven.client import CovenClient, CovenClientError, Request
from coven.client.sync import SOCKET_NAME
from coven.schema.wire import API_VERSION

STATUS_FILE = "daemon.json"
START_BUDGET = 10.0
STOP_BUDGET = 15.0
_PROBE_TIMEOUT = 2.0
_SHUTDOWN_PATH = "/api/v1/internal/lifecycle/shutdown"

DaemonState = Literal["running", "stale", "stopped"]


class DaemonControlError(Exception):
    """Starting or stopping the daemon failed; the message is a user-facing sentence."""


@dataclass(frozen=True)
class DaemonStatus:
    """What ``coven daemon status`` reports.

    ``running``: health answered. ``stale``: the recorded pid is alive but health
    does not answer. ``stopped``: neither. ``info`` is the daemon's own
    ``{pid, startedAt, socket}`` (from health when running, else ``daemon.json``).
    """

    state: DaemonState
    home: Path
    info: dict[str, Any] | None

    @property
    def pid(self) -> int | None:
        pid = (self.info or {}).get("pid")
        return pid if isinstance(pid, int) and not isinstance(pid, bool) else None

    @property
    def socket(self) -> str:
        sock = (self.info or {}).get("socket")
        return sock if isinstance(sock, str) else str(self.home / SOCKET_NAME)

    @property
    def started_at(self) -> str | None:
        started = (self.info or {}).get("startedAt")
        return started if isinstance(started, str) else None

    def as_json(self) -> dict[str, Any]:
        stopped = self.state == "stopped"
        return {
            "ok": self.state == "running",
            "pid": None if stopped else self.pid,
            "socket": None if stopped else self.socket,
            "started_at": None if stopped else self.started_at,
            "status": self.state,
        }


def read_status_file(home: Path) -> dict[str, Any] | None:
    """``daemon.json`` as a dict, or ``None`` when missing, unreadable or not an object."""
    try:
        doc = json.loads((home / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None


def pid_alive(pid: int) -> bool:
    """Is there a process with this pid (a zombie child of ours counts as gone)?"""
    with contextlib.suppress(ChildProcessError, OSError):
        # We may have started it ourselves (restart in one process): reap it if it exited.
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """An exited process nobody has reaped yet (init may be slow to reap): it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] == ["Z"]


def probe(home: Path) -> DaemonStatus:
    """Classify the daemon of ``home`` without changing anything."""
    recorded = read_status_file(home)
    client = CovenClient.from_home(home, timeout=_PROBE_TIMEOUT)
    try:
        health = client.health()
    except CovenClientError:
        health = None
    if health is not None and health.raw.get("ok") is True:
        return DaemonStatus("running", home, health.daemon or recorded)
    pid = DaemonStatus("stale", home, recorded).pid
    if pid is not None and pid_alive(pid):
        return DaemonStatus("stale", home, recorded)
    return DaemonStatus("stopped", home, None)


def start(home: Path, *, budget: float = START_BUDGET) -> DaemonStatus:
    """Start a daemon for ``home`` unless one is running; answer its status.

    The daemon is fully detached (own session, stdio on /dev/null) and inherits
    this process's environment, so its PATH decides which harnesses exist. It
    reports ``ready`` or ``error: <msg>`` on a pipe; an error becomes
    ``DaemonControlError(msg)``.
    """
    current = probe(home)
    if current.state == "running":
        return current
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    log = home / "daemon.log"
    read_fd, write_fd = os.pipe()
    try:
        # The daemon logs here too; its stderr joins so a crash before it is ready
        # (a broken install, say) can be shown instead of a bare timeout.
        log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        os.close(read_fd)
        os.close(write_fd)
        raise DaemonControlError(f"cannot open {log}: {exc.strerror or exc}") from exc
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "coven.runtime.daemon",
                "--home",
                str(home),
                "--ready-fd",
                str(write_fd),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log_fd,
            start_new_session=True,
            pass_fds=(write_fd,),
            cwd=str(home),
        )
    except OSError as exc:
        os.close(read_fd)
        raise DaemonControlError(
            f"could not start the Coven daemon: {exc.strerror or exc}"
        ) from exc
    finally:
        os.close(write_fd)
        os.close(log_fd)
    try:
        line = _read_ready_line(read_fd, budget)
    finally:
        os.close(read_fd)
    if line.startswith("error:"):
        raise DaemonControlError(line.removeprefix("error:").strip())
    if line != "ready":
        if line == "":  # the pipe closed: the daemon is exiting (or exited) without a word
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=2)
        code = process.poll()
        if code is not None:
            raise DaemonControlError(
                f"the Coven daemon exited (status {code}) before it was ready: "
                f"{_last_line(log)} (details in {log})"
            )
        why = "did not report ready" if line == "" else f"reported {line!r}"
        raise DaemonControlError(f"the Coven daemon {why} within {budget:g} s; see {log}")
    status = probe(home)
    if status.state != "running":
        raise DaemonControlError(
            "the Coven daemon reported ready but its health route does not answer"
        )
    return status


def _last_line(path: Path) -> str:
    """The last thing the daemon said (for a crash: the exception, not its traceback)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "it left no log"
    said = [line.strip() for line in lines if line.strip()]
    return said[-1] if said else "it left no log"


def _read_ready_line(fd: int, budget: float) -> str:
    deadline = time.monotonic() + budget
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:  # the daemon exited (or closed the pipe) without a line
            break
        data += chunk
    return data.split(b"\n", 1)[0].decode("utf-8", "replace").strip()


def stop(home: Path, *, budget: float = STOP_BUDGET) -> DaemonStatus | None:
    """Stop the daemon of ``home``; answer the status it had, or ``None`` if none was running.

    A running daemon is asked through the shutdown route, naming itself by its
    ``daemon.json`` (the daemon refuses a request naming someone else). A stale
    pid is signalled only when ``/proc`` shows it is a Coven daemon for this
    home: a recycled pid must never be killed.
    """
    current = probe(home)
    if current.state == "stopped":
        return None
    pid = current.pid
    if current.state == "running":
        _request_shutdown(home, current)
    elif pid is not None and _is_our_daemon(pid, home):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 15)
    else:
        return None
    if pid is not None:
        deadline = time.monotonic() + budget
        while pid_alive(pid):
            if time.monotonic() > deadline:
                raise DaemonControlError(
                    f"the Coven daemon (pid {pid}) did not exit within {budget:g} s"
                )
            time.sleep(0.02)
    return current


def _request_shutdown(home: Path, current: DaemonStatus) -> None:
    recorded = read_status_file(home)
    if recorded is None or recorded != current.info:
        raise DaemonControlError(
            f"{home / STATUS_FILE} does not describe the daemon answering on {current.socket}; "
            "refusing to stop a daemon whose identity cannot be verified"
        )
    body = json.dumps({"apiVersion": API_VERSION, "daemon": recorded}).encode()
    client = CovenClient.from_home(home, timeout=_PROBE_TIMEOUT + 8)
    request = Request("POST", _SHUTDOWN_PATH, {"Content-Type": "application/json"}, body)
    try:
        response = client.transport.handle(request)
        try:
            payload = response.read()
        finally:
            response.close()
    except CovenClientError as exc:
        raise DaemonControlError(f"could not ask the Coven daemon to stop: {exc}") from exc
    if response.status != 202:
        raise DaemonControlError(
            f"the Coven daemon refused to stop (HTTP {response.status}): "
            f"{payload[:300].decode('utf-8', 'replace')}"
        )


def _is_our_daemon(pid: int, home: Path) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = [a.decode("utf-8", "replace") for a in argv]
    if "coven.runtime.daemon" not in words or "--home" not in words:
        return False
    index = words.index("--home") + 1
    if index >= len(words):
        return False
    with contextlib.suppress(OSError):
        return Path(words[index]).resolve() == home.resolve()
    return False
