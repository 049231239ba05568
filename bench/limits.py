"""Ceilings on this machine, to judge the throughput targets against.

    .venv/bin/python bench/limits.py [--mib N] [--repeat N] [--json FILE]

* ``pty``: a child writes N MiB of printable lines (the driver's "emit" blob,
  via ``cat``) into a PTY; a minimal reader (blocking ``os.read`` of 64 KiB in
  a tight loop, nothing else) drains it. MiB/s is the best a PTY reader in
  Python can do here; the daemon also has to coalesce, redact and store.
* ``pty_asyncio``: the same drain through ``loop.add_reader`` (uvloop if
  installed), up to 16 reads per callback, which is how the daemon reads.
* ``sqlite``: insert N MiB as 64 KiB TEXT rows into a fresh file (WAL,
  ``synchronous=NORMAL``, the daemon's 16 KiB pages), one transaction per 64 rows,
  as a single writer thread would; reports MiB/s and rows/s, with checkpoints left
  on automatic.
* ``recorder``: the least a lossless recorder in Python has to do, with nothing
  else: one thread reads the PTY (blocking reads), the main thread decodes UTF-8
  and commits 256 KiB rows to SQLite as above. No HTTP, redaction, events or
  backpressure. The daemon's drain rate is judged against this.
* ``recorder4``: the same for 4 PTYs at once in one process (a reader thread each,
  one thread storing): the ceiling for the 4 x 64 MiB aggregate.
* ``relayed4``: ``recorder4`` with the hop the daemon's holders add (sessions outlive
  the daemon): each PTY is read by a relay process of its own (blocking 64 KiB reads,
  written on to a socket pair, nothing kept), and the recorder reads the sockets.

Stdlib only (plus uvloop when present). Takes about 10-30 s.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import json
import os
import pty
import queue
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

MIB = 1024 * 1024
LINE = 1024
READ = 64 * 1024
RECORDER_ROW = 256 * 1024
PAGE_SIZE = 16384  # as coven.store.database.PAGE_SIZE


def make_blob(path: Path, mib: int) -> None:
    """Printable 1 KiB numbered lines, like the driver's emit harness writes."""
    alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    with open(path, "w") as f:
        for n in range(mib * MIB // LINE):
            k = n % len(alpha)
            body = (alpha[k:] + alpha[:k]) * (LINE // len(alpha) + 2)
            f.write(f"{n:08d} " + body[: LINE - 10] + "\n")


def _spawn_cat(blob: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``cat blob`` on a fresh PTY (raw output side: ONLCR left on, as a harness sees it)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        ["cat", str(blob)], stdin=slave, stdout=slave, stderr=slave, start_new_session=True
    )
    os.close(slave)
    return proc, master


def pty_minimal(blob: Path) -> tuple[float, int]:
    """Seconds and bytes to drain ``cat blob`` through a PTY with blocking 64 KiB reads."""
    proc, master = _spawn_cat(blob)
    got = 0
    t0 = time.perf_counter()
    try:
        while True:
            try:
                b = os.read(master, READ)
            except OSError:  # EIO: the slave side is closed, all output read
                break
            if not b:
                break
            got += len(b)
    finally:
        os.close(master)
        proc.wait()
    return time.perf_counter() - t0, got


def pty_asyncio(blob: Path) -> tuple[float, int]:
    """Same drain through ``loop.add_reader`` with a bounded number of reads per callback."""
    try:
        import uvloop

        runner: Callable[..., object] = uvloop.run
    except ImportError:
        runner = asyncio.run

    async def drain() -> tuple[float, int]:
        loop = asyncio.get_running_loop()
        proc, master = _spawn_cat(blob)
        os.set_blocking(master, False)
        done: asyncio.Future[None] = loop.create_future()
        got = 0

        def on_readable() -> None:
            nonlocal got
            for _ in range(16):
                try:
                    b = os.read(master, READ)
                except BlockingIOError:
                    return
                except OSError:
                    b = b""
                if not b:
                    loop.remove_reader(master)
                    if not done.done():
                        done.set_result(None)
                    return
                got += len(b)

        t0 = time.perf_counter()
        loop.add_reader(master, on_readable)
        await done
        dt = time.perf_counter() - t0
        os.close(master)
        proc.wait()
        return dt, got

    result = runner(drain())
    assert isinstance(result, tuple)
    return result


def _fresh_db(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"PRAGMA page_size = {PAGE_SIZE}")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY, session_id TEXT NOT NULL,"
        " kind TEXT NOT NULL, payload TEXT NOT NULL)"
    )
    return db


def recorder(blob: Path) -> tuple[float, int]:
    """Seconds and bytes to read ``cat blob`` off a PTY and store all of it in SQLite."""
    proc, master = _spawn_cat(blob)
    chunks: queue.SimpleQueue[bytes] = queue.SimpleQueue()

    def read() -> None:
        while True:
            try:
                b = os.read(master, READ)
            except OSError:  # EIO: end of output
                b = b""
            chunks.put(b)
            if not b:
                return

    got = 0
    with tempfile.TemporaryDirectory(prefix="covlim") as d:
        db = _fresh_db(os.path.join(d, "t.sqlite3"))
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        reader = threading.Thread(target=read)
        t0 = time.perf_counter()
        reader.start()
        pending: list[bytes] = []
        size = 0
        while True:
            b = chunks.get()
            pending.append(b)
            size += len(b)
            if size >= RECORDER_ROW or not b:
                text = decoder.decode(b"".join(pending), final=not b)
                db.execute("BEGIN")
                db.execute(
                    "INSERT INTO events (session_id, kind, payload) VALUES ('s1', 'output', ?)",
                    (text,),
                )
                db.execute("COMMIT")
                got += size
                pending, size = [], 0
            if not b:
                break
        dt = time.perf_counter() - t0
        reader.join()
        db.close()
    os.close(master)
    proc.wait()
    return dt, got


def recorder4(blob: Path, sessions: int = 4) -> tuple[float, int]:
    """Seconds and bytes for ``sessions`` PTYs drained and stored at once by one process.

    One reader thread per PTY (blocking reads), one thread decoding each session's
    bytes and committing 256 KiB rows, as ``recorder`` does for one: the least a Python
    recorder has to do for the 4 x 64 MiB aggregate figure.
    """
    spawned = [_spawn_cat(blob) for _ in range(sessions)]

    def read_pty(master: int) -> bytes:
        try:
            return os.read(master, READ)
        except OSError:  # EIO: end of output
            return b""

    try:
        return _store_all([lambda m=m: read_pty(m) for _proc, m in spawned])
    finally:
        for proc, master in spawned:
            os.close(master)
            proc.wait()


def _store_all(sources: list[Callable[[], bytes]]) -> tuple[float, int]:
    """Read every source on a thread of its own until it answers ``b""``, and store it all
    from this thread in 256 KiB rows (decoded, one commit each); seconds and bytes."""
    chunks: queue.SimpleQueue[tuple[int, bytes]] = queue.SimpleQueue()

    def read(index: int, source: Callable[[], bytes]) -> None:
        while True:
            b = source()
            chunks.put((index, b))
            if not b:
                return

    got = 0
    with tempfile.TemporaryDirectory(prefix="covlim") as d:
        db = _fresh_db(os.path.join(d, "t.sqlite3"))
        decoders = [codecs.getincrementaldecoder("utf-8")("replace") for _ in sources]
        pending: list[list[bytes]] = [[] for _ in sources]
        sizes = [0] * len(sources)
        readers = [threading.Thread(target=read, args=(i, s)) for i, s in enumerate(sources)]
        t0 = time.perf_counter()
        for reader in readers:
            reader.start()
        open_sessions = len(sources)
        while open_sessions:
            i, b = chunks.get()
            pending[i].append(b)
            sizes[i] += len(b)
            if sizes[i] >= RECORDER_ROW or not b:
                text = decoders[i].decode(b"".join(pending[i]), final=not b)
                db.execute("BEGIN")
                db.execute(
                    "INSERT INTO events (session_id, kind, payload) VALUES (?, 'output', ?)",
                    (f"s{i}", text),
                )
                db.execute("COMMIT")
                got += sizes[i]
                pending[i], sizes[i] = [], 0
            if not b:
                open_sessions -= 1
        dt = time.perf_counter() - t0
        for reader in readers:
            reader.join()
        db.close()
    return dt, got


# The least a holder does: read the PTY, pass every byte on (no buffer, no acks).
_RELAY = """\
import os, sys
pty_fd, out_fd = int(sys.argv[1]), int(sys.argv[2])
while True:
    try:
        data = os.read(pty_fd, 65536)
    except OSError:  # EIO: end of output
        data = b""
    if not data:
        break
    view = memoryview(data)
    while view:
        view = view[os.write(out_fd, view):]
"""


def relayed4(blob: Path, sessions: int = 4) -> tuple[float, int]:
    """``recorder4`` with a relay process between each PTY and the recorder (the holders'
    hop): the ceiling for the 4 x 64 MiB aggregate of a daemon whose sessions outlive it."""
    spawned = [_spawn_cat(blob) for _ in range(sessions)]
    relays: list[subprocess.Popen[bytes]] = []
    sockets: list[socket.socket] = []
    for _proc, master in spawned:
        ours, theirs = socket.socketpair()
        relays.append(
            subprocess.Popen(
                [sys.executable, "-c", _RELAY, str(master), str(theirs.fileno())],
                pass_fds=(master, theirs.fileno()),
            )
        )
        theirs.close()
        os.close(master)  # the relay holds it now: EIO reaches it, not us
        sockets.append(ours)
    try:
        return _store_all([lambda s=sock: s.recv(RECORDER_ROW) for sock in sockets])
    finally:
        for sock in sockets:
            sock.close()
        for proc, _master in spawned:
            proc.wait()
        for relay in relays:
            relay.wait()


def sqlite_insert(mib: int, batch: int = 64) -> tuple[float, int]:
    """Seconds to insert ``mib`` MiB as 64 KiB TEXT rows (WAL, NORMAL), and the row count."""
    row = ("x" * 1023 + "\n") * 64
    rows = mib * MIB // len(row)
    with tempfile.TemporaryDirectory(prefix="covlim") as d:
        db = _fresh_db(os.path.join(d, "t.sqlite3"))
        t0 = time.perf_counter()
        done = 0
        while done < rows:
            n = min(batch, rows - done)
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO events (session_id, kind, payload) VALUES (?, 'output', ?)",
                [("s1", row)] * n,
            )
            db.execute("COMMIT")
            done += n
        dt = time.perf_counter() - t0
        db.close()
    return dt, rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--mib", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", default="", help="also write the results here")
    args = ap.parse_args(argv)
    if args.mib < 1 or args.repeat < 1:
        ap.error("--mib and --repeat must be >= 1")
    res: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="covlim") as d:
        blob = Path(d) / "blob"
        make_blob(blob, args.mib)
        for name, fn in (
            ("pty_minimal", pty_minimal),
            ("pty_asyncio", pty_asyncio),
            ("recorder", recorder),
            ("recorder4", recorder4),
            ("relayed4", relayed4),
        ):
            rates = []
            for _ in range(args.repeat):
                dt, got = fn(blob)
                rates.append(got / MIB / dt)
            res[name] = {"MiB_per_s": [round(r, 1) for r in rates], "bytes_read_last": got}
    rates, rows_s = [], []
    for _ in range(args.repeat):
        dt, rows = sqlite_insert(args.mib)
        rates.append(args.mib / dt)
        rows_s.append(rows / dt)
    res["sqlite_64k_rows"] = {
        "MiB_per_s": [round(r, 1) for r in rates],
        "rows_per_s": [round(r) for r in rows_s],
    }
    print(
        f"limits on this machine ({args.mib} MiB, {args.repeat} reps, nproc={os.cpu_count()}, "
        f"load {os.getloadavg()[0]:.2f}):"
    )
    for name, r in res.items():
        v = r["MiB_per_s"]
        assert isinstance(v, list)
        print(f"  {name:16s} median {statistics.median(v):7.1f} MiB/s  (runs {v})")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
