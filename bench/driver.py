"""Benchmark any Coven daemon through its HTTP API on the Unix socket.

    python bench/driver.py --start CMD --stop CMD [--quick] [--scenarios a,b] [--out FILE]

CMD runs under ``/bin/sh -c`` with ``COVEN_HOME`` set to a fresh home and a
fake harness first on ``PATH``; it may daemonize or stay in the foreground.
Every scenario gets a fresh daemon and is bounded in time; a route that answers
404/405/501 is recorded as "unsupported" rather than failing the run.

Scenarios (``--quick`` shrinks every size):
  startup      start command -> first 200 from GET /health; stop -> process gone
  health       sequential GET /health latency (new connection each); 8 threads
  launch       POST /sessions -> first output readable; quick run -> exit readable
  output       one session writing an N MiB blob: drain rate, bytes stored vs
               emitted, byte-exact check; then 4 at once
  event_read   read that big log back page by page (MB/s, page latency)
  input        POST input -> echo readable in the event log (polling)
  list         register many sessions, then GET /sessions whole and paged
  concurrency  N live sessions: daemon RSS, idle CPU, time to kill them all

The JSON written to ``--out`` holds ``table`` rows ``[scenario, metric, value,
unit, note]`` (what ``bench/report.py`` reads) and per-scenario ``details``.
Standard library only; imports nothing from ``coven``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from driver_core import (
    MIB,
    PAGE,
    Bench,
    Client,
    Daemon,
    DriverError,
    Results,
    Unsupported,
    clock,
    ev_data,
    ev_kind,
    exit_readable,
    first_output,
    pct,
    read_all,
    wait_exit,
)
from driver_scale import CpuMeter, sc_concurrency, sc_list

__all__ = [
    "Bench",
    "Client",
    "Daemon",
    "DriverError",
    "Unsupported",
    "ev_data",
    "ev_kind",
    "main",
    "read_all",
    "safe_kill",
    "wait_exit",
]

SCENARIOS = ("startup", "health", "launch", "output", "event_read", "input", "list", "concurrency")


def log(msg: str) -> None:
    sys.stderr.write(f"[driver {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def safe_kill(c: Client, sid: str) -> None:
    """Kill a session if it still runs; a failure here must not hide the measurement."""
    try:
        c.kill(sid)
    except Exception as e:  # the session may be gone already
        log(f"kill {sid}: {type(e).__name__}: {e}")


def sc_startup(b: Bench, r: Results) -> None:
    starts, stops = [], []
    for i in range(2 if b.quick else 5):
        d = Daemon(b, f"startup{i}")
        starts.append(d.start())
        stops.append(d.stop())
    r.fig("startup", "start->health p50", pct(starts, 50), "ms", f"n={len(starts)}")
    r.fig("startup", "start->health min/max", f"{pct(starts, 0)}/{pct(starts, 100)}", "ms")
    r.fig("startup", "stop cmd->daemon gone p50", pct(stops, 50), "ms")


def sc_health(b: Bench, r: Results, d: Daemon) -> None:
    n = 300 if b.quick else 2000
    lat = []
    for _ in range(n):
        t0 = clock()
        d.c.health()
        lat.append(clock() - t0)
    r.fig("health", "seq GET /health p50", pct(lat, 50), "ms", f"n={n}")
    r.fig("health", "seq p99", pct(lat, 99), "ms")
    r.fig("health", "seq req/s (1 client)", round(n / sum(lat), 1), "req/s")
    secs = 2.0 if b.quick else 5.0
    got: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop_at = clock() + secs

    def worker() -> None:
        c = Client(d.sock)
        while clock() < stop_at:
            t0 = clock()
            try:
                c.health()
            except Exception:  # counted, the load goes on
                with lock:
                    errors[0] += 1
                continue
            with lock:
                got.append(clock() - t0)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    r.fig(
        "health", "8-thread throughput", round(len(got) / secs, 1), "req/s", f"errors={errors[0]}"
    )
    r.fig("health", "8-thread latency p50/p99", f"{pct(got, 50)}/{pct(got, 99)}", "ms")


def sc_launch(b: Bench, r: Results, d: Daemon) -> None:
    n = 10 if b.quick else 30
    post, first, done = [], [], []
    for i in range(n):
        t0 = clock()
        sid = d.c.launch(b.project, b.harness, f"ready {i}")["id"]
        post.append(clock() - t0)
        first.append(post[-1] + first_output(d.c, sid, clock() + 30, "READY"))
        d.c.kill(sid)
    for i in range(n):
        t0 = clock()
        sid = d.c.launch(b.project, b.harness, f"quick {i}")["id"]
        done.append(clock() - t0 + exit_readable(d.c, sid, clock() + 30))
    r.fig("launch", "POST /sessions p50", pct(post, 50), "ms", f"n={n}")
    r.fig("launch", "launch->first output p50", pct(first, 50), "ms")
    r.fig("launch", "launch->first output p90", pct(first, 90), "ms")
    r.fig("launch", "quick launch->exit event p50", pct(done, 50), "ms")
    r.fig("launch", "quick launch->exit event p90", pct(done, 90), "ms")


def verify(text: str, blob: dict[str, Any]) -> dict[str, Any]:
    """Compare stored output (PTY CRLF folded to LF) with the blob, byte for byte."""
    stored = text.replace("\r\n", "\n")
    with open(blob["path"]) as f:
        emitted = f.read()
    return {
        "stored_normalized_bytes": len(stored.encode()),
        "emitted_bytes": blob["bytes"],
        "exact_match": stored == emitted,
        "lines_stored": stored.count("\n"),
    }


def emit_and_wait(
    b: Bench, d: Daemon, mib: int, k: int, idle_sleep: float = 0.002
) -> tuple[float, list[str]]:
    """Launch k emitters at once; seconds until every exit event is readable."""
    t0 = clock()
    sids = [d.c.launch(b.project, b.harness, f"emit {mib} s{i}")["id"] for i in range(k)]
    waits: list[BaseException | None] = [None] * k

    def waiter(i: int) -> None:
        try:
            exit_readable(Client(d.sock), sids[i], t0 + 600, idle_sleep)
        except BaseException as e:  # reported by the caller
            waits[i] = e

    threads = [threading.Thread(target=waiter, args=(i,)) for i in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in waits:
        if e is not None:
            raise e
    return clock() - t0, sids


def cpu_figures(r: Results, label: str, cpu: CpuMeter) -> None:
    # CPU time hardly moves with the machine's load, where MiB/s do: it shows what each
    # implementation spends per drain, and with the harnesses' share, how much of the
    # two cores was left to it.
    note = "daemon + its helpers (our session holders included)"
    r.fig("output", f"{label} daemon-side CPU during the drain", cpu.seconds("daemon"), "s", note)
    r.fig("output", f"{label} harnesses' CPU during the drain", cpu.seconds("harness"), "s")


def sc_output(b: Bench, r: Results, d: Daemon) -> None:
    mib = b.args.output_mib or (16 if b.quick else 64)
    blob = b.ensure_blob(mib)
    with CpuMeter(d) as cpu:
        took, (sid,) = emit_and_wait(b, d, mib, 1)
    rd = read_all(d.c, sid, PAGE)
    ver = verify(rd.pop("text"), blob)
    rd.pop("page_seconds")
    r.details("output")["single"] = {"read": rd, "verify": ver, "seconds": took}
    r.fig("output", f"1x{mib}MiB launch->exit readable", round(took, 2), "s")
    r.fig(
        "output",
        "1x drain rate (emitted bytes / time to exit)",
        round(blob["bytes"] / MIB / took, 2),
        "MiB/s",
    )
    r.fig(
        "output",
        "1x stored/emitted (CRLF-normalized)",
        f"{ver['stored_normalized_bytes']}/{blob['bytes']}",
        "bytes",
    )
    r.fig("output", "1x output events stored", rd["kinds"].get("output", 0), "events")
    cpu_figures(r, "1x", cpu)
    k = 4
    with CpuMeter(d) as cpu:
        took, sids = emit_and_wait(b, d, mib, k)
    cpu_figures(r, f"{k}x", cpu)
    per = []
    for s in sids:
        one = read_all(d.c, s, PAGE)
        per.append({"verify": verify(one["text"], blob)})
    stored = sum(p["verify"]["stored_normalized_bytes"] for p in per)
    r.details("output")["concurrent"] = {"per_session": per, "seconds": took}
    r.fig("output", f"{k}x{mib}MiB concurrent: all exits readable", round(took, 2), "s")
    r.fig("output", f"{k}x aggregate drain rate", round(k * blob["bytes"] / MIB / took, 2), "MiB/s")
    r.fig(
        "output", f"{k}x stored/emitted (CRLF-normalized)", f"{stored}/{k * blob['bytes']}", "bytes"
    )
    # The same with waiters that rest 50 ms when a poll finds nothing new: four waiters
    # polling every 2 ms cost a daemon that answers in a fraction of a millisecond far
    # more CPU than one that answers in 25 ms. Both figures are kept.
    took, _ = emit_and_wait(b, d, mib, k, idle_sleep=0.05)
    r.fig(
        "output",
        f"{k}x aggregate drain rate, waiters resting 50 ms",
        round(k * blob["bytes"] / MIB / took, 2),
        "MiB/s",
    )


def sc_event_read(b: Bench, r: Results, d: Daemon) -> None:
    """Reads back a big log written on this scenario's own (fresh) daemon."""
    mib = b.args.output_mib or (16 if b.quick else 64)
    b.ensure_blob(mib)
    _, (sid,) = emit_and_wait(b, d, mib, 1)
    best = min(
        (read_all(d.c, sid, PAGE, collect_text=False) for _ in range(2)), key=lambda x: x["seconds"]
    )
    secs = best["seconds"]
    r.fig(
        "event_read",
        "big log read (best of 2)",
        round(secs, 3),
        "s",
        f"{best['pages']} pages of {PAGE}",
    )
    r.fig("event_read", "big log read rate, events", round(best["events"] / secs, 1), "events/s")
    r.fig(
        "event_read",
        "big log read rate, output payload",
        round(best["output_payload_bytes"] / 1e6 / secs, 2),
        "MB/s",
    )
    r.fig(
        "event_read",
        "big log read rate, wire JSON",
        round(best["wire_bytes"] / 1e6 / secs, 2),
        "MB/s",
    )
    ps = best["page_seconds"]
    r.fig("event_read", "big log page latency p50/p99", f"{pct(ps, 50)}/{pct(ps, 99)}", "ms")


def echo_roundtrips(b: Bench, d: Daemon, prompt: str, n: int) -> dict[str, Any]:
    """Send n tokens as input lines; time each until ``ECHO:<token>`` is readable."""
    sid = d.c.launch(b.project, b.harness, prompt)["id"]
    first_output(d.c, sid, clock() + 30, "ECHO-READY")
    after = None
    evs, after, _, _, _ = d.c.events(sid, None, PAGE)
    while evs:
        evs, nxt, _, _, _ = d.c.events(sid, after, PAGE)
        after = nxt if evs else after
    rtt: list[float] = []
    post: list[float] = []
    lost = 0
    seen = ""
    for i in range(n):
        tok = f"t{i}x{uuid.uuid4().hex[:6]}"
        t0 = clock()
        d.c.input(sid, tok + "\n")
        post.append(clock() - t0)
        want, deadline = f"ECHO:{tok}", t0 + 5
        while clock() < deadline:
            evs, nxt, _, _, _ = d.c.events(sid, after, PAGE)
            if evs:
                after = nxt
                seen = (seen + "".join(ev_data(e) for e in evs if ev_kind(e) == "output"))[-4096:]
            if want in seen:
                rtt.append(clock() - t0)
                break
            time.sleep(0.0005)
        else:
            lost += 1
            if lost >= 20 and not rtt:
                break
    d.c.kill(sid)
    return {"roundtrip": rtt, "post": post, "lost": lost, "sent": len(post)}


def sc_input(b: Bench, r: Results, d: Daemon) -> None:
    """Immediate echo, then a harness that answers 50 ms late (an input written
    before the harness reads it is only found by the delayed run)."""
    for prompt, label, n in (("echo", "", 200), ("echo 0.05", ", 50ms-delayed echo", 100)):
        a = echo_roundtrips(b, d, prompt, n // 4 if b.quick else n)
        note = f"n={len(a['roundtrip'])}, lost={a['lost']}/{a['sent']}"
        if not label:
            r.fig("input", "POST input p50", pct(a["post"], 50), "ms")
        if not a["roundtrip"]:
            r.fig("input", f"input->echo{label}", "all lost", "", note)
            continue
        r.fig("input", f"input->echo{label} p50", pct(a["roundtrip"], 50), "ms", note)
        r.fig("input", f"input->echo{label} p99", pct(a["roundtrip"], 99), "ms")


def run(b: Bench, r: Results, name: str, fn: Callable[..., None], *extra: Any) -> None:
    """Run one scenario on a fresh daemon (``startup`` makes its own); record its status."""
    sc = r.scenarios.setdefault(name, {"status": "running", "details": {}})
    t0 = clock()
    log(f"{name}: start")
    d = None
    try:
        if name == "startup":
            fn(b, r)
        else:
            d = Daemon(b, name)
            d.start()
            fn(b, r, d, *extra)
        sc["status"] = "ok"
    except Unsupported as e:
        sc["status"] = "unsupported"
        r.fig(name, "status", "unsupported", "", e.what)
    except Exception as e:  # one failed scenario does not end the run
        sc["status"] = "error"
        sc["error"] = traceback.format_exc()[-1500:]
        r.fig(name, "status", "error", "", f"{type(e).__name__}: {str(e)[:90]}")
    finally:
        if d is not None:
            d.stop()
    sc["seconds"] = round(clock() - t0, 2)
    log(f"{name}: {sc['status']} in {sc['seconds']}s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--start", required=True, help="shell command that starts the daemon")
    ap.add_argument("--stop", required=True, help="shell command that stops the daemon")
    ap.add_argument("--out", default="driver-results.json")
    ap.add_argument(
        "--scenarios", default="", help="comma list (default all): " + ",".join(SCENARIOS)
    )
    ap.add_argument("--quick", action="store_true", help="small sizes (a minute or two)")
    ap.add_argument("--harness", default="codex", help="harness id sent in POST /sessions")
    ap.add_argument("--tmp", default="/tmp", help="where the short scratch dir goes")
    ap.add_argument("--keep", action="store_true", help="keep the scratch dir")
    ap.add_argument("--label", default="")
    ap.add_argument("--output-mib", type=int, default=0)
    ap.add_argument("--list-sessions", type=int, default=0)
    ap.add_argument("--concurrent-sessions", type=int, default=0)
    ap.add_argument(
        "--ready-sleep", type=int, default=900, help="lifetime of 'ready' harnesses [s]"
    )
    args = ap.parse_args(argv)
    want = [s.strip() for s in args.scenarios.split(",") if s.strip()] or list(SCENARIOS)
    bad = [s for s in want if s not in SCENARIOS]
    if bad:
        ap.error(f"unknown scenario(s) {bad}; known: {', '.join(SCENARIOS)}")
    b = Bench(args)
    r = Results()
    t0 = clock()
    plan: dict[str, tuple[Callable[..., None], tuple[Any, ...]]] = {
        "startup": (sc_startup, ()),
        "health": (sc_health, ()),
        "launch": (sc_launch, ()),
        "output": (sc_output, ()),
        "event_read": (sc_event_read, ()),
        "input": (sc_input, ()),
        "list": (sc_list, ()),
        "concurrency": (sc_concurrency, ()),
    }
    try:
        for name in SCENARIOS:
            if name in want:
                fn, extra = plan[name]
                run(b, r, name, fn, *extra)
    finally:
        leftovers = b.cleanup()
    meta = {
        "label": args.label,
        "start_cmd": args.start,
        "stop_cmd": args.stop,
        "quick": args.quick,
        "scenarios": want,
        "seconds": round(clock() - t0, 1),
        "nproc": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "leftover_harnesses_killed": leftovers,
    }
    out = {"meta": meta, "scenarios": r.scenarios, "table": r.table}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2, default=str))
    for row in r.table:
        print(f"{row[0]:<12} {row[1]:<48} {row[2]!s:<24} {row[3]:<10} {row[4]}")
    print(f"results: {args.out} ({meta['seconds']}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
