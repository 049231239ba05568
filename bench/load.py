"""Long load and fault runs against a real daemon (fake harnesses), with a small table.

    .venv/bin/python bench/load.py --load [--seconds 60]
    .venv/bin/python bench/load.py --faults [--seconds 30]

``--load``: 30 parallel launches; then 20 ``echo`` sessions fed numbered lines
continuously for ``--seconds`` while 50 clients poll ``/events`` with
``afterSeq`` cursors and ``limit=512`` (like the TUI client). Every line whose
input was accepted must appear exactly once in every poller's view of its
session ("lost"/"duplicated" count the violations).

``--faults``: 5 fed ``echo`` sessions and one 64 MiB flood; after 2 s another
process holds ``BEGIN EXCLUSIVE`` on the database for ``--seconds``. Reports
time to ``degraded``, time back to ``healthy`` after release, refused inputs
(503, expected while the writer is down), lost lines and whether the flood is
stored byte for byte.

Both sample ``GET /health`` every 50 ms throughout (p50/p95/p99/max).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "fakes"))

from fake_harness import flood_chunks  # type: ignore[import-not-found]  # noqa: E402
from tests.support.daemon import Daemon, daemon_env  # noqa: E402

LINES_PER_INPUT = 10
FEED_INTERVAL = 0.05
PAD = "x" * 80
ECHO = re.compile(r"echo: (L\d+-\d+) ")
LOCK_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA busy_timeout = 0")
while True:
    try:
        conn.execute("BEGIN EXCLUSIVE")
        break
    except sqlite3.OperationalError:
        time.sleep(0.001)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
print("released", flush=True)
"""


@dataclass
class Run:
    daemon: Daemon
    stop: threading.Event = field(default_factory=threading.Event)
    errors: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    health: list[float] = field(default_factory=list)
    health_states: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    timeout: float = 30.0
    input_ms: list[float] = field(default_factory=list)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        with self.lock:
            self.requests += 1
        try:
            return self.daemon.call(method, path, body, timeout=self.timeout)
        except OSError as exc:
            with self.lock:
                self.errors[f"{method} {path.split('?')[0][:20]}: {type(exc).__name__}"] += 1
            return None

    def error(self, what: str) -> None:
        with self.lock:
            self.errors[what] += 1


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def sample_health(run: Run) -> None:
    while not run.stop.is_set():
        started = time.monotonic()
        reply = run.call("GET", "/health")
        elapsed = time.monotonic() - started
        if reply is None or reply.status != 200:
            run.error("health not 200")
        else:
            run.health.append(elapsed)
            run.health_states.append((started, reply.json()["eventWriter"]["state"]))
        time.sleep(max(0.0, 0.05 - elapsed))


def feed(run: Run, index: int, sid: str, accepted: list[str], refused: list[int]) -> None:
    """POST numbered lines to an echo session until stopped; record which were accepted."""
    n = 0
    while not run.stop.is_set():
        names = [f"L{index}-{n + k}" for k in range(LINES_PER_INPUT)]
        n += LINES_PER_INPUT
        data = "".join(f"{name} {PAD}\r" for name in names)
        started = time.monotonic()
        reply = run.call("POST", f"/api/v1/sessions/{sid}/input", {"data": data})
        run.input_ms.append((time.monotonic() - started) * 1000)
        if reply is not None and reply.status == 202:
            accepted.extend(names)
        elif reply is not None and reply.status == 503:
            refused.append(len(names))
        else:
            run.error(f"input {None if reply is None else reply.status}")
        time.sleep(FEED_INTERVAL)


def poll(run: Run, sid: str, done: threading.Event, out: list[str]) -> None:
    """Follow one session with afterSeq cursors until its exit event is seen."""
    after = 0
    while True:
        reply = run.call("GET", f"/api/v1/events?sessionId={sid}&afterSeq={after}&limit=512")
        if reply is None or reply.status != 200:
            run.error(f"events {None if reply is None else reply.status}")
            time.sleep(0.1)
            continue
        page = reply.json()
        for event in page["events"]:
            if event["kind"] == "output":
                out.append(json.loads(event["payload_json"])["data"])
            elif event["kind"] == "exit":
                return
        if page["events"]:
            after = page["nextCursor"]["afterSeq"]
        if done.is_set() and not page["hasMore"] and not page["events"]:
            time.sleep(0.05)
        elif not page["hasMore"]:
            time.sleep(0.01)


def count_lines(accepted: list[str], texts: list[str]) -> tuple[int, int]:
    """(lost, duplicated) accepted lines in one poller's reassembled text."""
    seen = Counter(ECHO.findall("".join(texts)))
    lost = sum(1 for name in accepted if seen[name] == 0)
    dup = sum(1 for name in accepted if seen[name] > 1)
    return lost, dup


def start_daemon(tmp: Path, extra: dict[str, str] | None = None) -> Daemon:
    home, project = tmp / "home", tmp / "project"
    project.mkdir()
    daemon = Daemon(home, daemon_env(home, project, extra))
    daemon.start()
    assert daemon.proc is not None and daemon.proc.stderr is not None
    stream = daemon.proc.stderr

    def drain() -> None:
        try:
            while stream.read(65536):
                pass
        except (OSError, ValueError):
            pass

    threading.Thread(target=drain, daemon=True).start()
    return daemon


def fed_sessions(
    run: Run, count: int, pollers: int
) -> tuple[list[str], list[list[str]], list[list[int]], list[threading.Thread], list[Any]]:
    sids = [run.daemon.launch("--fake-mode=echo")["id"] for _ in range(count)]
    for sid in sids:
        run.daemon.wait_output(sid, "ready")
    accepted: list[list[str]] = [[] for _ in sids]
    refused: list[list[int]] = [[] for _ in sids]
    feeders = [
        threading.Thread(target=feed, args=(run, i, sid, accepted[i], refused[i]))
        for i, sid in enumerate(sids)
    ]
    done = threading.Event()
    views: list[tuple[int, list[str]]] = [(i % count, []) for i in range(pollers)]
    poll_threads = [
        threading.Thread(target=poll, args=(run, sids[i], done, text)) for i, text in views
    ]
    for t in feeders + poll_threads:
        t.start()
    return sids, accepted, refused, feeders, [done, poll_threads, views]


def finish_fed(run: Run, sids: list[str], feeders: list[threading.Thread], rest: list[Any]) -> None:
    """Stop feeding, end each session with ``exit``, wait for pollers to see every exit."""
    done, poll_threads, _views = rest
    run.stop.set()
    for t in feeders:
        t.join()
    for sid in sids:
        run.call("POST", f"/api/v1/sessions/{sid}/input", {"data": "exit\r"})
    done.set()
    for t in poll_threads:
        t.join(timeout=120)


def report(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(k) for k, _ in rows)
    print(f"\n{title}")
    print("-" * (width + 24))
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


def health_rows(run: Run) -> list[tuple[str, str]]:
    ms = [v * 1000 for v in run.health]
    return [
        ("health samples", str(len(ms))),
        ("health p50 / p95 / p99 ms", f"{pct(ms, 50):.1f} / {pct(ms, 95):.1f} / {pct(ms, 99):.1f}"),
        ("health max ms", f"{max(ms):.1f}" if ms else "-"),
    ]


def lost_rows(
    accepted: list[list[str]], views: list[tuple[int, list[str]]]
) -> list[tuple[str, str]]:
    lost = dup = 0
    for index, texts in views:
        a, b = count_lines(accepted[index], texts)
        lost += a
        dup += b
    total = sum(len(a) for a in accepted)
    return [
        ("lines accepted", str(total)),
        ("lines lost (summed over pollers)", str(lost)),
        ("lines duplicated (summed over pollers)", str(dup)),
    ]


def run_load(seconds: float) -> int:
    with tempfile.TemporaryDirectory(prefix="coven-load-") as tmp:
        daemon = start_daemon(Path(tmp))
        run = Run(daemon)
        sampler = threading.Thread(target=sample_health, args=(run,))
        sampler.start()
        try:
            launch_ms: list[float] = []

            def one(_i: int) -> str | None:
                started = time.monotonic()
                reply = run.call(
                    "POST",
                    "/api/v1/sessions",
                    {
                        "projectRoot": daemon.env["COVEN_TEST_PROJECT"],
                        "harness": "codex",
                        "prompt": "--fake-mode=exit",
                    },
                )
                launch_ms.append((time.monotonic() - started) * 1000)
                if reply is None or reply.status != 201:
                    run.error(f"launch {None if reply is None else reply.status}")
                    return None
                sid: str = reply.json()["id"]
                return sid

            with ThreadPoolExecutor(30) as pool:
                launched = [s for s in pool.map(one, range(30)) if s]
            for sid in launched:
                daemon.wait_status(sid, {"completed", "failed"}, timeout=30)

            sids, accepted, _refused, feeders, rest = fed_sessions(run, 20, 50)
            time.sleep(seconds)
            finish_fed(run, sids, feeders, rest)
            views = rest[2]
        finally:
            run.stop.set()
            sampler.join()
            daemon.stop()
        rows = [
            ("parallel launches ok", f"{len(launched)}/30"),
            ("launch p50 / max ms", f"{pct(launch_ms, 50):.1f} / {max(launch_ms):.1f}"),
            ("fed sessions / pollers / seconds", f"20 / 50 / {seconds:g}"),
            (
                "input POST p50 / p99 ms",
                f"{pct(run.input_ms, 50):.1f} / {pct(run.input_ms, 99):.1f}",
            ),
            ("requests", str(run.requests)),
            ("request errors", str(sum(run.errors.values()))),
            *lost_rows(accepted, views),
            *health_rows(run),
        ]
        report("coven load", rows)
        for what, n in run.errors.most_common(5):
            print(f"  error x{n}: {what}")
        return 0


def run_faults(seconds: float) -> int:
    flood_bytes = 64 * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="coven-faults-") as tmp:
        daemon = start_daemon(Path(tmp), {"FAKE_BYTES": str(flood_bytes)})
        # An input POST waits until its event is durable, so it may hang for the whole lock.
        run = Run(daemon, timeout=seconds + 30)
        sampler = threading.Thread(target=sample_health, args=(run,))
        sampler.start()
        holder = None
        try:
            sids, accepted, refused, feeders, rest = fed_sessions(run, 5, 10)
            time.sleep(2)
            flood = daemon.launch("--fake-mode=flood")["id"]
            holder = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    LOCK_HOLDER,
                    str(daemon.home / "coven.sqlite3"),
                    str(seconds),
                ],
                stdout=subprocess.PIPE,
                text=True,
            )
            assert holder.stdout is not None
            holder.stdout.readline()
            locked = time.monotonic()
            holder.stdout.readline()
            released = time.monotonic()
            holder.wait()
            time.sleep(3)
            finish_fed(run, sids, feeders, rest)
            views = rest[2]
            daemon.wait_status(flood, {"completed", "failed"}, timeout=120)
            stored = "".join(
                json.loads(e["payload_json"])["data"]
                for e in _all_events(daemon, flood)
                if e["kind"] == "output"
            ).encode()
            expected = b"".join(flood_chunks(flood_bytes)).replace(b"\n", b"\r\n")
            exact = stored.partition(b"ready\r\n")[2] == expected
        finally:
            if holder is not None and holder.poll() is None:
                holder.kill()
            run.stop.set()
            sampler.join()
            daemon.stop()
        refused_lines = [n for r in refused for n in r]
        degraded_at = next(
            (t for t, s in run.health_states if t >= locked and s != "healthy"), None
        )
        healthy_at = next(
            (t for t, s in run.health_states if t >= released and s == "healthy"), None
        )
        rows = [
            ("lock held s", f"{released - locked:.1f}"),
            ("to degraded s", "-" if degraded_at is None else f"{degraded_at - locked:.2f}"),
            ("back to healthy s", "-" if healthy_at is None else f"{healthy_at - released:.2f}"),
            ("input lines refused (503)", str(sum(refused_lines))),
            ("input POST p50 / max ms", f"{pct(run.input_ms, 50):.1f} / {max(run.input_ms):.0f}"),
            ("request errors", str(sum(run.errors.values()))),
            *lost_rows(accepted, views),
            ("64 MiB flood stored byte-exact", str(exact)),
            *health_rows(run),
        ]
        report("coven faults: database locked by another process", rows)
        for what, n in run.errors.most_common(5):
            print(f"  error x{n}: {what}")
        return 0


def _all_events(daemon: Daemon, sid: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = daemon.call(
            "GET", f"/api/v1/events?sessionId={sid}&afterSeq={after}&limit=200", timeout=60
        ).json()
        events.extend(page["events"])
        if not page["hasMore"]:
            return events
        after = page["nextCursor"]["afterSeq"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--load", action="store_true")
    parser.add_argument("--faults", action="store_true")
    parser.add_argument("--seconds", type=float, default=None)
    args = parser.parse_args(argv)
    if not (args.load or args.faults):
        parser.error("choose --load and/or --faults")
    status = 0
    if args.load:
        status |= run_load(args.seconds or 60)
    if args.faults:
        status |= run_faults(args.seconds or 30)
    return status


if __name__ == "__main__":
    sys.exit(main())
