"""Scale curves: how the daemon's reads grow with what it stores.

    .venv/bin/python bench/scale.py [--sessions 10000,100000,1000000] [--output-mib 100,1024]

For each size, a fresh COVEN_HOME is laid out by the daemon itself (start, stop), then
filled directly with SQLite in the daemon's own schema (a million sessions through the
API would take the benchmark's whole budget), and the daemon is started on it:

* ``sessions``: N finished sessions; ``GET /sessions?limit=100`` p50/p99 for the first
  page, for a page from the middle (by cursor) and for the last page.
* ``output``: one session whose output is X MiB in 64 KiB events (as the reader hands
  them over); the first and the last events page (``afterSeq``), the whole log read
  through the pages (MB/s), and ``GET /sessions/:id/screen?history=1000`` (the final
  screen rebuilt from the stored tail); then the time the background index takes to
  catch up with that output (it starts when the daemon does) and ``GET /search``
  p50/p99 for a word with one hit and for a word found in every event; and the two
  reads of an automatic prune tick (``prune_tick_reads``).

Flat means a figure does not move with N or X; linear means it grows with it. Our
daemon only: the reference's store and pages differ (see ``bench/compare.py``).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.daemon import Daemon, daemon_env  # noqa: E402

MiB = 1024 * 1024
EVENT_BYTES = 64 * 1024
BASE = datetime(2026, 1, 1, tzinfo=UTC)


def stamp(n: int) -> str:
    return (BASE + timedelta(milliseconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def session_row(sid: str, n: int, project: str) -> tuple[Any, ...]:
    return (sid, project, "codex", f"session {n}", "completed", 0, stamp(n), stamp(n), "private")


def seed_sessions(db: Path, count: int, project: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO sessions (id, project_root, harness, title, status, exit_code,"
            " created_at, updated_at, visibility) VALUES (?,?,?,?,?,?,?,?,?)",
            (session_row(str(uuid.uuid4()), n, project) for n in range(count)),
        )


def seed_output(db: Path, mib: int, project: str) -> str:
    sid = str(uuid.uuid4())
    line = "".join(f"\x1b[32m{n:06d}\x1b[0m lorem ipsum dolor sit amet\r\n" for n in range(100))
    chunk = (line * (EVENT_BYTES // len(line) + 1))[:EVENT_BYTES]
    events = mib * MiB // EVENT_BYTES
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO sessions (id, project_root, harness, title, status, exit_code,"
            " created_at, updated_at, visibility) VALUES (?,?,?,?,?,?,?,?,?)",
            session_row(sid, 0, project),
        )
        conn.executemany(
            "INSERT INTO events (id, session_id, kind, payload_json, created_at,"
            " redaction_status) VALUES (?,?,?,?,?,?)",
            # Each event carries one word of its own (``marker<n>``), so a search can ask
            # for a term with exactly one hit as well as one found in every event.
            (
                (str(uuid.uuid4()), sid, "output", _output_payload(chunk, n), stamp(n), "clean")
                for n in range(events)
            ),
        )
        exit_payload = json.dumps({"exitCode": 0, "status": "completed"})
        conn.execute(
            "INSERT INTO events (id, session_id, kind, payload_json, created_at,"
            " redaction_status) VALUES (?,?,?,?,?,?)",
            (str(uuid.uuid4()), sid, "exit", exit_payload, stamp(events), "clean"),
        )
    return sid


def _output_payload(chunk: str, n: int) -> str:
    word = f"\nmarker{n:08d} "  # its own line: the previous event ends mid-line
    return json.dumps({"data": word + chunk[len(word) :]})


def index_then_search(daemon: Daemon, events: int, runs: int) -> dict[str, Any]:
    """Wait for the index to catch up with the seeded output, then time searches."""

    def search(query: str) -> Any:
        return get(daemon, f"/api/v1/search?q={query}&limit=20")

    started = time.perf_counter()
    while not search("lorem")["complete"]:
        if time.perf_counter() - started > 3600:
            raise SystemExit("the index did not catch up within an hour")
        time.sleep(1.0)
    caught_up = time.perf_counter() - started
    rare = f"marker{events // 2:08d}"
    hits = search(rare)["hits"]
    assert len(hits) == 1, f"{rare}: {len(hits)} hits"
    return {
        "index catch-up after start [s]": round(caught_up, 1),
        "search, 1 hit (p50/p99 ms)": timed(lambda: search(rare), runs),
        "search, a word in every event (p50/p99 ms)": timed(lambda: search("lorem"), runs),
    }


def prune_tick_reads(db: Path, runs: int) -> dict[str, Any]:
    """The two reads of an automatic prune tick, on the seeded store: the first-event
    check every tick makes (enough when the first event is newer than the cutoff), and
    the search for old events a tick makes otherwise (and once an hour)."""
    from coven.runtime.retention import cutoff_for
    from coven.store.reader import StoreReader

    reader = StoreReader(str(db))
    cutoff = cutoff_for(30)
    try:
        return {
            "prune tick, first-event check (p50/p99 ms)": timed(reader.first_event_at, runs),
            "prune tick, search for old events (p50/p99 ms)": timed(
                lambda: reader.prune_candidates(cutoff), max(3, runs // 10)
            ),
        }
    finally:
        reader.close()


def timed(fn: Callable[[], Any], runs: int) -> dict[str, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "p50": round(statistics.median(times), 2),
        "p99": round(times[min(len(times) - 1, int(0.99 * len(times)))], 2),
    }


def fresh(tmp: Path, seed: Callable[[Path, str], Any]) -> tuple[Daemon, Any]:
    home, project = tmp / "home", tmp / "project"
    project.mkdir()
    daemon = Daemon(home, daemon_env(home, project, None))
    daemon.start()  # lays out the store in the current schema
    daemon.stop()
    started = time.perf_counter()
    result = seed(home / "coven.sqlite3", str(project))
    print(f"  seeded in {time.perf_counter() - started:.1f} s", flush=True)
    daemon.start()
    return daemon, result


def get(daemon: Daemon, path: str) -> Any:
    reply = daemon.call("GET", path, timeout=120)
    assert reply.status == 200, (path, reply.status, reply.body[:200])
    return reply.json()


def sessions_curve(count: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="scale") as tmp:
        daemon, _ = fresh(Path(tmp), lambda db, p: seed_sessions(db, count, p))
        try:
            first = "/api/v1/sessions?limit=100"
            cursor = None
            path = first
            pages = 0
            middle = last = first
            # Walk by cursor once to find the middle and the last page.
            while True:
                page = get(daemon, path)
                pages += 1
                if pages == count // 200:
                    middle = path
                cursor = page.get("nextCursor") or page.get("next_cursor")
                if not cursor:
                    last = path
                    break
                path = f"{first}&cursor={cursor}"
            return {
                "sessions": count,
                "first page": timed(lambda: get(daemon, first), runs),
                "middle page": timed(lambda: get(daemon, middle), runs),
                "last page": timed(lambda: get(daemon, last), runs),
            }
        finally:
            daemon.stop()


def output_curve(mib: int, runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="scale") as tmp:
        daemon, sid = fresh(Path(tmp), lambda db, p: seed_output(db, mib, p))
        try:
            events = f"/api/v1/sessions/{sid}/events?limit=100"
            last_seq = get(daemon, f"{events}&afterSeq=0")["events"][0]["seq"] + mib * 16 - 50
            started = time.perf_counter()
            after, read = 0, 0
            while True:
                page = get(daemon, f"/api/v1/sessions/{sid}/events?afterSeq={after}&limit=1000")
                read += sum(len(e["payload_json"]) for e in page["events"])
                if not page["events"] or not page.get("hasMore"):
                    break
                after = page["events"][-1]["seq"]
            whole = time.perf_counter() - started
            return {
                "output MiB": mib,
                "first events page": timed(lambda: get(daemon, events), runs),
                "last events page": timed(
                    lambda: get(daemon, f"{events}&afterSeq={last_seq}"), runs
                ),
                "whole log through pages MB/s": round(read / whole / 1e6, 1),
                "final screen (history 1000)": timed(
                    lambda: get(daemon, f"/api/v1/sessions/{sid}/screen?history=1000"), 5
                ),
                **index_then_search(daemon, mib * MiB // EVENT_BYTES, runs),
                **prune_tick_reads(Path(tmp) / "home" / "coven.sqlite3", runs),
            }
        finally:
            daemon.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="10000,100000,1000000")
    parser.add_argument("--output-mib", default="100,1024")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    for count in (int(x) for x in args.sessions.split(",") if x):
        print(f"sessions: {count}", flush=True)
        print(json.dumps(sessions_curve(count, args.runs)), flush=True)
    for mib in (int(x) for x in args.output_mib.split(",") if x):
        print(f"output: {mib} MiB", flush=True)
        print(json.dumps(output_curve(mib, args.runs)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
