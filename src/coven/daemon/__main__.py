"""``python -m coven.daemon``: serve, or one of the offline adapter commands."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

# OpenSSL reads these when a TLS context loads the system's trust store.
_TRUST_STORE_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR")


@contextlib.contextmanager
def no_trust_store() -> Iterator[None]:
    """Inside, a TLS context loads no system CA certificates; the environment is restored after.

    Importing aiohttp builds two TLS client contexts at module level, and loading
    the system CA bundle into them is about a third of aiohttp's import time. The
    daemon serves plain HTTP on a Unix socket and opens no TLS connection with
    those contexts; were one ever used, it would trust nothing and fail closed.
    The daemon has no other threads yet, so nothing else sees the swap.
    """
    saved = {name: os.environ.get(name) for name in _TRUST_STORE_ENV}
    for name in _TRUST_STORE_ENV:
        os.environ[name] = os.devnull
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("adapters", "install-adapter"):
        from coven.daemon.adapters import main as adapters_main

        return adapters_main(args)
    with no_trust_store():
        from coven.daemon.serve import serve

    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
