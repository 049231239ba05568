"""Measurements bench/driver.py does not make, run against a daemon it started.

* ``attach_echo``: keystroke round trip through our WebSocket attach stream
  (``/api/v1/sessions/<id>/attach``): binary input frame out, ``ECHO:<token>``
  visible in the binary output frames. Tokens not seen within 1 s are lost.
* ``cli_latency``: a CLI command (``coven sessions --json``) end to end, as a
  fresh process each time, against a daemon holding a few sessions.

Both reuse the driver's fake harness (its ``echo`` and ``quick`` prompts) so
the workload is the one the main benchmark uses.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import time
from collections.abc import Sequence
from typing import Any

import aiohttp

ATTACH_TIMEOUT_S = 1.0


def summary_ms(values: Sequence[float]) -> dict[str, float | int]:
    """p50/p99/min/max of a list of seconds, in milliseconds (empty -> n=0)."""
    if not values:
        return {"n": 0}
    s = sorted(values)

    def pct(p: float) -> float:
        k = (len(s) - 1) * p / 100.0
        lo = int(k)
        hi = min(lo + 1, len(s) - 1)
        return s[lo] + (s[hi] - s[lo]) * (k - lo)

    return {
        "n": len(s),
        "p50": round(pct(50) * 1000, 3),
        "p99": round(pct(99) * 1000, 3),
        "min": round(s[0] * 1000, 3),
        "max": round(s[-1] * 1000, 3),
        "mean": round(statistics.fmean(s) * 1000, 3),
    }


async def _attach_echo(sock: str, sid: str, n: int) -> dict[str, Any]:
    lat: list[float] = []
    lost = 0
    texts: list[str] = []
    connector = aiohttp.UnixConnector(path=sock)
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.ws_connect(f"http://localhost/api/v1/sessions/{sid}/attach") as ws,
    ):
        buf = ""

        async def wait_for(needle: str, budget: float) -> bool:
            nonlocal buf
            deadline = time.perf_counter() + budget
            while needle not in buf:
                left = deadline - time.perf_counter()
                if left <= 0:
                    return False
                try:
                    msg = await ws.receive(timeout=left)
                except TimeoutError:
                    return False
                if msg.type == aiohttp.WSMsgType.BINARY:
                    buf += msg.data.decode("utf-8", "replace")
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    texts.append(msg.data[:200])
                else:  # closed or error: nothing more will come
                    return False
            buf = buf[buf.index(needle) + len(needle) :]
            return True

        if not await wait_for("ECHO-READY", 10.0):
            raise RuntimeError(f"attach: no ECHO-READY from {sid}; text frames {texts[:3]}")
        for i in range(n):
            tok = f"K{i:04d}{random.getrandbits(40):010x}"
            t0 = time.perf_counter()
            await ws.send_bytes((tok + "\n").encode())
            if await wait_for("ECHO:" + tok, ATTACH_TIMEOUT_S):
                lat.append(time.perf_counter() - t0)
            else:
                lost += 1
                if not lat and lost >= 20:
                    break
    return {"roundtrip_s": lat, "lost": lost, "sent": len(lat) + lost, "text_frames": texts[:5]}


def attach_echo(bench_mod: Any, bench: Any, daemon: Any, n: int) -> dict[str, Any]:
    """Launch the driver's ``echo`` harness on ``daemon`` and time n keystrokes via attach.

    Returns ``{"roundtrip": summary_ms, "lost": int, "sent": int}``; raises
    ``bench_mod.Unsupported`` when the daemon has no attach route.
    """
    c = daemon.c
    sid = c.launch(bench.project, bench.harness, "echo")["id"]
    try:
        st, raw = c.raw("GET", f"/api/v1/sessions/{sid}/attach")
        # A plain GET on a WebSocket route is refused with 400/426; 404 means no route.
        if st in (404, 405, 501):
            raise bench_mod.Unsupported("WS attach", st, raw)
        res = asyncio.run(_attach_echo(daemon.sock, sid, n))
    finally:
        bench_mod.safe_kill(c, sid)
    return {
        "roundtrip": summary_ms(res["roundtrip_s"]),
        "lost": res["lost"],
        "sent": res["sent"],
        "text_frames": res["text_frames"],
    }


def cli_latency(
    bench: Any, daemon: Any, argv: Sequence[str], n: int, sessions: int = 10
) -> dict[str, Any]:
    """Run ``argv`` n times against ``daemon`` (COVEN_HOME set), after launching
    ``sessions`` quick sessions. Returns latency summary, exit codes and the
    first failure's output (a CLI that is not built yet shows up here)."""
    c = daemon.c
    for i in range(sessions):
        c.launch(bench.project, bench.harness, f"quick CLI{i}")
    time.sleep(0.5)
    env = bench.env_for(daemon.home)
    lat: list[float] = []
    rcs: dict[int, int] = {}
    failure = None
    out_bytes = 0
    for _ in range(n):
        t0 = time.perf_counter()
        p = subprocess.run(list(argv), env=env, capture_output=True, timeout=60, check=False)
        dt = time.perf_counter() - t0
        rcs[p.returncode] = rcs.get(p.returncode, 0) + 1
        if p.returncode == 0:
            lat.append(dt)
            out_bytes = len(p.stdout)
        elif failure is None:
            failure = (p.stdout + p.stderr)[-400:].decode("utf-8", "replace")
    return {
        "argv": list(argv),
        "latency": summary_ms(lat),
        "exit_codes": rcs,
        "stdout_bytes": out_bytes,
        "failure": failure,
        "cwd": os.getcwd(),
    }
