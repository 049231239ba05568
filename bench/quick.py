"""Our daemon alone, in a minute: the figures a refactor could regress.

    .venv/bin/python bench/quick.py [--mib 64] [--repeat 3] [--json FILE] [--repo DIR]

Starts a fresh daemon per repetition (its own COVEN_HOME, the fake harnesses of
``tests/fakes`` first on PATH) and measures, through the HTTP API as a client:

* ``health p50/p99 [ms]``: 2,000 sequential ``GET /api/v1/health``;
* ``launch->first output p50 [ms]``: 20 launches of the fake ``echo`` harness,
  from sending ``POST /sessions`` until its ``ready`` line is readable in
  ``/events`` (polled every millisecond);
* ``drain [MiB/s]``: one fake harness writes ``--mib`` MiB as fast as the PTY
  takes it; emitted bytes / time from launch until its ``exit`` event is
  readable;
* ``stored [%]``: the stored output compared with what the harness wrote
  (after the terminal's LF → CRLF), byte for byte.

Medians over repetitions are printed; ``--json`` writes every value.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

# ``--repo`` measures another checkout (its test support starts its own daemon).
REPO = Path(sys.argv[sys.argv.index("--repo") + 1] if "--repo" in sys.argv else __file__)
REPO = REPO.resolve() if "--repo" in sys.argv else REPO.resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.daemon import Daemon, running_daemon  # noqa: E402
from tests.support.flood import expected_flood, stored_output  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def health(daemon: Daemon, count: int = 2000) -> dict[str, float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        reply = daemon.call("GET", "/api/v1/health")
        times.append((time.perf_counter() - started) * 1000)
        assert reply.status == 200
    return {"health p50 [ms]": percentile(times, 0.5), "health p99 [ms]": percentile(times, 0.99)}


def first_output(daemon: Daemon, count: int = 20) -> dict[str, float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        sid = daemon.launch("--fake-mode=echo")["id"]
        while not any(e["kind"] == "output" for e in daemon.events(sid)):
            time.sleep(0.001)
        times.append((time.perf_counter() - started) * 1000)
        daemon.call("POST", f"/api/v1/sessions/{sid}/kill")
    return {"launch->first output p50 [ms]": percentile(times, 0.5)}


def drain(daemon: Daemon, mib: int) -> dict[str, float]:
    total = mib * 1024 * 1024
    started = time.perf_counter()
    sid = daemon.launch("--fake-mode=flood")["id"]
    after = 0
    done = False
    while not done:
        path = f"/api/v1/events?sessionId={sid}&afterSeq={after}&limit=1000"
        page = daemon.call("GET", path, timeout=30).json()
        for event in page["events"]:
            after = event["seq"]
            done = done or event["kind"] == "exit"
        if not page["hasMore"]:
            time.sleep(0.005)
    elapsed = time.perf_counter() - started
    stored, _kinds = stored_output(daemon, sid)
    expected = expected_flood(total)
    # The fake harness prints a short banner (argv, cwd, "ready") before the flood.
    start = stored.find(expected[:64])
    body = stored[start:] if start >= 0 else b""
    same = sum(1 for a, b in zip(body, expected, strict=False) if a == b)
    return {"drain [MiB/s]": mib / elapsed, "stored [%]": 100.0 * same / len(expected)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--repo", type=Path, help="measure this checkout instead (for a baseline)")
    args = ap.parse_args()
    runs: list[dict[str, float]] = []
    for rep in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            env = {"FAKE_BYTES": str(args.mib * 1024 * 1024)}
            with running_daemon(Path(tmp), extra_env=env) as daemon:
                figures = {**health(daemon), **first_output(daemon), **drain(daemon, args.mib)}
        runs.append(figures)
        print(f"rep {rep + 1}: " + ", ".join(f"{k} {v:.3g}" for k, v in figures.items()))
    print()
    for name in runs[0]:
        values = [run[name] for run in runs]
        spread = f"{min(values):.3g}-{max(values):.3g}"
        print(f"{name:32} {statistics.median(values):10.3g}   ({spread})")
    if args.json is not None:
        args.json.write_text(json.dumps(runs, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
