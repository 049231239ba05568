"""A stand-in daemon for holder tests: spawns holders, streams and "commits" their output.

Usage: ``python -m tests.fakes.holder_owner DIR COUNT BYTES``

Starts ``COUNT`` fake harnesses in ``flood`` mode (``BYTES`` bytes each), each under a
holder forked by its own ``HolderForkServer`` and serving ``DIR/<n>.sock`` for session
``s<n>``, prints one line per session, ``identity <n> <holder_pid> <holder_start>
<harness_pid>``, then ``streaming <fork server pid>``. From
then on every piece of output is appended to ``DIR/<n>.store`` (its "store") before
it is acknowledged, so a store file always holds at least everything acknowledged.
Meant to be killed mid-flood; prints ``end <n>`` as each session's output ends.
"""

from __future__ import annotations

import os
import select
import sys

from coven.pty.holder_client import HolderForkServer, HolderHandle, spawn_holder
from tests.fakes.ptyio import fake_env


def main(argv: list[str]) -> int:
    directory, count, total = argv[1], int(argv[2]), int(argv[3])
    handles: dict[int, tuple[int, HolderHandle]] = {}
    forkserver = HolderForkServer()
    for n in range(count):
        handle = spawn_holder(
            ["codex"],
            fake_env("flood", FAKE_BYTES=str(total)),
            "/",
            rows=24,
            cols=80,
            socket_path=os.path.join(directory, f"{n}.sock"),
            session_id=f"s{n}",
            forkserver=forkserver,
        )
        store = os.open(
            os.path.join(directory, f"{n}.store"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
        )
        ident = handle.identity
        print(f"identity {n} {ident.holder_pid} {ident.holder_start_time} {handle.pid}", flush=True)
        handles[handle.master_fd] = (store, handle)
    print(f"streaming {forkserver.pid}", flush=True)
    while handles:
        readable, _, _ = select.select(list(handles), [], [], 1.0)
        for fd in readable:
            store, handle = handles[fd]
            while (data := handle.read(1 << 20)) is not None:
                if data == b"":
                    print(f"end {handle.identity.session_id}", flush=True)
                    del handles[fd]
                    break
                view = memoryview(data)
                while view:
                    view = view[os.write(store, view) :]
                handle.ack(handle.offset)
    forkserver.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
