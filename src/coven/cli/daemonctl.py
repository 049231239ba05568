"""Managing the daemon as a process: probe, start, stop, clean up. No click, no printing.

The CLI never imports the runtime; it starts ``python -m coven.daemon``
as a detached process and talks to it over the socket like any other client.
``daemon.json`` (written by the daemon) names the pid, socket and start time;
the health route is the only proof that a daemon is really serving, and the
peer credentials of the connection it answered on say which process it is.

``start``, ``stop`` and the clean-up of a dead daemon's leftovers hold the
home's lifecycle lock (``home_files``) while they run; nothing is created in a
home before it passes the daemon's own checks.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from coven.cli import daemon_spawn, early_start, home_files
from coven.cli.daemon_spawn import DaemonControlError as DaemonControlError
from coven.client import CovenClient, CovenClientError, Request, UnixTransport
from coven.schema.home import LOG_NAME, SOCKET_NAME, STATUS_FILE_NAME
from coven.schema.wire import API_VERSION

STATUS_FILE = STATUS_FILE_NAME
TOOL_BUDGET = 30.0
START_BUDGET = 10.0
STOP_BUDGET = 15.0
_PROBE_TIMEOUT = 2.0
_CLEANUP_LOCK_WAIT = 1.0
_SHUTDOWN_PATH = "/api/v1/internal/lifecycle/shutdown"

DaemonState = Literal["running", "stale", "stopped"]
# Told (daemon pid, answer to the launch handed over) before the daemon is ready; what
# it returns is shown the session's output until then (``start_launching``).
OnAnswer = Callable[[int, tuple[int, bytes]], "daemon_spawn.OutputSink | None"]


def daemon_tool(
    args: list[str], home: Path, env: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """Run one of the daemon's offline commands (``python -m coven.daemon ARGS --home HOME``).

    Returns its exit status and stdout. ``env`` defaults to this process's
    environment: the one a daemon started from here would see.
    """
    command = [sys.executable, "-m", "coven.daemon", *args, "--home", str(home)]
    try:
        done = subprocess.run(
            command,
            env=dict(os.environ) if env is None else env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=TOOL_BUDGET,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DaemonControlError(f"cannot run the daemon's `{args[0]}` command: {exc}") from exc
    if done.returncode not in (0, 1) or not done.stdout.strip():
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DaemonControlError(
            f"the daemon's `{args[0]}` command failed"
            + (f": {detail[-1]}" if detail else f" (exit status {done.returncode})")
        )
    return done.returncode, done.stdout


@dataclass(frozen=True)
class DaemonStatus:
    """What ``coven daemon status`` reports.

    ``running``: health answered. ``stale``: health does not answer but a daemon
    left traces — its recorded pid is alive, or its socket or ``daemon.json`` is
    still there. ``stopped``: none of that. ``info`` is the daemon's own
    ``{pid, startedAt, socket}`` (from health when running, else ``daemon.json``).
    ``cleaned`` names the files of a gone daemon this call removed (socket, status file).
    """

    state: DaemonState
    home: Path
    info: dict[str, Any] | None
    cleaned: tuple[Path, ...] = ()

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
    if _has_leftovers(home):
        return DaemonStatus("stale", home, recorded)
    return DaemonStatus("stopped", home, None)


def _has_leftovers(home: Path) -> bool:
    return any(os.path.lexists(home / name) for name in (SOCKET_NAME, STATUS_FILE))


def status(home: Path) -> DaemonStatus:
    """``probe``, and when the daemon is provably gone, remove what it left behind.

    The answer is still ``stale`` then (with ``cleaned``); the next probe says ``stopped``.
    """
    home = Path(os.path.abspath(home))
    current = probe(home)
    if current.state != "stale":
        return current
    try:
        home_files.verify_home(home)
        with home_files.lifecycle_lock(home, wait=_CLEANUP_LOCK_WAIT):
            cleaned = _remove_leftovers_if_provably_stale(home)
    except (home_files.HomeUnusable, home_files.LifecycleBusy):
        cleaned = ()
    return DaemonStatus(current.state, home, current.info, cleaned=cleaned)


def _remove_leftovers_if_provably_stale(home: Path) -> tuple[Path, ...]:
    """Remove the socket and ``daemon.json`` only if no daemon can be behind them.

    Provably stale means all of: the recorded pid (if any) is gone or is not a
    Coven daemon of this home; nothing accepts connections on the socket (so no
    health can answer either); and the serve lock is free (so no daemon of any
    Coven implementation serves this home, and none can start while we look).
    The caller holds the lifecycle lock. Answers the paths removed.
    """
    pid = DaemonStatus("stale", home, read_status_file(home)).pid
    if pid is not None and pid_alive(pid) and _is_our_daemon(pid, home):
        return ()
    if _socket_accepts(home / SOCKET_NAME):
        return ()
    leftovers = ((home / SOCKET_NAME, stat.S_IFSOCK), (home / STATUS_FILE, stat.S_IFREG))
    with home_files.no_daemon_serving(home) as free:
        if not free:
            return ()
        return tuple(path for path, kind in leftovers if home_files.remove_if_ours(path, kind))


def _socket_accepts(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe_sock:
        probe_sock.settimeout(_PROBE_TIMEOUT)
        try:
            probe_sock.connect(str(path))
        except OSError:
            return False
    return True


def already_running(home: Path) -> DaemonStatus | None:
    """The status of the daemon serving ``home``, or ``None`` when ``start`` has work to do:
    none runs, or one this process started early (``early_start``) awaits its hand-over
    (only ``start`` releases its lifecycle lock, however soon it answered)."""
    if early_start.pending():
        return None
    current = probe(home)
    return current if current.state == "running" else None


def start(home: Path, *, budget: float = START_BUDGET, launch_soon: bool = False) -> DaemonStatus:
    """Start a daemon for ``home`` unless one is running; answer its status.

    The home is created (0700) or verified first (``HomeUnusable``), and the
    lifecycle lock is held until the new daemon answers. How the daemon is started
    and says it is ready: ``coven.cli.daemon_spawn``; an ``error: <msg>`` it reports
    becomes ``DaemonControlError(msg)``. A daemon this process already started for
    ``home`` (``coven.cli.early_start``) is waited for instead of starting another.
    ``launch_soon``: the caller launches next (``daemon_spawn.spawn``).
    """
    status, _answer = _start(home, budget, launch_soon, None)
    return status


def start_launching(
    home: Path,
    body: bytes | None,
    *,
    budget: float = START_BUDGET,
    on_answer: OnAnswer | None = None,
) -> tuple[DaemonStatus, tuple[int, bytes] | None]:
    """``start(home, launch_soon=True)`` that hands ``body``, a ``POST /sessions`` body,
    to the daemon it starts (``coven.daemon.handover``): the status, and the daemon's
    answer (HTTP status, JSON body) when it took the launch. ``None`` when it did not,
    was running already or no ``body`` was given: then launch over the API.

    ``on_answer(pid, answer)`` is called as soon as the answer comes, before the daemon
    is ready; the session's output until then goes to the sink it returns, if any
    (``daemon_spawn.Spawned.wait``)."""
    return _start(home, budget, True, body, on_answer)


def _start(
    home: Path,
    budget: float,
    launch_soon: bool,
    body: bytes | None,
    on_answer: OnAnswer | None = None,
) -> tuple[DaemonStatus, tuple[int, bytes] | None]:
    home = home_files.prepare_home(home)
    early = early_start.take(home)
    if early is not None:
        try:
            early.hand_launch(body)
            return _ready(early, budget, on_answer), early.answer
        finally:
            early.release()
    with home_files.lifecycle_lock(home):
        current = probe(home)
        if current.state == "running":
            return current, None
        spawned = daemon_spawn.spawn(home, launch_soon=launch_soon)
        spawned.hand_launch(body)
        return _ready(spawned, budget, on_answer), spawned.answer


def _ready(
    spawned: daemon_spawn.Spawned, budget: float, on_answer: OnAnswer | None = None
) -> DaemonStatus:
    """The status of a daemon just spawned, once it reports ready; else why it is not."""
    home, process = Path(spawned.home), spawned.process
    log = home / LOG_NAME

    def answered(answer: tuple[int, bytes]) -> daemon_spawn.OutputSink | None:
        return None if on_answer is None else on_answer(process.pid, answer)

    line, early = spawned.wait(budget, answered)
    if line.startswith("error:"):
        raise DaemonControlError(line.removeprefix("error:").strip())
    if line != "ready":
        code = process.poll()
        if code is not None:
            said = _last_said(early)
            why = said if said is not None else f"{_last_line(log)} (details in {log})"
            raise DaemonControlError(
                f"the Coven daemon exited (status {code}) before it was ready: {why}"
            )
        why = "did not report ready" if line == "" else f"reported {line!r}"
        raise DaemonControlError(f"the Coven daemon {why} within {budget:g} s; see {log}")
    status = probe(home)
    if status.state != "running":
        raise DaemonControlError(
            "the Coven daemon reported ready but its health route does not answer"
        )
    return status


def _last_said(data: bytes) -> str | None:
    said = [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return said[-1] if said else None


def _last_line(path: Path) -> str:
    """The last thing the daemon said (for a crash: the exception, not its traceback)."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "it left no log"
    said = [line.strip() for line in lines if line.strip()]
    return said[-1] if said else "it left no log"


def stop(
    home: Path, *, budget: float = STOP_BUDGET, keep_sessions: bool = False
) -> DaemonStatus | None:
    """Stop the daemon of ``home``; answer the status it had, or ``None`` if none was running.

    ``keep_sessions``: the daemon leaves every session that has a holder running,
    for the next daemon to adopt (a stale daemon is signalled as before).

    A running daemon is identified by the health document it serves, whose pid
    must be the connection's peer (``SO_PEERCRED``) — ``daemon.json`` is not
    needed, so a corrupt one cannot protect a live daemon — and asked to stop
    through the shutdown route naming that identity. A stale pid is signalled
    only when ``/proc`` shows it is a Coven daemon for this home: a recycled pid
    must never be killed. What a gone daemon left behind is removed. The
    lifecycle lock is held throughout; an unusable home has no daemon to stop.
    """
    home = Path(os.path.abspath(home))
    try:
        home_files.verify_home(home)
    except home_files.HomeUnusable:
        return None
    with home_files.lifecycle_lock(home):
        current = probe(home)
        if current.state == "stopped":
            return None
        if current.state == "running":
            pid: int | None = _request_shutdown(home, keep_sessions)
        elif current.pid is not None and pid_alive(current.pid):
            pid = current.pid
            if not _is_our_daemon(pid, home):
                _remove_leftovers_if_provably_stale(home)
                return None
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 15)
        else:
            _remove_leftovers_if_provably_stale(home)
            return None
        if pid is not None:
            deadline = time.monotonic() + budget
            while pid_alive(pid):
                if time.monotonic() > deadline:
                    raise DaemonControlError(
                        f"the Coven daemon (pid {pid}) did not exit within {budget:g} s"
                    )
                time.sleep(0.02)
        _remove_leftovers_if_provably_stale(home)
    return current


def _request_shutdown(home: Path, keep_sessions: bool = False) -> int:
    """Ask the daemon answering on the socket to stop; return its (proven) pid."""
    transport = UnixTransport(home / SOCKET_NAME, timeout=_PROBE_TIMEOUT + 8)
    try:
        response = transport.handle(Request("GET", "/api/v1/health"))
        doc = json.loads(response.read())
    except (CovenClientError, ValueError) as exc:
        raise DaemonControlError(f"could not ask the Coven daemon to stop: {exc}") from exc
    identity = doc.get("daemon") if isinstance(doc, dict) else None
    pid = identity.get("pid") if isinstance(identity, dict) else None
    if not isinstance(identity, dict) or pid is None or pid != response.peer_pid:
        raise DaemonControlError(
            f"the process answering on {home / SOCKET_NAME} (pid {response.peer_pid}) does not "
            "identify itself as the daemon it is; refusing to stop it"
        )
    body = json.dumps({"apiVersion": API_VERSION, "daemon": identity}).encode()
    path = _SHUTDOWN_PATH + ("?keepSessions=true" if keep_sessions else "")
    request = Request("POST", path, {"Content-Type": "application/json"}, body)
    try:
        response = transport.handle(request)
        payload = response.read()
    except CovenClientError as exc:
        raise DaemonControlError(f"could not ask the Coven daemon to stop: {exc}") from exc
    if response.status != 202:
        raise DaemonControlError(
            f"the Coven daemon refused to stop (HTTP {response.status}): "
            f"{payload[:300].decode('utf-8', 'replace')}"
        )
    return int(pid)


def _is_our_daemon(pid: int, home: Path) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = [a.decode("utf-8", "replace") for a in argv]
    if "coven.daemon" not in words or "--home" not in words:
        return False
    index = words.index("--home") + 1
    if index >= len(words):
        return False
    with contextlib.suppress(OSError):
        return Path(words[index]).resolve() == home.resolve()
    return False
