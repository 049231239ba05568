"""The scale scenarios of ``bench/driver.py``: listing many sessions and holding
many live ones (daemon RSS, idle CPU, time to kill them all)."""

from __future__ import annotations

import os
import threading
import time
import uuid

from driver_core import API, Bench, Client, Daemon, Results, Unsupported, clock, first_output, pct

TERMINAL = ("completed", "killed", "failed", "orphaned")


def proc_rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def proc_cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def helpers(d: Daemon) -> list[int]:
    """The daemon and its descendants that are not harnesses."""
    if d.pid is None:
        return []
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(name))
            except (OSError, IndexError, ValueError):
                continue
    harnesses = set(d.b.harness_pids())
    out, todo = [], [d.pid]
    while todo:
        p = todo.pop()
        if p not in harnesses:
            out.append(p)
            todo.extend(kids.get(p, []))
    return out


def holders(d: Daemon) -> list[int]:
    """Session holders (our daemon's; the reference has none): the harnesses' parents
    that are not the daemon's own descendants (a holder leaves the daemon's tree)."""
    own = set(helpers(d))
    parents = set()
    for pid in d.b.harness_pids():
        try:
            with open(f"/proc/{pid}/stat") as f:
                parents.add(int(f.read().rsplit(")", 1)[1].split()[1]))
        except (OSError, IndexError, ValueError):
            continue
    return sorted(p for p in parents - own if p > 1)


def private_kib(pid: int) -> int:
    """Memory only this process uses (private clean + dirty pages, ``smaps_rollup``)."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except OSError:
        pass
    return total


def rss_kib(d: Daemon) -> int:
    return sum(proc_rss_kib(p) for p in helpers(d))


def cpu_percent(d: Daemon, seconds: float) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    pids = helpers(d)
    before = sum(proc_cpu_ticks(p) for p in pids)
    t0 = clock()
    time.sleep(seconds)
    used = sum(proc_cpu_ticks(p) for p in pids) - before
    return round(100.0 * used / tick / (clock() - t0), 2)


def register(b: Bench, d: Daemon, n: int) -> str:
    """Create n sessions, preferring the cheap external registration route."""
    try:
        body = {
            "id": str(uuid.uuid4()),
            "projectRoot": b.project,
            "harness": b.harness,
            "title": "x",
        }
        d.c.call("POST", f"{API}/sessions/external", body, "POST /sessions/external")
        how, make = "external", 1
    except Unsupported:
        how, make = "quick launches", 0
    todo = list(range(make, n))
    lock = threading.Lock()

    def worker() -> None:
        c = Client(d.sock)
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
            if how == "external":
                body = {
                    "id": str(uuid.uuid4()),
                    "projectRoot": b.project,
                    "harness": b.harness,
                    "title": f"x{i}",
                }
                c.call("POST", f"{API}/sessions/external", body)
            else:
                c.launch(b.project, b.harness, f"quick {i}")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return how


def sc_list(b: Bench, r: Results, d: Daemon) -> None:
    n = b.args.list_sessions or (1000 if b.quick else 10000)
    t0 = clock()
    how = register(b, d, n)
    r.fig("list", "register sessions", f"{n} in {clock() - t0:.1f}s", "sessions", how)
    whole = []
    rows = 0
    for _ in range(5 if b.quick else 20):
        t1 = clock()
        js = d.c.call("GET", f"{API}/sessions")
        whole.append(clock() - t1)
        rows = len(js if isinstance(js, list) else js.get("sessions", []))
    r.fig("list", "GET /sessions unpaginated p50", pct(whole, 50), "ms", f"{rows} rows")
    r.fig("list", "GET /sessions unpaginated p99", pct(whole, 99), "ms")
    pages: list[float] = []
    cursor: str | None = None
    seen = 0
    t0 = clock()
    while True:
        path = f"{API}/sessions?limit=100" + (f"&cursor={cursor}" if cursor else "")
        t1 = clock()
        js = d.c.call("GET", path, what="GET /sessions?limit")
        pages.append(clock() - t1)
        if not isinstance(js, dict):
            raise Unsupported("GET /sessions?limit (no envelope)")
        seen += len(js.get("sessions", []))
        cursor = js.get("next_cursor") or js.get("nextCursor")
        if not cursor:
            break
    trav = {
        "rows": seen,
        "pages": len(pages),
        "page_latency": {"p50": pct(pages, 50), "p99": pct(pages, 99)},
    }
    r.details("list")["paginated"] = {"traversal": trav}
    r.fig(
        "list", "paginated full traversal (limit=100)", round(clock() - t0, 2), "s", f"{seen} rows"
    )


def sc_concurrency(b: Bench, r: Results, d: Daemon) -> None:
    n = b.args.concurrent_sessions or (20 if b.quick else 50)
    idle = 3.0 if b.quick else 10.0
    rss0 = rss_kib(d)
    cpu0 = cpu_percent(d, idle)
    t0 = clock()
    sids = [d.c.launch(b.project, b.harness, f"ready {i}")["id"] for i in range(n)]
    launched = clock() - t0
    for sid in sids:
        first_output(d.c, sid, clock() + 60, "READY")
    # Idle means after the sessions' start-up output has been handled (stored, screens
    # caught up after their 1 s quiet): the same pause for both daemons.
    time.sleep(1.0 if b.quick else 5.0)
    rss = rss_kib(d)
    held = holders(d)
    holder_rss = sum(proc_rss_kib(p) for p in held)
    holder_private = sum(private_kib(p) for p in held)
    tick = os.sysconf("SC_CLK_TCK")
    holder_ticks = sum(proc_cpu_ticks(p) for p in held)
    cpu = cpu_percent(d, idle)
    holder_cpu = round(
        100.0 * (sum(proc_cpu_ticks(p) for p in held) - holder_ticks) / tick / idle, 2
    )
    t0 = clock()
    for sid in sids:
        d.c.kill(sid)
    pending = set(sids)
    while pending and clock() - t0 < 60:
        pending = {s for s in pending if d.c.status_of(s) not in TERMINAL}
    killed = clock() - t0
    r.fig("concurrency", "daemon RSS idle, 0 sessions", round(rss0 / 1024, 1), "MiB")
    r.fig("concurrency", f"daemon RSS, {n} live", round(rss / 1024, 1), "MiB")
    r.fig(
        "concurrency",
        f"daemon CPU idle, {n} live, {int(idle)}s (from 5 s after start-up)",
        cpu,
        "% of 1 core",
        f"0 sessions: {cpu0}%",
    )
    if held:
        r.fig("concurrency", f"session holders, {n} live", len(held), "processes")
        r.fig("concurrency", f"holders RSS, {n} live (sum)", round(holder_rss / 1024, 1), "MiB")
        r.fig(
            "concurrency",
            f"holders private memory, {n} live (sum)",
            round(holder_private / 1024, 1),
            "MiB",
            "what they cost beyond the pages they share",
        )
        r.fig("concurrency", f"holders CPU idle, {n} live (sum)", holder_cpu, "% of 1 core")
    r.fig("concurrency", f"launch {n} (sequential POSTs)", round(launched, 2), "s")
    r.fig(
        "concurrency",
        f"kill {n}: all non-running",
        round(killed, 3),
        "s",
        f"{len(pending)} still running",
    )
    r.fig("concurrency", "daemon RSS after kill", round(rss_kib(d) / 1024, 1), "MiB")


class CpuMeter:
    """CPU seconds (user + system) used while it runs: by the daemon side (the daemon,
    its non-harness descendants and our session holders) and by the harnesses.

    A pass over ``/proc`` every ``interval`` s keeps the last reading of every process
    (holders and harnesses exit before the end, and their time would be lost with them).
    Each new pid's environment is read once to tell the driver's harnesses apart.
    """

    def __init__(self, d: Daemon, interval: float = 0.1) -> None:
        self.d = d
        self.interval = interval
        self.base: dict[int, int] = {}
        self.last: dict[int, int] = {}
        self.side: dict[int, str] = {}  # pid -> "daemon" | "harness"
        self.harness: dict[int, bool] = {}
        self.marker = f"COVEN_DRIVER_RUN={d.b.run}".encode()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _is_harness(self, pid: int) -> bool:
        if pid not in self.harness:
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    self.harness[pid] = self.marker in f.read().split(b"\0")
            except OSError:
                self.harness[pid] = False
        return self.harness[pid]

    def _pass(self) -> dict[int, int]:
        parent: dict[int, int] = {}
        ticks: dict[int, int] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid = int(name)
            parent[pid] = int(fields[1])
            ticks[pid] = int(fields[11]) + int(fields[12])
        root = self.d.pid
        for pid in ticks:
            if pid in self.side:
                continue
            if self._is_harness(pid):
                self.side[pid] = "harness"
                holder = parent.get(pid, 0)
                if holder > 1 and holder not in self.side:
                    self.side[holder] = "daemon"  # our holder, or the reference's daemon
                continue
            p, seen = pid, 0
            while p > 1 and seen < 64:  # the daemon's own tree
                if p == root:
                    self.side[pid] = "daemon"
                    break
                p, seen = parent.get(p, 0), seen + 1
        return ticks

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            for pid, t in self._pass().items():
                if pid in self.side:
                    self.last[pid] = t

    def __enter__(self) -> CpuMeter:
        ticks = self._pass()
        self.base = {pid: ticks[pid] for pid in self.side if pid in ticks}
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        for pid, t in self._pass().items():
            if pid in self.side:
                self.last[pid] = t

    def seconds(self, side: str) -> float:
        tick = os.sysconf("SC_CLK_TCK")
        used = sum(
            t - self.base.get(pid, 0) for pid, t in self.last.items() if self.side[pid] == side
        )
        return round(used / tick, 2)
