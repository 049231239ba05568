"""Keystroke echo latency through `coven attach`, end to end.

A real terminal (pexpect) runs `coven attach <id>` on a session of the fake
codex in ``raw`` mode (it answers every read with ``raw: <hex>``). For each
keystroke we time from writing the byte to the terminal until its answer
appears on the terminal: terminal → CLI → WebSocket → daemon → PTY → harness
→ PTY → daemon → WebSocket → CLI → terminal.

    .venv/bin/python bench/cli_attach_latency.py [--count 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pexpect

REPO = Path(__file__).resolve().parents[1]
COVEN = [sys.executable, "-m", "coven.cli.main"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home, project = Path(tmp) / "home", Path(tmp) / "project"
        project.mkdir()
        env = dict(os.environ)
        env.update(
            COVEN_HOME=str(home),
            FAKE_MODE="raw",
            PATH=f"{REPO / 'tests' / 'fakes' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        )
        run = pexpect.spawn(
            COVEN[0],
            [*COVEN[1:], "run", "codex", "--detach", "bench"],
            env=env,
            cwd=str(project),
            timeout=20,
        )
        run.expect(r"([0-9a-f-]{36})")
        session_id = run.match.group(1).decode()
        run.expect(pexpect.EOF)
        try:
            child = pexpect.spawn(
                COVEN[0],
                [*COVEN[1:], "attach", session_id[:8]],
                env=env,
                cwd=str(project),
                timeout=20,
            )
            child.delaybeforesend = None  # pexpect sleeps 50 ms before each send by default
            child.expect("ready")
            samples = []
            keys = "abcdefghijklmnoprstuvwxyz"  # no `q`: it ends the raw fake
            for i in range(args.count):
                key = keys[i % len(keys)]
                start = time.perf_counter()
                child.send(key)
                child.expect(f"raw: {key.encode().hex()}\r")
                samples.append((time.perf_counter() - start) * 1000)
            child.send("\x1d")
            child.expect(pexpect.EOF)
        finally:
            pexpect.run(" ".join([*COVEN, "daemon", "stop"]), env=env)
    samples.sort()
    p50 = statistics.median(samples)
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    print(
        f"keystroke echo through coven attach: n={len(samples)} "
        f"p50={p50:.2f} ms p95={p95:.2f} ms max={samples[-1]:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
