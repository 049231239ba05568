"""A stand-in daemon for holder tests: spawns a holder, streams and "commits" its output.

Usage: ``python -m tests.fakes.holder_owner SOCKET SESSION_ID BYTES STORE_FILE``

Starts the fake harness in ``flood`` mode (``BYTES`` bytes) under a holder serving
``SOCKET``, prints ``identity <holder_pid> <holder_start> <harness_pid>`` and then, for
every piece of output, appends it to ``STORE_FILE`` (its "store") before acknowledging
it — so the file always holds at least everything acknowledged. Meant to be killed
mid-flood.
"""

from __future__ import annotations

import os
import select
import sys

from coven.pty.holder_client import spawn_holder
from tests.fakes.ptyio import fake_env


def main(argv: list[str]) -> int:
    socket_path, session_id, total, store = argv[1], argv[2], int(argv[3]), argv[4]
    handle = spawn_holder(
        ["codex"],
        fake_env("flood", FAKE_BYTES=str(total)),
        "/",
        rows=24,
        cols=80,
        socket_path=socket_path,
        session_id=session_id,
    )
    ident = handle.identity
    print(f"identity {ident.holder_pid} {ident.holder_start_time} {handle.pid}", flush=True)
    fd = os.open(store, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    while True:
        select.select([handle.master_fd], [], [], 1.0)
        while (data := handle.read(1 << 20)) is not None:
            if data == b"":
                print("end", flush=True)
                return 0
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            handle.ack(handle.offset)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
