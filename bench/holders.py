"""Sessions under holders, measured through a real daemon: drain, adoption, holder memory.

    .venv/bin/python bench/holders.py [--mib 64] [--repeat 3] [--sessions 10] [--json FILE]

Each repetition starts fresh daemons (own COVEN_HOME, the fake harnesses of
``tests/fakes``) and measures, through the HTTP API as a client:

* ``drain holders`` / ``drain direct`` [MiB/s]: one fake harness writes ``--mib`` MiB as
  fast as the PTY takes it; emitted bytes / time from launch until its ``exit`` event
  is readable — with holders (the default) and with ``COVEN_HOLDERS=0`` (harnesses as
  the daemon's children, as before), interleaved; ``stored`` checks byte-identity;
* ``adopt per session`` [ms]: ``--sessions`` idle sessions, ``stop --keep-sessions``,
  then the time the next daemon's log reports for adopting them all, per session;
  ``restart`` [s]: from the shutdown request until the new daemon answers with every
  session ``running``;
* ``holder RSS`` [KiB]: VmRSS and private dirty memory (``smaps_rollup``) of one idle
  holder;
* ``crash flood``: ``kill -9`` of the daemon in the middle of ``--mib`` MiB floods of 4
  sessions at once; the next daemon adopts them; bytes lost and duplicated (must be 0).

Needs nothing but the repository. Medians over repetitions are printed.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.daemon import Daemon, daemon_env  # noqa: E402
from tests.support.flood import expected_flood, stored_output  # noqa: E402


def fresh(tmp: Path, **extra: str) -> Daemon:
    home, project = tmp / "home", tmp / "project"
    project.mkdir(exist_ok=True)
    daemon = Daemon(home, daemon_env(home, project, extra))
    daemon.start()
    return daemon


def wait_exit(daemon: Daemon, sid: str, timeout: float = 600.0) -> None:
    after = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        path = f"/api/v1/events?sessionId={sid}&afterSeq={after}&limit=1000"
        page = daemon.call("GET", path, timeout=30).json()
        for event in page["events"]:
            after = event["seq"]
            if event["kind"] == "exit":
                return
        if not page["hasMore"]:
            time.sleep(0.005)
    raise TimeoutError(f"no exit of {sid}")


def body_of(daemon: Daemon, sid: str) -> bytes:
    stored, _kinds = stored_output(daemon, sid)
    return stored.split(b"ready\r\n", 1)[1].removeprefix(b"\r\n")


def drain(mib: int, holders: bool) -> dict[str, float]:
    extra = {"FAKE_BYTES": str(mib * 1024 * 1024)}
    if not holders:
        extra["COVEN_HOLDERS"] = "0"
    with tempfile.TemporaryDirectory(prefix="cvb-") as tmp:
        daemon = fresh(Path(tmp), **extra)
        try:
            started = time.perf_counter()
            sid = daemon.launch("--fake-mode=flood")["id"]
            wait_exit(daemon, sid)
            elapsed = time.perf_counter() - started
            same = body_of(daemon, sid) == expected_flood(mib * 1024 * 1024)
        finally:
            daemon.stop()
    name = "holders" if holders else "direct"
    return {f"drain {name} [MiB/s]": mib / elapsed, f"stored {name} identical": float(same)}


def rss(pid: int) -> tuple[int, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    vm = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    private = int(re.search(r"Private_Dirty:\s+(\d+)", rollup).group(1))  # type: ignore[union-attr]
    return vm, private


def adoption(sessions: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="cvb-") as tmp:
        daemon = fresh(Path(tmp))
        try:
            sids = [daemon.launch("--fake-mode=sleep")["id"] for _ in range(sessions)]
            for sid in sids:
                daemon.wait_output(sid, "ready")
            holders = daemon.holder_pids()
            vm, private = rss(holders[sids[0]])
            started = time.perf_counter()
            daemon.stop_keeping_sessions()
            daemon.start()
            states = {daemon.call("GET", f"/api/v1/sessions/{s}").json()["status"] for s in sids}
            restart = time.perf_counter() - started
            assert states == {"running"}, states
            log = (daemon.home / "daemon.log").read_text()
            found = re.findall(r"adopted (\d+) session\(s\), orphaned (\d+) in ([\d.]+) s", log)
            adopted, orphaned, seconds = found[-1]
            assert int(adopted) == sessions and int(orphaned) == 0, found
        finally:
            daemon.stop()
    return {
        "adopt per session [ms]": 1000 * float(seconds) / sessions,
        f"restart with {sessions} sessions [s]": restart,
        "holder VmRSS [KiB]": vm,
        "holder private dirty [KiB]": private,
    }


def crash_flood(mib: int) -> dict[str, float]:
    total = mib * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="cvb-") as tmp:
        daemon = fresh(Path(tmp), FAKE_BYTES=str(total))
        try:
            sids = [daemon.launch("--fake-mode=flood-after-enter")["id"] for _ in range(4)]
            for sid in sids:
                daemon.wait_output(sid, "ready")
            for sid in sids:
                daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": "\n"})
            time.sleep(0.5)
            daemon.crash()
            daemon.start()
            for sid in sids:
                wait_exit(daemon, sid)
            want = expected_flood(total)
            lost = duplicated = 0
            for sid in sids:
                got = body_of(daemon, sid)
                if got != want:
                    lost += max(0, len(want) - len(got))
                    duplicated += max(0, len(got) - len(want))
                    if len(got) == len(want):
                        lost += 1  # same size, different bytes
        finally:
            daemon.stop()
    return {"crash flood bytes lost": lost, "crash flood bytes duplicated": duplicated}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    runs: list[dict[str, float]] = []
    for rep in range(args.repeat):
        figures: dict[str, float] = {}
        first, second = (True, False) if rep % 2 == 0 else (False, True)
        figures.update(drain(args.mib, first))
        figures.update(drain(args.mib, second))
        figures.update(adoption(args.sessions))
        figures.update(crash_flood(args.mib))
        runs.append(figures)
        print(f"rep {rep + 1}: " + ", ".join(f"{k} {v:.4g}" for k, v in figures.items()))
    print()
    for name in runs[0]:
        values = [run[name] for run in runs]
        spread = f"{min(values):.4g}-{max(values):.4g}"
        print(f"{name:36} {statistics.median(values):10.4g}   ({spread})")
    if args.json is not None:
        args.json.write_text(json.dumps(runs, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
