"""Keeping the user's terminal from answering an agent's old questions.

Agents query the terminal when they start (cursor position ``CSI 6n``, device
attributes ``CSI c``/``CSI > c``, XTVERSION ``CSI > q``, colours ``OSC 11;?``,
mode reports ``CSI ? 2026 $ p``, kitty flags ``CSI ? u``...). The terminal
answers on its input, which an attachment forwards to the harness. Replaying
history would make the attaching terminal answer those queries again, and the
live agent would receive the answers as typed input. Two layers prevent that:

- ``QueryFilter`` removes query sequences from *replayed* output before it
  reaches the terminal. It is streaming: a query split across two chunks is
  still removed (the start is held back until the rest arrives). Live output
  passes unchanged, so queries the agent sends after the replay still work.
- ``ReplyGate`` drops input shaped like a terminal reply while replaying and
  for ``GRACE`` seconds after going live, unless the agent has sent a live
  query since (then replies are expected and pass). It catches answers to any
  query the filter does not know.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

GRACE = 1.0
_MAX_HELD = 4096  # an "incomplete" sequence longer than this is not a query: let it through

_P = rb"[0-9;]*"
# Each alternative is one query the terminal would answer.
_QUERY = re.compile(
    rb"\x1b\[\??" + _P + rb"n"  # DSR: status, cursor position (CPR), DECXCPR, colour scheme...
    rb"|\x1b\[[>=]?" + _P + rb"c"  # primary, secondary, tertiary device attributes
    rb"|\x1b\[>" + _P + rb"q"  # XTVERSION
    rb"|\x1b\[\??" + _P + rb"\$p"  # DECRQM (ANSI and private modes)
    rb"|\x1b\[\?" + _P + rb"u"  # kitty keyboard protocol flags
    rb"|\x1b\[\?" + _P + rb"m"  # XTQMODKEYS
    rb"|\x1b\[(?:1[13-689]|2[01])(?:;" + _P + rb")?t"  # XTWINOPS reports (size, position...)
    rb"|\x1b\[[01]?x"  # DECREQTPARM
    rb"|\x1bP[$+]q[^\x1b\x07]*(?:\x1b\\|\x07)"  # DECRQSS, XTGETTCAP
    # OSC queries: a "?" argument (colours 4/10-19, clipboard 52, and others alike)
    rb"|\x1b\][0-9]+(?:;[^\x07\x1b]*)?;\?(?:;[^\x07\x1b]*)?(?:\x07|\x1b\\)"
    rb"|\x1bZ"  # DECID
    rb"|\x05"  # ENQ (answerback)
)
# The start of an escape sequence that the next chunk may complete into a query.
_QUERY_START = re.compile(
    rb"\x1b(?:\[[?>=]?[0-9;]*\$?|P(?:[$+]q?[^\x1b\x07]*\x1b?)?|\](?:[0-9;]*(?:[^\x07\x1b]*)\x1b?)?)?\Z"
)

# Answers a terminal sends on its input.
_REPLY = re.compile(
    rb"\x1b\[\??[0-9]+;[0-9]+(?:;[0-9]+)?R"  # cursor position report (CPR, DECXCPR)
    rb"|\x1b\[[?>=]" + _P + rb"c"  # device attributes
    rb"|\x1b\[\??" + _P + rb"\$y"  # DECRPM
    rb"|\x1b\[\?" + _P + rb"u"  # kitty keyboard flags
    rb"|\x1b\[\??[0-9]*n"  # DSR status ("CSI 0 n"), colour scheme ("CSI ? 997 ; 1 n")
    rb"|\x1b\[\?" + _P + rb"n"
    rb"|\x1b\[" + _P + rb"t"  # XTWINOPS reports
    rb"|\x1b\[>" + _P + rb"m"  # XTQMODKEYS
    rb"|\x1b\[[23];" + _P + rb"x"  # DECREPTPARM
    rb"|\x1bP[^\x1b]*\x1b\\"  # DCS replies: XTVERSION, DA3, DECRQSS, XTGETTCAP
    rb"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC replies: colours, clipboard
)
# A reply cut off by the end of a read. A lone ESC (the Escape key) is never held.
_REPLY_START = re.compile(rb"\x1b(?:\[[?>=]?[0-9;]*\$?|P[^\x1b]*\x1b?|\][^\x07\x1b]*\x1b?)\Z")


def _held_start(buf: bytes, pattern: re.Pattern[bytes]) -> int:
    """Where a sequence ``pattern`` says may still be completing begins, or ``len(buf)``."""
    start = max(0, len(buf) - _MAX_HELD)
    index = buf.find(b"\x1b", start)
    while index >= 0:
        if pattern.match(buf, index):
            return index
        index = buf.find(b"\x1b", index + 1)
    return len(buf)


def has_query(data: bytes) -> bool:
    """Does ``data`` contain a terminal query (live output: replies are now expected)?"""
    return _QUERY.search(data) is not None


class QueryFilter:
    """Removes terminal queries from replayed output; see the module docstring.

    ``replay(data)`` answers what to write for a replayed chunk (it may hold a
    possible query's start back); ``live(data)`` answers what to write for a
    live chunk, first finishing a sequence the replay left cut off.
    """

    def __init__(self) -> None:
        self._held = b""

    def replay(self, data: bytes) -> bytes:
        buf = self._held + data
        cut = _held_start(buf, _QUERY_START)
        self._held = buf[cut:]
        return _QUERY.sub(b"", buf[:cut])

    def live(self, data: bytes) -> bytes:
        if not self._held:
            return data
        buf = self._held + data
        self._held = b""
        match = _QUERY.match(buf)
        if match is not None:  # a replayed query completed by live output: still replayed
            return buf[match.end() :]
        if _QUERY_START.match(buf) and len(buf) <= _MAX_HELD:
            self._held = buf
            return b""
        return buf

    def flush(self) -> bytes:
        """What is held back (the stream ended inside a sequence): it is not a query."""
        held, self._held = self._held, b""
        return held


class ReplyGate:
    """Drops terminal replies from input while the terminal may be answering replayed output.

    ``clock`` is ``time.monotonic`` unless a test passes its own. Call
    ``went_live()`` when the replay is over and ``saw_output(data)`` for every
    live chunk written to the terminal.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._live_at: float | None = None
        self._live_query = False
        self._held = b""

    def went_live(self) -> None:
        if self._live_at is None:
            self._live_at = self._clock()

    def saw_output(self, data: bytes) -> None:
        if self._live_at is not None and not self._live_query and has_query(data):
            self._live_query = True

    @property
    def guarding(self) -> bool:
        """True while reply-shaped input is dropped."""
        if self._live_at is None:
            return True
        return not self._live_query and self._clock() - self._live_at < GRACE

    @property
    def pending(self) -> bytes:
        return self._held

    def filter(self, data: bytes) -> bytes:
        """The input to forward; while guarding, replies are removed (split ones too)."""
        buf = self._held + data
        self._held = b""
        if not self.guarding:
            return buf
        cut = _held_start(buf, _REPLY_START)
        self._held = buf[cut:]
        return _REPLY.sub(b"", buf[:cut])

    def flush(self) -> bytes:
        """Release held input (a timer calls this: a cut-off reply completes within a read or two)."""
        held, self._held = self._held, b""
        if held and self.guarding and _REPLY.fullmatch(held):
            return b""
        return held
