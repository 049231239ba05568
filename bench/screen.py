"""Cost of the screen model (coven.screen) on the daemon's hot path, and time to a screen.

    .venv/bin/python bench/screen.py [--flood-mib 64] [--history-mib 1,64,512] [--repeat 3]

Figures (median of ``--repeat`` runs, min-max beside it):

* ``feed`` -- MiB/s of ``ScreenModel.feed`` alone over a flood of mixed output (text,
  SGR colours incl. 256-colour and truecolour, cursor moves, erase-line), fed in 4 KiB
  (a PTY read) and 256 KiB (the reader's flood hand-over) chunks. This is all the model
  adds per byte to draining a session; compare it with the ~85 MiB/s drain.
* ``scan`` -- the same for the pre-scan alone, and ``emulate`` -- libghostty-vt parsing
  the same flood: what feeding every byte to the emulator would cost.
* ``snapshot after N MiB`` -- wall time of ``snapshot()`` (catch-up of the bounded
  backlog + render with up to 1,000 history lines) right after N MiB were fed with no
  render before: time-to-screen of an attach to a session with N MiB of history; for
  the mixed flood (cursor moves keep most lines off the scrollback) and for scrolling
  shell output (full 1,000 lines of history to render). The first render of a process
  also loads the library; ``first render`` reports it alone.
* ``text`` -- ``text()`` after the same, and ``catch-up worst case`` -- the backlog limit
  filled with 3-byte lines (the slowest output per byte for the emulator).

Runs in-process, single-threaded, on whatever else the machine is doing: read the load
average printed at the top.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable

from coven.screen import ScreenModel, native
from coven.screen.model import DEFAULT_BACKLOG_LIMIT
from coven.screen.modes import ModeTracker
from coven.screen.scan import Scanner

MiB = 1024 * 1024
WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "elit", "日本語", "é", "→"]


def mixed_block(size: int, seed: int = 1) -> bytes:
    """Output like an agent's: text lines, colours, cursor moves and line erases."""
    rnd = random.Random(seed)
    parts: list[bytes] = []
    total = 0
    while total < size:
        k = rnd.random()
        if k < 0.5:
            line = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 12))) + "\r\n"
        elif k < 0.75:
            line = (
                f"\x1b[{rnd.randint(30, 37)};1m{rnd.choice(WORDS)}\x1b[0m "
                f"\x1b[38;5;{rnd.randint(0, 255)}m{rnd.choice(WORDS)}"
                f"\x1b[38;2;10;{rnd.randint(0, 255)};30m rgb\x1b[m\r\n"
            )
        else:
            line = f"\x1b[{rnd.randint(1, 24)};{rnd.randint(1, 70)}H{rnd.choice(WORDS)}\x1b[K"
        data = line.encode()
        parts.append(data)
        total += len(data)
    return b"".join(parts)


def scrolling_block(size: int, cols: int) -> bytes:
    """A shell printing long lines (some coloured), no cursor moves: every line reaches
    the scrollback, so snapshots carry full history."""
    parts: list[bytes] = []
    total = 0
    i = 0
    while total < size:
        text = f"{i:08d} " + "build output of a long running command " * 4
        line = text[: cols - 1]
        if i % 5 == 0:
            line = f"\x1b[32m{line[:20]}\x1b[0m{line[20:]}"
        data = (line + "\r\n").encode()
        parts.append(data)
        total += len(data)
        i += 1
    return b"".join(parts)


def chunks(block: bytes, size: int) -> list[bytes]:
    return [block[i : i + size] for i in range(0, len(block), size)]


def rate(total: int, seconds: float) -> float:
    return total / seconds / MiB


def fmt(values: list[float], unit: str) -> str:
    med = statistics.median(values)
    return f"{med:8.1f} {unit}  ({min(values):.1f}-{max(values):.1f})"


def measure(repeat: int, fn: Callable[[], float]) -> list[float]:
    return [fn() for _ in range(repeat)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood-mib", type=int, default=64)
    parser.add_argument("--history-mib", default="1,64,512")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cols", type=int, default=200)
    parser.add_argument("--rows", type=int, default=50)
    args = parser.parse_args()
    cols, rows = args.cols, args.rows

    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}, cpus {os.cpu_count()}")
    block = mixed_block(4 * MiB)
    reps = max(1, args.flood_mib // 4)
    flood_bytes = reps * len(block)
    print(f"flood: {flood_bytes / MiB:.0f} MiB of mixed output, {cols}x{rows}")

    for size in (4096, 256 * 1024):
        pieces = chunks(block, size)

        def feed_once(pieces: list[bytes] = pieces) -> float:
            model = ScreenModel(cols, rows)
            start = time.perf_counter()
            for _ in range(reps):
                for piece in pieces:
                    model.feed(piece)
            elapsed = time.perf_counter() - start
            model.close()
            return rate(flood_bytes, elapsed)

        def scan_once(pieces: list[bytes] = pieces) -> float:
            scanner = Scanner(ModeTracker())
            start = time.perf_counter()
            for _ in range(reps):
                for piece in pieces:
                    scanner.scan(piece)
            return rate(flood_bytes, time.perf_counter() - start)

        print(
            f"feed  {size // 1024:>4} KiB chunks: {fmt(measure(args.repeat, feed_once), 'MiB/s')}"
        )
        print(
            f"scan  {size // 1024:>4} KiB chunks: {fmt(measure(args.repeat, scan_once), 'MiB/s')}"
        )

    def emulate_once() -> float:
        term = native.NativeTerminal(cols, rows, 1000 * cols * 16)
        pieces = chunks(block, 256 * 1024)
        start = time.perf_counter()
        for piece in pieces:
            term.write(piece)
        elapsed = time.perf_counter() - start
        term.close()
        return rate(len(block), elapsed)

    print(
        f"emulate (libghostty-vt, every byte): {fmt(measure(args.repeat, emulate_once), 'MiB/s')}"
    )

    start = time.perf_counter()
    first = ScreenModel(cols, rows)
    first.feed(block[: 64 * 1024])
    first.snapshot()
    print(
        f"first render of the process (loads the library): {(time.perf_counter() - start) * 1e3:.1f} ms"
    )
    first.close()

    payloads = {
        "mixed": block,
        "scrolling": scrolling_block(4 * MiB, cols),
    }
    for label, payload in payloads.items():
        pieces = chunks(payload, 256 * 1024)
        for mib in (int(x) for x in args.history_mib.split(",")):
            loops = max(1, mib * MiB // len(payload))
            head = pieces if mib * MiB >= len(payload) else chunks(payload[: mib * MiB], 256 * 1024)

            def snapshot_once(loops: int = loops, head: list[bytes] = head) -> float:
                model = ScreenModel(cols, rows, history=1000)
                for _ in range(loops):
                    for piece in head:
                        model.feed(piece)
                start = time.perf_counter()
                snap = model.snapshot()
                elapsed = time.perf_counter() - start
                assert snap.data
                model.close()
                return elapsed * 1e3

            times = measure(args.repeat, snapshot_once)
            print(f"snapshot after {mib:>4} MiB of {label} output: {fmt(times, 'ms')}")

    pieces = chunks(block, 256 * 1024)

    def text_once() -> float:
        model = ScreenModel(cols, rows)
        for piece in pieces:
            model.feed(piece)
        start = time.perf_counter()
        model.text()
        elapsed = time.perf_counter() - start
        model.close()
        return elapsed * 1e3

    print(f"text() after 4 MiB: {fmt(measure(args.repeat, text_once), 'ms')}")

    def worst_once() -> float:
        model = ScreenModel(cols, rows)
        worst = b"y\r\n" * (DEFAULT_BACKLOG_LIMIT // 3)
        for piece in chunks(worst, 256 * 1024):
            model.feed(piece)
        start = time.perf_counter()
        model.snapshot()
        elapsed = time.perf_counter() - start
        model.close()
        return elapsed * 1e3

    print(
        f"catch-up worst case (2 MiB of 3-byte lines): {fmt(measure(args.repeat, worst_once), 'ms')}"
    )


if __name__ == "__main__":
    main()
