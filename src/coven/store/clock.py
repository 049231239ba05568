"""Store timestamps: RFC 3339 UTC, nine fractional digits, ``Z``.

Every timestamp has the same width, so lexical order is time order; list
cursors and ``created_at`` ordering rely on that.
"""

from __future__ import annotations

import time

_NS_PER_S = 1_000_000_000


def format_rfc3339_ns(ns: int) -> str:
    """Format nanoseconds since the Unix epoch as ``YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ``."""
    if ns < 0:
        raise ValueError(f"timestamp before the Unix epoch: {ns}")
    seconds, frac = divmod(ns, _NS_PER_S)
    tm = time.gmtime(seconds)
    if tm.tm_year > 9999:
        raise ValueError(f"timestamp beyond year 9999: {ns}")
    return (
        f"{tm.tm_year:04d}-{tm.tm_mon:02d}-{tm.tm_mday:02d}T"
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d}.{frac:09d}Z"
    )


def now_rfc3339() -> str:
    """The current wall-clock time as a store timestamp."""
    return format_rfc3339_ns(time.time_ns())
