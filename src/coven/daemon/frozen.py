"""Importing the daemon with the cyclic garbage collector off, then freezing the result."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def uncollected() -> Iterator[None]:
    """No cyclic garbage collection inside; what exists on leaving is never collected.

    Importing the daemon makes ~70k objects that live as long as it does: the
    collector traversed them again and again while they were made (start to ready
    went from 0.27 to 0.24 s without that) and would at every full collection after.
    Frozen, it never looks at them again; it runs as usual for everything made later.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
