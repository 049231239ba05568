"""The holder's output buffer: PTY bytes kept until a daemon acknowledges them.

Why not a plain ``bytearray`` grown with ``+=`` and trimmed with ``del buf[:n]``:
CPython reallocates a bytearray whose live part falls under half its allocation
(copying what is left into a new block) and grows it in 12.5 % steps, so during a
flood almost every 4 KiB read landed in memory the process had just been given, and
each such page cost a page fault (measured: 14,000 faults per 64 MiB drained, about a
third of the holder's CPU beyond the reads themselves on this VM). Here the memory (an anonymous map) is
kept while output flows: reads land in place (``os.readv`` into the buffer, no
intermediate ``bytes``), acknowledged bytes only move a start index, and the live part
is moved to the front only when a read would not fit behind it. The block grows by
doubling and goes back to ``INITIAL`` bytes once it has been empty for a while
(``shrink_if_idle``), so an idle holder does not keep a flood's worth of memory.
"""

from __future__ import annotations

import mmap
import os

INITIAL = 256 * 1024


class OutputBuffer:
    """Bytes at stream offsets ``[base, end)``; ``len`` is ``end - base``."""

    def __init__(self, base: int = 0) -> None:
        self.base = base
        self._mem = _block(INITIAL)
        self._start = 0  # index in _mem of the byte at ``base``
        self._stop = 0  # index in _mem just after the last byte

    def __len__(self) -> int:
        return self._stop - self._start

    @property
    def end(self) -> int:
        return self.base + self._stop - self._start

    @property
    def capacity(self) -> int:
        return len(self._mem)

    def read_from(self, fd: int, size: int) -> int:
        """One ``read(2)`` of at most ``size`` bytes of ``fd`` onto the end; bytes read
        (0 at end of file). Raises what ``os.read`` raises (``BlockingIOError``, ``EIO``)."""
        self._make_room(size)
        with memoryview(self._mem) as view:
            got = os.readv(fd, [view[self._stop : self._stop + size]])
        self._stop += got
        return got

    def view(self, offset: int, size: int) -> memoryview:
        """The bytes at ``[offset, offset + size)``: release the view before the next
        ``read_from`` (a block with a view on it cannot be replaced)."""
        start = self._start + offset - self.base
        if not (self.base <= offset and offset + size <= self.end and size >= 0):
            raise ValueError(f"[{offset}, {offset + size}) is not within [{self.base}, {self.end})")
        return memoryview(self._mem)[start : start + size]

    def discard(self, offset: int) -> None:
        """Forget the bytes below ``offset`` (at most ``end``)."""
        if offset <= self.base:
            return
        offset = min(offset, self.end)
        self._start += offset - self.base
        self.base = offset
        if self._start == self._stop:
            self._start = self._stop = 0

    def shrink_if_idle(self) -> None:
        """Give back a grown block while nothing is kept (call it now and then)."""
        if self._start == self._stop and len(self._mem) > INITIAL:
            self._replace(_block(INITIAL))
            self._start = self._stop = 0

    def close(self) -> None:
        self._mem.close()

    def _make_room(self, size: int) -> None:
        if len(self._mem) - self._stop >= size:
            return
        live = self._stop - self._start
        # Moved to the front when that frees at least half the block (so the moves cost
        # at most one copy of each byte read), else into a block twice the size.
        grow = live + size > len(self._mem) // 2
        target = _block(max(2 * len(self._mem), live + size)) if grow else self._mem
        with memoryview(self._mem) as src, memoryview(target) as dst:
            dst[:live] = src[self._start : self._stop]
        if grow:
            self._replace(target)
        self._start, self._stop = 0, live

    def _replace(self, block: mmap.mmap) -> None:
        self._mem.close()
        self._mem = block


def _block(size: int) -> mmap.mmap:
    # Anonymous memory: pages cost nothing until a read lands in them, and closing
    # the map gives them all back (a bytearray would be zero-filled, every page touched).
    return mmap.mmap(-1, size)
