"""The store writer's group commit, in-process (no daemon): events/s and MiB/s.

    .venv/bin/python bench/store_writer.py [--repeat 3] [--check]

* ``small``: 20,000 one-event ops (a 22-byte output payload) submitted at once, timed
  to the last commit — what a per-op transaction or fsync would ruin.
* ``big``: 800 ops of one 64 KiB output event — the drain's row size.

``--check`` exits 1 when the best run is under the loose floors (5,000 events/s,
20 MiB/s; about a fifth of what a 2-core VM does idle). These were a unit test once;
timing floors flake on a loaded machine, so they live here, beside the unit test that
checks the property they guard (ops are group-committed) without a clock.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from coven.store import AppendEvents, InsertSession, NewEvent, SessionRow, open_store

SMALL_OPS = 20_000
BIG_OPS = 800
FLOOR_EVENTS_PER_S = 5_000
FLOOR_MIB_PER_S = 20.0
AT = "2026-01-01T00:00:00.000000000Z"


def one_run(directory: Path) -> tuple[float, float]:
    """(small events/s, big MiB/s) on a fresh store."""
    writer, reader = open_store(str(directory / "coven.sqlite3"))
    try:
        writer.submit(
            InsertSession(SessionRow("s", "/p", "codex", "t", "running", AT, AT))
        ).result()
        small = NewEvent("s", "output", '{"data":"hello world"}')
        started = time.perf_counter()
        futures = [writer.submit(AppendEvents([small])) for _ in range(SMALL_OPS)]
        futures[-1].result(timeout=120)
        events_per_s = SMALL_OPS / (time.perf_counter() - started)
        big = NewEvent("s", "output", json.dumps({"data": "x" * (64 * 1024 - 12)}))
        started = time.perf_counter()
        futures = [writer.submit(AppendEvents([big])) for _ in range(BIG_OPS)]
        futures[-1].result(timeout=120)
        mib_per_s = BIG_OPS * len(big.payload_json) / 2**20 / (time.perf_counter() - started)
        return events_per_s, mib_per_s
    finally:
        writer.stop()
        reader.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 under the floors")
    args = parser.parse_args()
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f}, cpus {os.cpu_count()}")
    runs: list[tuple[float, float]] = []
    for _ in range(max(1, args.repeat)):
        with tempfile.TemporaryDirectory(prefix="coven-bench-writer-") as tmp:
            runs.append(one_run(Path(tmp)))
    small = sorted(r[0] for r in runs)
    big = sorted(r[1] for r in runs)
    print(
        f"small: {small[len(small) // 2]:,.0f} events/s median, best {small[-1]:,.0f} (floor {FLOOR_EVENTS_PER_S:,})"
    )
    print(
        f"big:   {big[len(big) // 2]:.1f} MiB/s median, best {big[-1]:.1f} (floor {FLOOR_MIB_PER_S:.0f})"
    )
    if args.check and (small[-1] < FLOOR_EVENTS_PER_S or big[-1] < FLOOR_MIB_PER_S):
        print("under the floor", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
