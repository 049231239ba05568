"""Importing aiohttp without loading the system's CA certificates.

aiohttp builds two TLS client contexts when it is imported, and loading the
system trust store into them is about a third of its import time (~100 ms on a
small machine). Coven talks to its daemon over a Unix socket and never uses
those contexts; were one ever used, it would trust nothing and fail closed.
Only programs that own their process (the daemon, the CLI) use this, before
they start threads: it swaps environment variables for the length of an import.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

# OpenSSL reads these when a TLS context loads the default trust store.
TRUST_STORE_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR")


@contextlib.contextmanager
def no_trust_store() -> Iterator[None]:
    """Inside, a TLS context loads no system CA certificates; the environment is restored after."""
    saved = {name: os.environ.get(name) for name in TRUST_STORE_ENV}
    for name in TRUST_STORE_ENV:
        os.environ[name] = os.devnull
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
