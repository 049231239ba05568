"""Helpers for the hostile/fault/load tests: a TCP→Unix forwarder, RSS, timed health probes."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.daemon import Daemon, parse_reply, raw_request


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def tcp_forwarder(unix_path: Path) -> Iterator[str]:
    """Listen on 127.0.0.1:<ephemeral> and forward each connection to ``unix_path``.

    Yields the base URL. The daemon sees an AF_UNIX peer with our uid, as usual.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(str(unix_path))
            except OSError:
                client.close()
                upstream.close()
                continue
            pair = (client, upstream)

            def run(
                a: socket.socket, b: socket.socket, pair: tuple[socket.socket, ...] = pair
            ) -> None:
                t = threading.Thread(target=_pump, args=(b, a), daemon=True)
                t.start()
                _pump(a, b)
                t.join(timeout=30)
                for s in pair:
                    s.close()

            threading.Thread(target=run, args=pair, daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=2)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def health_latency(daemon: Daemon, timeout: float = 5.0) -> float:
    """Seconds one ``GET /health`` took; asserts it answered 200."""
    start = time.monotonic()
    reply = parse_reply(
        raw_request(daemon.socket, b"GET /health HTTP/1.1\r\nHost: coven\r\n\r\n", timeout)
    )
    elapsed = time.monotonic() - start
    assert reply.status == 200
    return elapsed


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def daemon_pid(daemon: Daemon) -> int:
    assert daemon.proc is not None
    return daemon.proc.pid
