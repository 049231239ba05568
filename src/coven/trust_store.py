"""Importing aiohttp without loading the system's CA certificates.

aiohttp builds two TLS client contexts when it is imported, and loading the
system trust store into them is about a third of its import time (~100 ms on a
small machine). The daemon talks over a Unix socket and never uses those
contexts; were one ever used, it would trust nothing and fail closed.

The default trust store is skipped by shadowing ``SSLContext.set_default_verify_paths``
(which ``ssl.create_default_context`` calls) for the length of the import, for the
importing thread only: the daemon imports aiohttp on a worker thread while its other
threads run (``coven.daemon.serve``), and a notification webhook sent meanwhile must
still verify its server. Swapping ``SSL_CERT_FILE`` instead would call ``setenv``,
which is not safe while other threads run, and would reach them all.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Iterator

_METHOD = "set_default_verify_paths"


@contextlib.contextmanager
def no_trust_store() -> Iterator[None]:
    """Inside, a TLS context this thread makes loads no default CA certificates (other
    threads' load them as usual); everything is as before after."""
    saved = ssl.SSLContext.__dict__.get(_METHOD)  # normally inherited from _ssl._SSLContext
    load = getattr(ssl.SSLContext, _METHOD)
    importing = threading.get_ident()

    def only_elsewhere(context: ssl.SSLContext) -> None:
        if threading.get_ident() != importing:
            load(context)

    setattr(ssl.SSLContext, _METHOD, only_elsewhere)
    try:
        yield
    finally:
        if saved is None:
            delattr(ssl.SSLContext, _METHOD)
        else:
            setattr(ssl.SSLContext, _METHOD, saved)
