"""``python -m coven.daemon``: serve, or one of the offline adapter commands."""

from __future__ import annotations

import os
import sys

from coven.daemon.frozen import uncollected

LAUNCH_SOON = "--launch-soon"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from coven.pty.holder_client import HolderForkServer


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("adapters", "install-adapter"):
        from coven.daemon.adapters import main as adapters_main

        return adapters_main(args)
    with uncollected():
        from coven.pty.dispositions import undo_inherited_ignores

        # Before anything that starts harnesses inherits them (see coven.pty.dispositions).
        undo_inherited_ignores()
        forkserver = _start_forkserver() if LAUNCH_SOON in args else None
        # aiohttp comes later (coven.daemon.serve imports it after a handed-over launch).
        from coven.daemon.serve import serve

    return serve(args, forkserver=forkserver)


def _start_forkserver() -> HolderForkServer | None:
    """The holders' fork server, started before the daemon's imports (~0.2 s) when a
    launch is coming (``--launch-soon``: a cold ``coven run``): it is ready on another
    core by the time that launch needs it. Otherwise the first launch starts it, so a
    daemon nobody has launched anything with does not carry its ~18 MiB. ``None`` when
    harnesses are the daemon's children (``COVEN_HOLDERS=0``)."""
    if os.environ.get("COVEN_HOLDERS", "1") == "0":
        return None
    from coven.pty.holder_client import HolderForkServer

    forkserver = HolderForkServer()
    forkserver.start()
    return forkserver


if __name__ == "__main__":
    sys.exit(main())
