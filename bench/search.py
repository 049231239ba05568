"""What full-text indexing costs the output path, against a baseline checkout's ``src``.

    .venv/bin/python bench/search.py --base /path/to/other/src [--mib 64] [--repeat 3]

For each repetition, a fresh daemon of each implementation (ours: this checkout; base:
the ``src`` directory given, put first on the daemon's PYTHONPATH), alternating which
goes first, measures through the API:

* ``stored [MiB/s]``: a fake harness floods ``--mib`` MiB; bytes / time from launch
  until its record says it ended (the daemon stores all output before that);
  ``store cpu [s]``: the daemon's CPU time (user+system) over that window;
* ``read back [s]``: then every event paged back through ``/events`` (checked byte
  for byte: ``stored [%]``); ``read cpu [s]``: the daemon's CPU time meanwhile
  (the index catches up then, sharing the CPU with this reader);
* ``echo p50/p99 [ms]``: 500 input lines to an ``echo`` agent, each timed until its
  answer is readable in ``/events`` (many small events: the interactive path);
* ours only, after the flood: ``index catch-up [s]`` (until ``GET /search`` answers
  ``complete``) and ``index cpu [s]`` (the daemon's CPU time meanwhile), then
  ``search p50 [ms]`` over 50 searches.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.daemon import Daemon, running_daemon  # noqa: E402
from tests.support.flood import expected_flood, stored_output  # noqa: E402

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(daemon: Daemon) -> float:
    assert daemon.proc is not None
    fields = Path(f"/proc/{daemon.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def echo_latency(daemon: Daemon, count: int = 500) -> dict[str, float]:
    sid = daemon.launch("--fake-mode=echo")["id"]
    daemon.wait_output(sid, "ready")
    after = daemon.events(sid)[-1]["seq"]
    times = []
    for n in range(count):
        started = time.perf_counter()
        daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": f"line {n}\n"})
        needle = f"echo: line {n}\r\n"
        text = ""
        while needle not in text:
            for event in daemon.events(sid, after):
                after = event["seq"]
                if event["kind"] == "output":
                    text += json.loads(event["payload_json"])["data"]
            if needle not in text:
                time.sleep(0.0005)
        times.append((time.perf_counter() - started) * 1000)
    daemon.call("POST", f"/api/v1/sessions/{sid}/kill")
    times.sort()
    return {
        "echo p50 [ms]": times[len(times) // 2],
        "echo p99 [ms]": times[min(len(times) - 1, int(0.99 * len(times)))],
    }


def flood(daemon: Daemon, mib: int) -> dict[str, float]:
    cpu, started = cpu_seconds(daemon), time.perf_counter()
    sid = daemon.launch("--fake-mode=flood")["id"]
    while daemon.call("GET", f"/api/v1/sessions/{sid}").json()["status"] == "running":
        time.sleep(0.005)
    figures = {
        "stored [MiB/s]": mib / (time.perf_counter() - started),
        "store cpu [s]": cpu_seconds(daemon) - cpu,
    }
    cpu, started = cpu_seconds(daemon), time.perf_counter()
    stored, _kinds = stored_output(daemon, sid, page=1000)
    figures["read back [s]"] = time.perf_counter() - started
    figures["read cpu [s]"] = cpu_seconds(daemon) - cpu
    expected = expected_flood(mib * 1024 * 1024)
    start = stored.find(expected[:64])
    figures["stored [%]"] = 100.0 * (stored[start:] == expected) if start >= 0 else 0.0
    return figures


def index_figures(daemon: Daemon) -> dict[str, float]:
    cpu, started = cpu_seconds(daemon), time.perf_counter()
    while not daemon.call("GET", "/api/v1/search?q=line", timeout=60).json()["complete"]:
        pass
    figures = {
        "index catch-up [s]": time.perf_counter() - started,
        "index cpu [s]": cpu_seconds(daemon) - cpu,
    }
    times = []
    for word in ["line", "ready", "zzz", "flood", "FAKE"] * 10:
        t0 = time.perf_counter()
        assert daemon.call("GET", f"/api/v1/search?q={word}").status == 200
        times.append((time.perf_counter() - t0) * 1000)
    figures["search p50 [ms]"] = statistics.median(times)
    return figures


def measure(base: Path | None, mib: int) -> dict[str, float]:
    env = {"FAKE_BYTES": str(mib * 1024 * 1024)}
    if base is not None:
        env["PYTHONPATH"] = str(base)
    with tempfile.TemporaryDirectory() as tmp, running_daemon(Path(tmp), extra_env=env) as daemon:
        figures: dict[str, float] = dict(echo_latency(daemon))
        figures.update(flood(daemon, mib))
        if base is None:
            figures.update(index_figures(daemon))
        return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True, help="the baseline's src directory")
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "base": []}
    for rep in range(args.repeat):
        order = ["ours", "base"] if rep % 2 == 0 else ["base", "ours"]
        for name in order:
            figures = measure(None if name == "ours" else args.base.resolve(), args.mib)
            runs[name].append(figures)
            line = ", ".join(f"{k} {v:.3g}" for k, v in figures.items())
            print(f"rep {rep + 1} {name}: {line}", flush=True)
    print()
    for name, reps in runs.items():
        for key in reps[0]:
            values = [r[key] for r in reps]
            spread = f"{min(values):.3g}-{max(values):.3g}"
            print(f"{name:5} {key:24} {statistics.median(values):9.3g}   ({spread})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
