"""Profile our daemon under one workload with py-spy and print its hot spots.

    .venv/bin/python bench/profile.py WORKLOAD [--mib N] [--out DIR] [--gil] [--native]

WORKLOAD is ``output`` (one session emitting N MiB, wait for the exit event),
``health`` (3,000 sequential GET /health), ``list`` (10 unpaginated GET /sessions
over 10,000 registered sessions) or ``events`` (read an N MiB output log twice
at limit=1000000). Setup (registering, emitting) is not sampled. The daemon is started fresh through the driver's
harness (same fake harness and start command as bench/compare.py), py-spy
samples it at 250 Hz (``--idle`` off: only CPU work counts), and the collapsed
stacks are summarised as the top functions by self and by inclusive samples.
``output4`` runs four floods at once with the driver's own waiters, as the 4 x drain
does. Read the samples as time, not CPU: a thread waiting for the GIL is sampled as
active (a call that releases it, such as ``epoll.register``, shows as hot), so check
CPU per thread in ``/proc/<pid>/task`` before believing a hot spot; ``--gil`` samples
only the thread holding the GIL.

py-spy is not a project dependency; install it for yourself with
``uv pip install --python .venv/bin/python py-spy``. Linux, needs ptrace rights.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402


def summarise(raw: Path, top: int) -> str:
    """Top functions by self samples and by inclusive samples from a py-spy raw file."""
    self_c: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        total += n
        self_c[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    out = [f"{total} samples"]
    for title, c in (("self", self_c), ("inclusive", incl)):
        out.append(f"-- top {top} by {title} --")
        for f, n in c.most_common(top):
            out.append(f"{100 * n / max(total, 1):6.1f}%  {f}")
    return "\n".join(out)


def setup(cb: Any, bench: Any, d: Any, name: str, mib: int) -> dict[str, Any]:
    """Work done before sampling starts (sessions to list, a log to read)."""
    c = d.c
    state: dict[str, Any] = {}
    if name == "list":
        for i in range(10000):
            c.call(
                "POST",
                "/api/v1/sessions/external",
                {
                    "id": str(uuid.uuid4()),
                    "projectRoot": bench.project,
                    "harness": "codex",
                    "title": f"x{i}",
                },
            )
    elif name == "events":
        bench.ensure_blob(mib)  # the emitting harness prints this file: without it, nothing
        sid = c.launch(bench.project, bench.harness, f"emit {mib} r")["id"]
        cb.wait_exit(c, sid, time.perf_counter() + 600)
        state["sid"] = sid
    return state


def workload(cb: Any, bench: Any, d: Any, name: str, mib: int, state: dict[str, Any]) -> str:
    """The sampled work; returns a one-line description with its own timing."""
    c = d.c
    t0 = time.perf_counter()
    if name == "output":
        blob = bench.ensure_blob(mib)
        sid = c.launch(bench.project, bench.harness, f"emit {mib} p")["id"]
        cb.wait_exit(c, sid, time.perf_counter() + 600)
        dt = time.perf_counter() - t0
        return f"{mib} MiB emitted, exit readable after {dt:.2f}s ({blob['bytes'] / 2**20 / dt:.1f} MiB/s)"
    if name == "output4":
        blob = bench.ensure_blob(mib)
        took, _ = cb.emit_and_wait(bench, d, mib, 4)
        rate = 4 * blob["bytes"] / 2**20 / took
        return f"4 x {mib} MiB emitted at once, every exit readable after {took:.2f}s ({rate:.1f} MiB/s)"
    if name == "health":
        for _ in range(3000):
            c.raw("GET", "/api/v1/health")
        return f"3000 GET /health in {time.perf_counter() - t0:.2f}s"
    if name == "events":
        rd = cb.read_all(c, state["sid"], 1000000, collect_text=False)
        rd = cb.read_all(c, state["sid"], 1000000, collect_text=False)
        mb = rd["output_payload_bytes"] / 1e6
        return f"log read twice; last: {rd['pages']} pages, {mb:.1f} MB in {rd['seconds']:.2f}s ({mb / rd['seconds']:.1f} MB/s)"
    lat = []
    for _ in range(10):
        ta = time.perf_counter()
        c.raw("GET", "/api/v1/sessions", timeout=120)
        lat.append(time.perf_counter() - ta)
    lat.sort()
    return (
        f"10 x GET /sessions (10000 rows): p50 {lat[5] * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("workload", choices=("output", "output4", "health", "list", "events"))
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--top", type=int, default=20)
    ap.add_argument("--gil", action="store_true", help="sample only the thread holding the GIL")
    ap.add_argument("--native", action="store_true", help="include native (C) frames")
    ap.add_argument("--out", default=str(HERE / "results" / "profiles"))
    args = ap.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not os.access(spy, os.X_OK):
        ap.error("py-spy not found; see the module docstring")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cb = compare.load_bench_tool()
    impl = compare.our_impl(argparse.Namespace(ours_start="", ours_stop="", ours_cli_daemon=False))
    bench = compare.make_bench(cb, impl, quick=True)
    raw = out / f"{args.workload}{'-gil' if args.gil else ''}{'-native' if args.native else ''}.raw"
    try:
        d = cb.Daemon(bench, "profile")
        d.start()
        state = setup(cb, bench, d, args.workload, args.mib)
        rec = subprocess.Popen(
            [
                spy,
                "record",
                "--pid",
                str(d.pid),
                "--rate",
                "250",
                "--format",
                "raw",
                "--output",
                str(raw),
                *([] if args.native else ["--nonblocking"]),
                *(["--gil"] if args.gil else []),
                *(["--native"] if args.native else []),
                "--threads",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(1.0)
        try:
            what = workload(cb, bench, d, args.workload, args.mib, state)
        finally:
            rec.send_signal(signal.SIGINT)
            rec.wait(timeout=60)
            d.stop()
    finally:
        bench.cleanup()
    text = f"workload {args.workload}: {what}\n" + summarise(raw, args.top)
    (raw.with_suffix(".txt")).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
