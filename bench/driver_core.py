"""Plumbing for ``bench/driver.py``: HTTP client on the Unix socket, fake harness,
scratch dir, a daemon run by shell commands. Stdlib only and never imports
``coven``: the driver measures any implementation of the API, ours or the reference.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

API = "/api/v1"
MIB = 1024 * 1024
LINE = 1024  # every emitted blob line is exactly this long, newline included
PAGE = 1000  # events per page when polling or reading logs back
TERMINAL = {"completed", "killed", "failed", "orphaned", "exited", "stopped"}


class Unsupported(Exception):
    """A route answered 404/405/501: the implementation does not have it."""

    def __init__(self, what: str, status: int | None = None, body: bytes = b"") -> None:
        super().__init__(f"{what} unsupported (HTTP {status})")
        self.what, self.status, self.body = what, status, body


class DriverError(Exception):
    """Anything else that makes a measurement impossible (bad status, timeout)."""


clock = time.perf_counter


class Client:
    """One fresh connection per request, as a CLI would make it."""

    def __init__(self, sock: str, timeout: float = 30.0) -> None:
        self.sock = sock
        self.timeout = timeout

    def raw(
        self, method: str, path: str, body: Any = None, timeout: float | None = None
    ) -> tuple[int, bytes]:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout or self.timeout)
        try:
            s.connect(self.sock)
            conn = http.client.HTTPConnection("localhost")
            conn.sock = s
            payload = None if body is None else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"} if payload is not None else {}
            conn.request(method, path, body=payload, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            s.close()

    def call(self, method: str, path: str, body: Any = None, what: str = "") -> Any:
        status, data = self.raw(method, path, body)
        if status in (404, 405, 501):
            raise Unsupported(what or f"{method} {path}", status, data)
        if not 200 <= status < 300:
            raise DriverError(f"{method} {path}: HTTP {status}: {data[:200]!r}")
        return json.loads(data) if data else None

    def health(self) -> Any:
        return self.call("GET", f"{API}/health")

    def launch(self, project: str, harness: str, prompt: str) -> dict[str, Any]:
        body = {"projectRoot": project, "harness": harness, "prompt": prompt}
        js = self.call("POST", f"{API}/sessions", body, "POST /sessions")
        if isinstance(js, dict) and isinstance(js.get("session"), dict) and "id" not in js:
            js = js["session"]
        if not isinstance(js, dict) or not js.get("id"):
            raise DriverError(f"POST /sessions gave no id: {str(js)[:200]}")
        return js

    def status_of(self, sid: str) -> str | None:
        js = self.call("GET", f"{API}/sessions/{quote(sid)}")
        if isinstance(js, dict) and isinstance(js.get("session"), dict):
            js = js["session"]
        return js.get("status") if isinstance(js, dict) else None

    def kill(self, sid: str) -> Any:
        return self.call("POST", f"{API}/sessions/{quote(sid)}/kill", {}, "POST kill")

    def input(self, sid: str, data: str) -> Any:
        return self.call("POST", f"{API}/sessions/{quote(sid)}/input", {"data": data}, "POST input")

    def events(
        self, sid: str, after: int | None = None, limit: int | None = None, timeout: float = 0
    ) -> tuple[list[dict[str, Any]], int | None, bool | None, int, float]:
        """One page: (events, cursor for the next page, hasMore, body bytes, seconds)."""
        params: dict[str, str] = {"sessionId": sid}
        if after is not None:
            params["afterSeq"] = str(after)
        if limit is not None:
            params["limit"] = str(limit)
        t0 = clock()
        status, data = self.raw(
            "GET", f"{API}/events?" + urllib.parse.urlencode(params), None, timeout
        )
        took = clock() - t0
        if status in (404, 405, 501):
            raise Unsupported("GET /events", status, data)
        if status != 200:
            raise DriverError(f"GET /events: HTTP {status}: {data[:200]!r}")
        js = json.loads(data)
        evs = js if isinstance(js, list) else js.get("events") or []
        more = None if isinstance(js, list) else js.get("hasMore")
        nxt = None
        if isinstance(js, dict) and isinstance(js.get("nextCursor"), dict):
            nxt = js["nextCursor"].get("afterSeq")
        if nxt is None:
            nxt = evs[-1].get("seq") if evs else after
        return evs, nxt, more, len(data), took


def quote(s: str) -> str:
    return urllib.parse.quote(str(s), safe="")


def ev_kind(e: dict[str, Any]) -> str:
    return str(e.get("kind") or e.get("type") or "")


def ev_payload(e: dict[str, Any]) -> dict[str, Any]:
    raw = e.get("payload_json", e.get("payloadJson", e.get("payload")))
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    return raw if isinstance(raw, dict) else {}


def ev_data(e: dict[str, Any]) -> str:
    return str(ev_payload(e).get("data") or "")


def wait_exit(c: Client, sid: str, deadline: float) -> float:
    """Poll the session until its status is terminal; seconds waited."""
    t0 = clock()
    while clock() < deadline:
        st = c.status_of(sid)
        if st in TERMINAL:
            return clock() - t0
        time.sleep(0.01)
    raise DriverError(f"session {sid} still running at the deadline")


def read_all(c: Client, sid: str, limit: int | None, collect_text: bool = True) -> dict[str, Any]:
    """Page through a session's whole event log with ``afterSeq``."""
    t0 = clock()
    after: int | None = None
    pages = wire = payload = count = 0
    kinds: dict[str, int] = {}
    text: list[str] = []
    page_s: list[float] = []
    while True:
        evs, nxt, more, nbytes, took = c.events(sid, after, limit)
        pages += 1
        wire += nbytes
        page_s.append(took)
        for e in evs:
            k = ev_kind(e)
            kinds[k] = kinds.get(k, 0) + 1
            if k == "output":
                d = ev_data(e)
                payload += len(d.encode())
                if collect_text:
                    text.append(d)
        count += len(evs)
        if not evs or more is False or nxt == after:
            break
        after = nxt
    return {
        "events": count,
        "pages": pages,
        "wire_bytes": wire,
        "output_payload_bytes": payload,
        "kinds": kinds,
        "seconds": clock() - t0,
        "page_seconds": page_s,
        "text": "".join(text) if collect_text else None,
    }


# Acts on its last argument; re-runs once with a run marker so its processes can be found.
HARNESS = r"""#!/bin/sh
if [ "${COVEN_DRIVER_RUN:-}" != '@RUN@' ]; then
  COVEN_DRIVER_RUN='@RUN@' exec /bin/sh "$0" "$@"
fi
p=''
for a in "$@"; do p=$a; done
case "$p" in
  ready*) echo "READY $$"; exec sleep @SLEEP@ ;;
  quick*) echo "QUICK $$ done"; exit 0 ;;
  echo*)
    d=${p#echo}; d=${d# }
    stty -echo 2>/dev/null
    echo "ECHO-READY"
    while IFS= read -r line; do
      [ -n "$d" ] && sleep "$d"
      printf 'ECHO:%s\n' "$line"
    done
    exit 0 ;;
  emit\ *) set -- $p; cat '@DATA@'/blob-"$2"; exit 0 ;;
  *) echo "UNKNOWN PROMPT: $p"; exit 2 ;;
esac
"""


def blob_line(n: int) -> str:
    alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    k = n % len(alpha)
    body = (alpha[k:] + alpha[:k]) * (LINE // len(alpha) + 2)
    return f"{n:08d} " + body[: LINE - 10] + "\n"


class Bench:
    """A short scratch dir (socket paths are limited) with a project, fake bin and blobs."""

    def __init__(self, args: Any) -> None:
        self.args = args
        self.quick = bool(args.quick)
        self.harness = args.harness
        self.run = uuid.uuid4().hex
        self.root = tempfile.mkdtemp(prefix="cd", dir=args.tmp)
        self.project, self.fakebin, self.data, self.logs = (
            os.path.join(self.root, x) for x in ("p", "b", "d", "l")
        )
        for d in (self.project, self.fakebin, self.data, self.logs):
            os.makedirs(d)
        script = os.path.join(self.fakebin, self.harness)
        with open(script, "w") as f:
            f.write(
                HARNESS.replace("@RUN@", self.run)
                .replace("@DATA@", self.data)
                .replace("@SLEEP@", str(args.ready_sleep))
            )
        os.chmod(script, 0o755)
        self.blobs: dict[int, dict[str, Any]] = {}
        self.homes = 0
        self.daemons: list[Daemon] = []

    def ensure_blob(self, mib: int) -> dict[str, Any]:
        if mib not in self.blobs:
            path = os.path.join(self.data, f"blob-{mib}")
            lines = mib * MIB // LINE
            text = "".join(blob_line(n) for n in range(lines))
            Path(path).write_text(text)
            digest = hashlib.sha256(text.encode()).hexdigest()
            self.blobs[mib] = {"path": path, "bytes": len(text), "lines": lines, "sha256": digest}
        return self.blobs[mib]

    def new_home(self) -> str:
        self.homes += 1
        return os.path.join(self.root, f"h{self.homes}")

    def env_for(self, home: str) -> dict[str, str]:
        env = dict(os.environ)
        env["COVEN_HOME"] = home
        env["PATH"] = self.fakebin + os.pathsep + env.get("PATH", "/usr/bin:/bin")
        return env

    def harness_pids(self) -> list[int]:
        marker = f"COVEN_DRIVER_RUN={self.run}".encode()
        found = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/environ", "rb") as f:
                    if marker in f.read().split(b"\0"):
                        found.append(int(d))
            except OSError:
                continue
        return found

    def cleanup(self) -> int:
        for d in list(self.daemons):
            d.stop()
        left = self.harness_pids()
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if not getattr(self.args, "keep", False):
            shutil.rmtree(self.root, ignore_errors=True)
        return len(left)


class Daemon:
    """One daemon in a fresh COVEN_HOME, started and stopped by the shell commands given."""

    def __init__(self, bench: Bench, tag: str) -> None:
        self.b = bench
        self.tag = tag
        self.home = bench.new_home()
        self.sock = os.path.join(self.home, "coven.sock")
        self.c = Client(self.sock)
        self.pid: int | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopped = False
        self.info: dict[str, Any] = {"home": self.home}

    def _sh(self, cmd: str, what: str) -> subprocess.Popen[bytes]:
        with open(os.path.join(self.b.logs, f"{self.tag}-{what}.log"), "ab") as log:
            return subprocess.Popen(
                cmd,
                shell=True,
                env=self.b.env_for(self.home),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start(self, timeout: float = 60.0) -> float:
        """Run the start command; seconds until GET /health first answers 200."""
        os.makedirs(self.home, mode=0o700, exist_ok=True)
        t0 = clock()
        proc = self.proc = self._sh(self.b.args.start, "start")
        self.b.daemons.append(self)
        body = b""
        while True:
            try:
                status, body = self.c.raw("GET", f"{API}/health", timeout=5)
                if status == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            rc = proc.poll()
            if rc not in (None, 0) and clock() - t0 > 5:
                raise DriverError(f"start command exited {rc} and /health never answered")
            if clock() - t0 > timeout:
                raise DriverError(f"/health did not answer within {timeout}s")
            time.sleep(0.002)
        took = clock() - t0
        try:
            health = json.loads(body)
        except ValueError:
            health = {}
        pid = None
        if isinstance(health, dict):
            d = health.get("daemon")
            pid = (d.get("pid") if isinstance(d, dict) else None) or health.get("pid")
        self.pid = pid if isinstance(pid, int) else self._pid_from_file()
        self.info.update({"start_to_health_s": round(took, 4), "pid": self.pid})
        return took

    def _pid_from_file(self) -> int | None:
        try:
            with open(os.path.join(self.home, "daemon.json")) as f:
                pid = json.load(f).get("pid")
            return pid if isinstance(pid, int) else None
        except (OSError, ValueError, AttributeError):
            return None

    def alive(self) -> bool:
        """Whether the daemon process still runs (a zombie child of ours counts as gone)."""
        if self.proc is not None:
            self.proc.poll()  # reaps a foreground daemon that has exited
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False

    def stop(self, timeout: float = 30.0) -> float:
        """Run the stop command; seconds until the daemon process is gone (SIGKILL as a last resort)."""
        if self.stopped:
            return 0.0
        self.stopped = True
        t0 = clock()
        proc = self._sh(self.b.args.stop, "stop")
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
        while self.alive() and clock() - t0 < timeout:
            time.sleep(0.005)
        if self.alive() and self.pid is not None:
            os.kill(self.pid, signal.SIGKILL)
        return clock() - t0


def pct(vals: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of seconds, in milliseconds."""
    if not vals:
        return float("nan")
    s = sorted(vals)
    k = min(len(s) - 1, max(0, math.ceil(p / 100.0 * len(s)) - 1))
    return round(s[k] * 1000.0, 3)


class Results:
    """Figures in table order plus free-form details per scenario."""

    def __init__(self) -> None:
        self.table: list[list[Any]] = []
        self.scenarios: dict[str, dict[str, Any]] = {}

    def fig(self, sc: str, metric: str, value: Any, unit: str, note: str = "") -> None:
        self.table.append([sc, metric, value, unit, note])

    def details(self, sc: str) -> dict[str, Any]:
        return self.scenarios.setdefault(sc, {"status": "running", "details": {}})["details"]


def first_output(c: Client, sid: str, deadline: float, needle: str = "") -> float:
    """Seconds until an output event (containing ``needle``) is readable."""
    t0 = clock()
    after = None
    while clock() < deadline:
        evs, nxt, _, _, _ = c.events(sid, after, PAGE)
        if any(ev_kind(e) == "output" and needle in ev_data(e) for e in evs):
            return clock() - t0
        after = nxt
        time.sleep(0.001)
    raise DriverError(f"no output from {sid} in time")


def exit_readable(c: Client, sid: str, deadline: float, idle_sleep: float = 0.002) -> float:
    """Seconds until an exit event is readable in the session's log (reading every page;
    ``idle_sleep`` between polls that found nothing new)."""
    t0 = clock()
    after = None
    while clock() < deadline:
        evs, nxt, _, _, _ = c.events(sid, after, PAGE)
        if any(ev_kind(e) == "exit" for e in evs):
            return clock() - t0
        after = nxt
        if not evs:
            time.sleep(idle_sleep)
    raise DriverError(f"no exit event from {sid} in time")
