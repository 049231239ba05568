"""Attach time-to-screen, end to end: how long until an attaching client shows the screen.

    .venv/bin/python bench/attach_screen.py [--history-mib 1,64,512] [--attaches 10] [--raw-upto 64]

For each history size, a fresh daemon (its own COVEN_HOME, the fake harnesses of
``tests/fakes`` first on PATH) runs one fake harness that writes that many MiB of
output and then stays alive (``flood`` with ``FAKE_FLOOD_THEN_SLEEP``). Once the
output is stored, ``--attaches`` WebSocket attaches are timed, each from opening the
connection until the ``live`` frame: by then the client holds everything it must
draw (the daemon's screen snapshot, or with ``replay=raw`` the whole stored output).
The raw replay is timed only up to ``--raw-upto`` MiB (it grows with the history;
that is why attach sends the screen). Medians with min-max; the target is <= 300 ms
for the screen at 64 MiB. This is our daemon only: the reference has no attach stream.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.daemon import Daemon, running_daemon  # noqa: E402

MiB = 1024 * 1024


async def time_attach(socket: str, sid: str, replay: str) -> tuple[float, int]:
    """Seconds from connecting until the ``live`` frame, and the bytes received before it."""
    connector = aiohttp.UnixConnector(path=socket)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        url = f"http://coven/api/v1/sessions/{sid}/attach?replay={replay}"
        async with http.ws_connect(url, max_msg_size=0) as ws:
            received = 0
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.BINARY:
                    received += len(msg.data)
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    if json.loads(msg.data)["type"] == "live":
                        return time.perf_counter() - started, received
                else:
                    break
    raise RuntimeError(f"attach to {sid} ended before going live")


def flooded(daemon: Daemon, mib: int) -> str:
    environment = {**daemon.env, "FAKE_BYTES": str(mib * MiB), "FAKE_FLOOD_THEN_SLEEP": "1"}
    sid: str = daemon.launch("--fake-mode=flood", environment=environment, rows=50, cols=160)["id"]
    deadline = time.monotonic() + 60 + mib
    after = 0
    while time.monotonic() < deadline:  # read only new events: the log is large
        events = daemon.events(sid, after)
        if any("flood done" in json.loads(e["payload_json"]).get("data", "") for e in events):
            return sid
        after = events[-1]["seq"] if events else after
        time.sleep(0.2)
    raise RuntimeError(f"{mib} MiB flood not stored in time")


def spread(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):.1f} ms ({min(ms):.1f}-{max(ms):.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history-mib", default="1,64,512")
    parser.add_argument("--attaches", type=int, default=10)
    parser.add_argument("--raw-upto", type=int, default=64)
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    for mib in (int(x) for x in args.history_mib.split(",")):
        with tempfile.TemporaryDirectory(prefix="cas") as tmp, running_daemon(Path(tmp)) as d:
            sid = flooded(d, mib)
            row: dict[str, Any] = {"history MiB": mib}
            replays = ["screen"] + (["raw"] if mib <= args.raw_upto else [])
            for replay in replays:
                times, sizes = [], []
                for _ in range(args.attaches):
                    seconds, size = asyncio.run(time_attach(str(d.socket), sid, replay))
                    times.append(seconds)
                    sizes.append(size)
                row[replay] = spread(times)
                row[f"{replay} bytes"] = int(statistics.median(sizes))
            d.call("POST", f"/api/v1/sessions/{sid}/kill", {})
            results.append(row)
            print(json.dumps(row), flush=True)
    print("\n| history | attach → screen (replay=screen) | bytes | raw replay | bytes |")
    print("|---|---|---|---|---|")
    for r in results:
        raw = r.get("raw", "not timed")
        print(
            f"| {r['history MiB']} MiB | {r['screen']} | {r['screen bytes']:,} | {raw} | "
            f"{r.get('raw bytes', 0):,} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
