"""``python -m coven.daemon``: serve, or one of the offline adapter commands."""

from __future__ import annotations

import sys

from coven.trust_store import no_trust_store


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("adapters", "install-adapter"):
        from coven.daemon.adapters import main as adapters_main

        return adapters_main(args)
    with no_trust_store():  # the daemon opens no TLS connection (see trust_store)
        from coven.daemon.serve import serve

    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
