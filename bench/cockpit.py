"""The cockpit in a real headless Chromium: first paint, keystroke echo, 20 streaming terminals.

    .venv/bin/python bench/cockpit.py [--sessions 1000] [--keys 200] [--streams 20]
                                      [--stream-bytes 1048576] [--json]

Everything runs on this machine: a daemon with the fake harnesses (its own
COVEN_HOME), a cockpit server (``python -m coven.cockpit``) and Debian's
Chromium driven by Playwright (``$COVEN_TEST_CHROMIUM`` or ``chromium`` on PATH).

* **first paint, N sessions** — the daemon holds N sessions (registered external
  sessions, most of them completed, over five projects, plus a few live ones).
  Each sample loads the page (token cookie already set) and takes
  ``performance.now()`` (milliseconds since navigation start) once the list of N
  rows is built and the next frame has been painted. Median of ``--paints`` loads.
  Target ≤ 300 ms.
* **keystroke → echo** — one pane on a fake harness in ``raw`` mode, which
  answers each read with ``raw: <hex>``. In the page, a key goes into xterm.js
  (``Terminal.input``, as typing does) and the clock stops when the answer has
  been parsed into the terminal's buffer: page → WebSocket → cockpit → daemon →
  PTY → harness → PTY → daemon → cockpit → page → xterm. "+frame" adds the wait
  for the next animation frame (when it is on screen). Target p50 ≤ 10 ms.
* **20 terminals streaming** — 20 panes in one page attach to 20 sessions; once
  all are live, each session writes ``--stream-bytes`` of numbered lines as fast
  as it can, all at once. Every
  byte each page WebSocket received is hashed and compared with the output the
  daemon stored for that session: "lost" counts sessions whose bytes differ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import Page, sync_playwright  # noqa: E402
from tests.support.cockpit import Cockpit, chromium_path, running_cockpit  # noqa: E402
from tests.support.daemon import Daemon, running_daemon  # noqa: E402

# Counts every byte each attach WebSocket delivers to the page (installed before the app).
TAP = """
(() => {
  const Real = window.WebSocket;
  window.__streams = {};
  window.WebSocket = class extends Real {
    constructor(url, protocols) {
      super(url, protocols);
      const match = /sessions\\/([^/?]+)\\/attach/.exec(url);
      if (!match) return;
      const id = decodeURIComponent(match[1]);
      const stream = window.__streams[id] ||= { chunks: [], bytes: 0, sockets: 0, exited: false };
      stream.sockets += 1;
      this.addEventListener('message', (event) => {
        if (event.data instanceof ArrayBuffer) {
          stream.chunks.push(new Uint8Array(event.data));
          stream.bytes += event.data.byteLength;
        } else if (String(event.data).includes('"type": "exit"') || String(event.data).includes('"type":"exit"')) {
          stream.exited = true;
        }
      });
    }
  };
})();
"""

PAINTED = """
async () => {
  while (!document.body.dataset.ready) await new Promise((r) => setTimeout(r, 1));
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const painted = performance.now();
  const list = document.getElementById('session-list');
  while (list.dataset.complete !== '1') await new Promise((r) => setTimeout(r, 1));
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  return [painted, performance.now(), document.querySelectorAll('.row').length];
}
"""

ECHO = """
async ([id, count]) => {
  const term = window.__cockpit.terminal(id);
  const parsed = [], framed = [];
  const hex = (c) => c.charCodeAt(0).toString(16).padStart(2, '0');
  const seen = (needle) => {
    const buffer = term.buffer.active;
    for (let y = 0; y <= buffer.cursorY + buffer.baseY; y++) {
      if ((buffer.getLine(y)?.translateToString(true) ?? '').includes(needle)) return true;
    }
    return false;
  };
  for (let i = 0; i < count; i++) {
    term.reset();
    await new Promise((r) => setTimeout(r, 5));
    const keys = 'abcdefghijklmnoprstuvwxyz0123456789';  // no 'q': it ends the raw harness
    const key = keys[i % keys.length];
    const needle = `raw: ${hex(key)}`;
    const t0 = performance.now();
    const done = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no echo of ${needle} in 5 s`)), 5000);
      const sub = term.onWriteParsed(() => {
        if (seen(needle)) { clearTimeout(timer); sub.dispose(); resolve(performance.now()); }
      });
    });
    term.input(key, true);
    const t1 = await done;
    parsed.push(t1 - t0);
    await new Promise((r) => requestAnimationFrame(() => r()));
    framed.push(performance.now() - t0);
  }
  return [parsed, framed];
}
"""

DIGESTS = """
async () => {
  const out = {};
  for (const [id, s] of Object.entries(window.__streams)) {
    const all = new Uint8Array(s.bytes);
    let at = 0;
    for (const c of s.chunks) { all.set(c, at); at += c.length; }
    const digest = await crypto.subtle.digest('SHA-256', all);
    out[id] = { bytes: s.bytes, sockets: s.sockets, exited: s.exited,
      sha256: Array.from(new Uint8Array(digest)).map((b) => b.toString(16).padStart(2, '0')).join('') };
  }
  return out;
}
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def stored_output(daemon: Daemon, session_id: str) -> bytes:
    parts: list[str] = []
    after = 0
    while True:
        page = daemon.call(
            "GET", f"/api/v1/sessions/{session_id}/events?afterSeq={after}&limit=1000", timeout=60
        ).json()
        for event in page["events"]:
            if event["kind"] == "output":
                parts.append(json.loads(event["payload_json"])["data"])
        if not page["hasMore"]:
            return "".join(parts).encode()
        after = page["nextCursor"]["afterSeq"]


def make_sessions(daemon: Daemon, count: int, root: Path) -> None:
    projects = [root / f"project-{n}" for n in range(5)]
    for project in projects:
        project.mkdir()
    for n in range(count):
        body = {
            "id": f"bench-{n:05d}",
            "projectRoot": str(projects[n % len(projects)]),
            "harness": "codex",
            "title": f"benchmark session {n} — a title of realistic length for the list",
        }
        reply = daemon.call("POST", "/api/v1/sessions/external", body)
        assert reply.status in (200, 201), reply.body
        if n % 50:  # most are finished; one in fifty stays live
            done = daemon.call("POST", f"/api/v1/sessions/bench-{n:05d}/complete", {"exitCode": 0})
            assert done.status == 200, done.body


def open_page(browser: Any, cockpit: Cockpit, width: int = 1600, height: int = 1000) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height})
    page: Page = context.new_page()
    page.add_init_script(TAP)
    page.goto(cockpit.url)  # sets the cookie; later loads need no token
    page.wait_for_selector("body[data-ready]", timeout=60_000)
    return page


def first_paint(browser: Any, cockpit: Cockpit, sessions: int, loads: int) -> dict[str, Any]:
    page = open_page(browser, cockpit)
    samples = []
    complete = []
    for _ in range(loads):
        page.goto(f"{cockpit.origin}/")
        painted, built, rows = page.evaluate(PAINTED)
        assert rows == sessions, f"{rows} rows shown, {sessions} expected"
        samples.append(painted)
        complete.append(built)
    page.context.close()
    return {
        "sessions": sessions,
        "loads": loads,
        "p50_ms": round(statistics.median(samples), 1),
        "max_ms": round(max(samples), 1),
        "all_rows_p50_ms": round(statistics.median(complete), 1),
    }


def keystroke_echo(browser: Any, cockpit: Cockpit, daemon: Daemon, keys: int) -> dict[str, Any]:
    session_id = daemon.launch("--fake-mode=raw", title="echo bench")["id"]
    daemon.wait_output(session_id, "ready")
    page = open_page(browser, cockpit)
    page.locator(f'.row[data-session="{session_id}"] button[data-act=open]').click()
    page.wait_for_function(
        "id => window.__cockpit.paneText(id).includes('ready')", arg=session_id, timeout=30_000
    )
    page.evaluate(ECHO, [session_id, 10])  # warm-up
    parsed, framed = page.evaluate(ECHO, [session_id, keys])
    page.context.close()
    daemon.call("POST", f"/api/v1/sessions/{session_id}/kill")
    return {
        "keys": keys,
        "p50_ms": round(statistics.median(parsed), 2),
        "p90_ms": round(pct(parsed, 0.9), 2),
        "p99_ms": round(pct(parsed, 0.99), 2),
        "p50_with_frame_ms": round(statistics.median(framed), 2),
    }


def streaming(
    browser: Any, cockpit: Cockpit, daemon: Daemon, streams: int, size: int
) -> dict[str, Any]:
    page = open_page(browser, cockpit, width=1800, height=1200)
    ids = [
        daemon.launch("--fake-mode=flood-after-enter", title=f"stream {n}")["id"]
        for n in range(streams)
    ]
    for session_id in ids:
        page.locator(f'.row[data-session="{session_id}"] button[data-act=open]').click()
    for session_id in ids:
        page.wait_for_function(
            "id => window.__cockpit.paneText(id).includes('ready')", arg=session_id
        )
    # Every pane is attached and live: now all twenty start writing at once.
    began = time.monotonic()
    for session_id in ids:
        daemon.call("POST", f"/api/v1/sessions/{session_id}/input", {"data": "\r"})
    for session_id in ids:
        daemon.wait_status(session_id, {"completed", "failed", "killed"}, timeout=300)
    page.wait_for_function(
        "n => Object.values(window.__streams).filter((s) => s.exited).length >= n",
        arg=streams,
        timeout=300_000,
    )
    elapsed = time.monotonic() - began
    received = page.evaluate(DIGESTS)
    lost = 0
    total = 0
    reconnects = 0
    for session_id in ids:
        expected = stored_output(daemon, session_id)
        got = received.get(session_id, {})
        total += got.get("bytes", 0)
        reconnects += max(0, got.get("sockets", 1) - 1)
        if got.get("sha256") != hashlib.sha256(expected).hexdigest():
            lost += 1
            print(
                f"  {session_id}: page got {got.get('bytes')} bytes, daemon stored {len(expected)}",
                file=sys.stderr,
            )
    page.context.close()
    return {
        "terminals": streams,
        "bytes_each": size,
        "received_mib": round(total / 2**20, 1),
        "seconds": round(elapsed, 2),
        "mib_per_s": round(total / 2**20 / elapsed, 1),
        "sessions_with_lost_or_changed_output": lost,
        "resumed_after_overflow": reconnects,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--paints", type=int, default=10)
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--stream-bytes", type=int, default=1024 * 1024)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True)
        root = Path(tmp)
        extra = {"FAKE_BYTES": str(args.stream_bytes)}
        with running_daemon(root, extra) as daemon, running_cockpit(daemon) as cockpit:
            make_sessions(daemon, args.sessions, root)
            results["first_paint"] = first_paint(browser, cockpit, args.sessions, args.paints)
        (root / "b").mkdir()
        with running_daemon(root / "b", extra) as daemon, running_cockpit(daemon) as cockpit:
            results["keystroke_echo"] = keystroke_echo(browser, cockpit, daemon, args.keys)
            results["streaming"] = streaming(
                browser, cockpit, daemon, args.streams, args.stream_bytes
            )
        browser.close()
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        paint, echo, stream = (
            results["first_paint"],
            results["keystroke_echo"],
            results["streaming"],
        )
        print(
            f"first paint, {paint['sessions']} sessions: p50 {paint['p50_ms']} ms "
            f"(max {paint['max_ms']}; every row built: p50 {paint['all_rows_p50_ms']} ms) "
            "— target ≤ 300 ms"
        )
        print(
            f"keystroke → echo in the browser terminal: p50 {echo['p50_ms']} ms, "
            f"p90 {echo['p90_ms']}, p99 {echo['p99_ms']} "
            f"(+frame p50 {echo['p50_with_frame_ms']}) — target p50 ≤ 10 ms"
        )
        print(
            f"{stream['terminals']} terminals x {stream['bytes_each']} bytes streaming: "
            f"{stream['received_mib']} MiB in {stream['seconds']} s "
            f"({stream['mib_per_s']} MiB/s), sessions with lost output: "
            f"{stream['sessions_with_lost_or_changed_output']} "
            f"(resumed after overflow: {stream['resumed_after_overflow']})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
