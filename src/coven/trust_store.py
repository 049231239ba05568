"""Importing aiohttp without loading the system's CA certificates.

aiohttp builds two TLS client contexts when it is imported, and loading the
system trust store into them is about a third of its import time (~100 ms on a
small machine). The daemon talks over a Unix socket and never uses those
contexts; were one ever used, it would trust nothing and fail closed.

The default trust store is skipped by shadowing ``SSLContext.set_default_verify_paths``
(which ``ssl.create_default_context`` calls) for the length of the import: a
Python-level change, undone after. Swapping ``SSL_CERT_FILE`` instead would call
``setenv``, which is not safe while other threads run, and the daemon imports aiohttp
after its threads have started (``coven.daemon.handover``).
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator

_METHOD = "set_default_verify_paths"


def _trust_nothing(context: ssl.SSLContext) -> None:
    """In place of loading the default CA certificates: load none."""


@contextlib.contextmanager
def no_trust_store() -> Iterator[None]:
    """Inside, a TLS context loads no default CA certificates; everything is as before after."""
    saved = ssl.SSLContext.__dict__.get(_METHOD)  # normally inherited from _ssl._SSLContext
    setattr(ssl.SSLContext, _METHOD, _trust_nothing)
    try:
        yield
    finally:
        if saved is None:
            delattr(ssl.SSLContext, _METHOD)
        else:
            setattr(ssl.SSLContext, _METHOD, saved)
