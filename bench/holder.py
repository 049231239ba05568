"""The session holder's cost, side by side with reading the PTY directly, in one run.

    .venv/bin/python bench/holder.py [--mib 64] [--repeat 3] [--json FILE]

* ``drain``: ``cat`` of N MiB of printable 1 KiB lines (as ``bench/limits.py`` writes
  them) on a fresh PTY, drained to EOF two ways, interleaved, ``--repeat`` times each:
  ``direct`` — ``coven.pty.spawn`` and a non-blocking epoll reader of the master
  (64 KiB reads until EAGAIN, as the daemon's reader thread does); ``holder`` —
  ``spawn_holder`` and ``HolderHandle.read`` until the end of output, acknowledging
  every batch as a daemon acknowledges committed output. Clock: from the spawn call's
  return to the end of output; MiB/s of bytes received (ONLCR included).
* ``start``: ``spawn_holder`` → handle (READY + identity checks + RESUME) for a harness
  that waits, forked by a ``HolderForkServer`` (as the daemon would) and from a new
  interpreter each, against the bare interpreter start of the same command line
  (``python -I -S -c pass``) and the holder's imports alone.
* ``adopt``: ``adopt_holder`` per session, for that many live holders whose previous
  connection was dropped (what a restarted daemon does for each live session).
* ``rss``: a holder's VmRSS and private dirty memory (``smaps_rollup``: what it costs
  on its own; the rest is shared) once started, both ways, and VmHWM after a drain
  (the unacknowledged-output buffer is bounded at 8 MiB). Drains use the fork server.
* ``cpu``: CPU seconds (user+system) per drain of the direct reader, of the holder and
  of the holder's client. Under a loaded machine these vary far less than MiB/s do:
  they show what the holder adds (its reads of the PTY cost what the direct reader's
  do; the rest is the hop over the socket).

Prints a table; ``--json`` writes every figure. Needs nothing but the repository.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from coven.pty import kill_session_tree, spawn  # noqa: E402
from coven.pty.holder_client import (  # noqa: E402
    HolderForkServer,
    HolderHandle,
    adopt_holder,
    spawn_holder,
)

MIB = 1024 * 1024
LINE = 1024
ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}


def make_blob(path: Path, mib: int) -> None:
    alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    with open(path, "w") as fh:
        for n in range(mib * MIB // LINE):
            k = n % len(alpha)
            body = (alpha[k:] + alpha[:k]) * (LINE // len(alpha) + 2)
            fh.write(f"{n:08d} " + body[: LINE - 10] + "\n")


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain_direct(blob: Path, workdir: str) -> tuple[float, int, float]:
    """Seconds, bytes, and the reader's CPU seconds."""
    child = spawn(["cat", str(blob)], cwd=workdir, env=ENV, rows=24, cols=80)
    got = 0
    ep = select.epoll()
    ep.register(child.master_fd, select.EPOLLIN)
    started = time.perf_counter()
    cpu = _self_cpu()
    try:
        while True:
            ep.poll(1.0)
            while True:
                try:
                    data = os.read(child.master_fd, 64 * 1024)
                except BlockingIOError:
                    break
                except OSError:
                    data = b""
                if not data:
                    return time.perf_counter() - started, got, _self_cpu() - cpu
                got += len(data)
    finally:
        ep.close()
        while child.poll_exit() is None:
            select.select([child.pidfd], [], [], 1.0)
        child.close()


FORKSERVER = HolderForkServer()


def _holder(
    argv: list[str], workdir: str, sock_dir: str, tag: str, fork: bool = True
) -> HolderHandle:
    return spawn_holder(
        argv,
        ENV,
        workdir,
        rows=24,
        cols=80,
        socket_path=os.path.join(sock_dir, f"{tag}.sock"),
        session_id=tag,
        forkserver=FORKSERVER if fork else None,
    )


def _private_dirty_mib(pid: int) -> float:
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _status(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def drain_holder(
    blob: Path, workdir: str, sock_dir: str, tag: str
) -> tuple[float, int, int, float, float]:
    """Seconds, bytes, the holder's VmHWM (KiB), and holder and client CPU seconds."""
    handle = _holder(["cat", str(blob)], workdir, sock_dir, tag)
    holder_pid = handle.identity.holder_pid
    got = 0
    started = time.perf_counter()
    cpu = _self_cpu()
    holder_cpu = _proc_cpu(holder_pid)
    try:
        while True:
            select.select([handle.master_fd], [], [], 1.0)
            while (data := handle.read(4 * MIB)) is not None:
                if data == b"":
                    elapsed = time.perf_counter() - started
                    client = _self_cpu() - cpu
                    held = _proc_cpu(holder_pid) - holder_cpu
                    hwm = _status(holder_pid, "VmHWM")
                    handle.release()
                    return elapsed, got, hwm, held, client
                got += len(data)
                handle.ack(handle.offset)
    finally:
        handle.close()


def _end(handle: HolderHandle) -> None:
    kill_session_tree(handle.pid, grace=1.0)
    with contextlib.suppress(Exception):
        deadline = time.monotonic() + 10
        while handle.read(MIB) != b"" and time.monotonic() < deadline:
            select.select([handle.master_fd], [], [], 0.5)
        handle.release()
    handle.close()


def start_times(workdir: str, sock_dir: str, runs: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {}
    handles: list[HolderHandle] = []
    _holder(["true"], workdir, sock_dir, "warm-up").close()  # starts the fork server
    for way, fork in (("fork", True), ("exec", False)):
        for key in ("spawn_ms", "rss_mib", "private_mib"):
            figures[f"{way}_{key}"] = []
        for n in range(runs):
            began = time.perf_counter()
            handle = _holder(["sleep", "60"], workdir, sock_dir, f"{way}{n}", fork)
            figures[f"{way}_spawn_ms"].append((time.perf_counter() - began) * 1000)
            handles.append(handle)
        time.sleep(0.5)  # settle: a holder has served its first connection
        for handle in handles[-runs:]:
            pid = handle.identity.holder_pid
            figures[f"{way}_rss_mib"].append(_status(pid, "VmRSS") / 1024)
            figures[f"{way}_private_mib"].append(_private_dirty_mib(pid))
    adopts: list[float] = []
    for n, old in enumerate(handles):
        old.close()  # the daemon went away
        began = time.perf_counter()
        handles[n] = adopt_holder(old.socket_path, old.identity, resume_from=old.offset)
        adopts.append((time.perf_counter() - began) * 1000)
    for handle in handles:
        _end(handle)
    bare: list[float] = []
    imports: list[float] = []
    root = str(HERE.parent / "src")
    code = f"import sys;sys.path.insert(0,{root!r});import coven.pty.holder_start"
    for _ in range(runs):
        for target, cmd in (
            (bare, [sys.executable, "-I", "-S", "-c", "pass"]),
            (imports, [sys.executable, "-I", "-S", "-c", code]),
        ):
            began = time.perf_counter()
            subprocess.run(cmd, check=True, env={})
            target.append((time.perf_counter() - began) * 1000)
    return {
        **figures,
        "adopt_ms": adopts,
        "bare_python_ms": bare,
        "python_with_holder_imports_ms": imports,
    }


def summary(values: list[float]) -> str:
    digits = 2 if max(values) < 10 else 1
    low, high = min(values), max(values)
    return f"{statistics.median(values):8.{digits}f}  ({low:.{digits}f}-{high:.{digits}f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, list[float]] = {
        key: []
        for key in (
            "direct_mib_s",
            "holder_mib_s",
            "holder_hwm_mib",
            "direct_cpu_s",
            "holder_cpu_s",
            "client_cpu_s",
        )
    }
    with tempfile.TemporaryDirectory(prefix="cvhb-") as tmp:
        blob = Path(tmp) / "blob.txt"
        make_blob(blob, args.mib)
        runs: list[tuple[str, Callable[[], None]]] = []
        for rep in range(args.repeat):

            def direct() -> None:
                seconds, got, cpu = drain_direct(blob, tmp)
                results["direct_mib_s"].append(got / seconds / MIB)
                results["direct_cpu_s"].append(cpu)

            def held(rep: int = rep) -> None:
                seconds, got, hwm, held_cpu, client_cpu = drain_holder(blob, tmp, tmp, f"d{rep}")
                results["holder_mib_s"].append(got / seconds / MIB)
                results["holder_hwm_mib"].append(hwm / 1024)
                results["holder_cpu_s"].append(held_cpu)
                results["client_cpu_s"].append(client_cpu)

            # Alternate which goes first: the machine's load drifts.
            runs += (
                [("direct", direct), ("holder", held)]
                if rep % 2 == 0
                else [("holder", held), ("direct", direct)]
            )
        for _name, run in runs:
            run()
        results.update(start_times(tmp, tmp, max(10, args.repeat)))
    load = os.getloadavg()
    print(f"holder benchmark: {args.mib} MiB drains x{args.repeat}, load {load[0]:.2f}")
    print(f"{'figure':44} {'median':>8}  (min-max)")
    labels = {
        "direct_mib_s": "drain, direct PTY read [MiB/s]",
        "holder_mib_s": "drain, through the holder, acking [MiB/s]",
        "direct_cpu_s": "CPU per drain: direct reader [s]",
        "holder_cpu_s": "CPU per drain: holder [s]",
        "client_cpu_s": "CPU per drain: holder's client [s]",
        "holder_hwm_mib": "holder peak RSS during a drain [MiB]",
        "fork_rss_mib": "holder RSS, forked [MiB]",
        "fork_private_mib": "holder private dirty, forked [MiB]",
        "exec_rss_mib": "holder RSS, own interpreter [MiB]",
        "exec_private_mib": "holder private dirty, own interpreter [MiB]",
        "fork_spawn_ms": "spawn_holder, forked [ms]",
        "exec_spawn_ms": "spawn_holder, own interpreter [ms]",
        "adopt_ms": "adopt_holder, per session [ms]",
        "bare_python_ms": "ceiling: python -I -S -c pass [ms]",
        "python_with_holder_imports_ms": "python -I -S + holder imports [ms]",
    }
    for key, label in labels.items():
        print(f"{label:44} {summary(results[key])}")
    ratio = statistics.median(results["holder_mib_s"]) / statistics.median(results["direct_mib_s"])
    print(f"{'holder / direct (medians)':44} {ratio:8.2f}")
    if args.json:
        args.json.write_text(json.dumps({"mib": args.mib, "load": load, **results}, indent=1))
    FORKSERVER.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
