"""Where does stored output diverge from what the harness wrote? (our daemon)

    .venv/bin/python bench/integrity.py [--mib 16] [--runs 5] [--sessions 1] [--limit N]

Each run starts a fresh daemon, launches ``--sessions`` driver "emit"
harnesses at once, waits for their exit events, pages the logs back with
``afterSeq`` (``--limit`` per page, default 1000000) and walks
the output events in seq order against the emitted blob (CRLF → LF). It prints
every output event that does not continue the blob where the previous one
ended: its seq, length, where its text really is in the blob (a duplicate
when behind, a gap when ahead), and the page it came on. Exit status 1 when
any run diverged.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402


def read_log(cb: Any, c: Any, sid: str, limit: int) -> list[tuple[int, dict[str, Any]]]:
    """(page number, event) for the whole log of ``sid``."""
    out: list[tuple[int, dict[str, Any]]] = []
    after, page = 0, 0
    while True:
        evs, nxt, more, _, _ = c.events(sid, after=after, limit=limit, timeout=120)
        if not evs:
            return out
        page += 1
        out.extend((page, e) for e in evs)
        if nxt is None or nxt == after or more is False:
            return out
        after = nxt


def check(cb: Any, log: list[tuple[int, dict[str, Any]]], want: str) -> list[str]:
    problems: list[str] = []
    pos = 0
    last_seq = 0
    for page, e in log:
        seq = e.get("seq") or 0
        if seq <= last_seq:
            problems.append(f"seq {seq} after {last_seq} (page {page}): not increasing")
        last_seq = seq
        if cb.ev_kind(e) != "output":
            continue
        t = cb.ev_data(e).replace("\r\n", "\n")
        if want.startswith(t, pos):
            pos += len(t)
            continue
        at = want.find(t[:256]) if t else -1
        where = "not found in blob" if at < 0 else f"found at {at} (delta {at - pos:+d})"
        problems.append(f"seq {seq} page {page} len {len(t)}: expected at {pos}, {where}")
        pos = at + len(t) if at >= 0 else pos + len(t)
    if pos != len(want):
        problems.append(f"stream ends at {pos} of {len(want)}")
    return problems


def one_run(cb: Any, impl: Any, mib: int, sessions: int, limit: int) -> list[str]:
    b = compare.make_bench(cb, impl, quick=True)
    problems: list[str] = []
    try:
        d = cb.Daemon(b, "integrity")
        d.start()
        try:
            blob = b.ensure_blob(mib)
            want = Path(blob["path"]).read_text()
            sids = [
                d.c.launch(b.project, b.harness, f"emit {mib} i{k}")["id"] for k in range(sessions)
            ]
            errs: list[str] = []

            def wait(sid: str) -> None:
                try:
                    cb.wait_exit(cb.Client(d.sock), sid, time.perf_counter() + 600)
                except Exception as e:  # reported below
                    errs.append(f"{sid}: {e!r}")

            ths = [threading.Thread(target=wait, args=(s,)) for s in sids]
            for t in ths:
                t.start()
            for t in ths:
                t.join()
            problems.extend(errs)
            for sid in sids:
                problems.extend(
                    f"{sid[:8]} {p}" for p in check(cb, read_log(cb, d.c, sid, limit), want)
                )
        finally:
            d.stop()
    finally:
        b.cleanup()
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--mib", type=int, default=16)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sessions", type=int, default=1)
    ap.add_argument("--limit", type=int, default=1000000)
    args = ap.parse_args(argv)
    if min(args.mib, args.runs, args.sessions, args.limit) < 1:
        ap.error("sizes must be >= 1")
    cb = compare.load_bench_tool()
    impl = compare.our_impl(argparse.Namespace(ours_start="", ours_stop="", ours_cli_daemon=False))
    bad = 0
    for r in range(args.runs):
        problems = one_run(cb, impl, args.mib, args.sessions, args.limit)
        print(f"run {r}: {'exact' if not problems else f'{len(problems)} problem(s)'}")
        for p in problems[:20]:
            print("   ", p)
        bad += bool(problems)
    print(f"{bad}/{args.runs} runs diverged")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
