"""The daemon process: ``python -m coven.daemon --home DIR`` (see ``coven.daemon``).

Start-up order, each step refusing clearly rather than guessing:

1. private umask (harnesses, and git writing lanes and merges, get the one the daemon
   was started with, as a shell's children would); ``COVEN_HOME`` checked (no
   symlink, ours, 0700) before anything is created in it; then ``daemon.log`` (0600,
   no symlink), which also takes stderr when ``--stderr-to-log`` is given;
2. the serve lock ``daemon-serve.lock``, held for life (one daemon per home; a live
   one is never stolen). ``daemon.lock`` is left to CLI commands, which hold it
   briefly while they start or stop a daemon;
3. planted files at the socket/status paths refused; a stale socket reclaimed;
4. redaction config (fail closed), store opened (a corrupt file is refused untouched);
5. recovery: prompt files a crash left in ``prompts/`` are removed; after the runtime
   is built, every session an earlier instance left ``running`` is adopted from its
   holder (``coven.runtime.adoption``) or, with no holder left, reaped and ``orphaned``;
6. the launch the starter handed over on ``--launch-fd``, if any (``handover``: a cold
   ``coven run``'s harness starts while the API loads), answered on the ready pipe,
   where the session's first output follows until the API is up; the API's modules
   load on a worker thread meanwhile;
7. the API (imported only now) on the socket (0600), which listens from step 6 on (a
   client that connects meanwhile waits for its answer), then ``daemon.json`` (0600);
8. readiness reported to the starter on the ``--ready-fd`` pipe.

SIGTERM/SIGINT/SIGHUP stop it gracefully: no new connections, every live
session killed with the reason "daemon shutdown" and its exit recorded, the
store flushed, socket and status file removed, exit status 0. A shutdown asked
for over the API with ``?keepSessions=true`` leaves every session that has a
holder running instead (``coven daemon restart``, ``stop --keep-sessions``). A
connection that asked for the shutdown over the API is held open until the
process exits, so its EOF means "exited".

Harnesses run under holders (``coven.pty.HolderSpawner``) unless ``COVEN_HOLDERS=0``
is set, which makes them the daemon's children (``PtySpawner``) as before.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import stat
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import msgspec

from coven import authority
from coven.daemon import handover
from coven.daemon.frozen import uncollected
from coven.errors import CovenError, HomeRefused
from coven.pty import PtySpawner
from coven.pty.holder_client import HolderForkServer
from coven.pty.holder_spawner import HolderSpawner
from coven.redaction import Redactor, load_redaction_config
from coven.runtime import Runtime, lifecycle
from coven.runtime.spawner import Spawner
from coven.schema.meta import DaemonIdentity
from coven.store import StoreReader, StoreWriter, now_rfc3339, open_store
from coven.trust_store import no_trust_store

if TYPE_CHECKING:
    from collections.abc import Callable

    from aiohttp.web import Server

    from coven.api.app import Api

log = logging.getLogger("coven.daemon")

SOCKET_WATCH_SECONDS = 5.0
LISTEN_BACKLOG = 128  # aiohttp's default


class StartupError(Exception):
    """The daemon cannot start; the message is shown to the user as is."""


def acquire_serve_lock(paths: authority.HomePaths) -> int:
    fd = authority.open_lock_file(paths.serve_lock)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise StartupError(
            f"another Coven daemon is already serving {paths.home}; "
            "use `coven daemon status` or `coven daemon restart`"
        ) from exc
    return fd


def _load_api() -> tuple[ModuleType, type[Api], Callable[[Api], Server]]:
    """aiohttp's ``web`` and the API, imported as ``coven.daemon.__main__`` imports the
    rest: no CA store (``no_trust_store``), no collection (``uncollected``)."""
    with uncollected(), no_trust_store():
        from aiohttp import web

        from coven.api.app import Api, make_server
    return web, Api, make_server


def socket_answers(path: Path) -> bool:
    """Does something accept connections on ``path``?"""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def reclaim_socket(paths: authority.HomePaths) -> None:
    path = paths.socket
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    authority.check_safe_file(path, "socket")
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise StartupError(
            f"refusing to reclaim {path}: it is accessible to other users; remove it yourself"
        )
    if socket_answers(path):
        raise StartupError(f"a process is already serving {path}; refusing to take it over")
    path.unlink()


def listen(paths: authority.HomePaths) -> tuple[socket.socket, int]:
    """The daemon's socket (0600), bound and listening; and its inode (ours to remove)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(paths.socket))
        os.chmod(paths.socket, 0o600)
        sock.listen(LISTEN_BACKLOG)
        return sock, os.stat(paths.socket).st_ino
    except BaseException:
        sock.close()
        raise


def write_status_file(paths: authority.HomePaths, info: dict[str, Any]) -> None:
    path = paths.status_file
    with contextlib.suppress(FileNotFoundError):
        authority.check_safe_file(path, "file")
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(info, indent=2) + "\n")


def remove_own_files(paths: authority.HomePaths, inode: int, pid: int) -> None:
    """Remove our socket and status file — never ones a newer daemon put in their place."""
    with contextlib.suppress(OSError):
        if os.lstat(paths.socket).st_ino == inode:
            paths.socket.unlink()
    with contextlib.suppress(OSError, ValueError):
        if json.loads(paths.status_file.read_text()).get("pid") == pid:
            paths.status_file.unlink()


def recover(writer: StoreWriter, reader: StoreReader, spawner: Spawner, instance_id: str) -> int:
    """Reap what a previous daemon left running and mark those rows ``orphaned``."""
    rows = [r for r in reader.running_sessions() if r.daemon_instance != instance_id]
    reasons: dict[str, list[str]] = {}
    for row in rows:
        killed = False
        if row.pid is not None:
            killed = spawner.reap_orphan(row.pid, row.proc_start)
        previous = row.daemon_instance or "unknown"
        reason = f"daemon instance {previous} stopped without recording this session's exit" + (
            "; its leftover processes were killed" if killed else ""
        )
        reasons.setdefault(reason, []).append(row.id)
    for reason, ids in reasons.items():
        writer.submit(lifecycle.orphan(ids, reason)).result()
    return len(rows)


class Daemon:
    def __init__(
        self,
        home: Path,
        forkserver: HolderForkServer | None = None,
        harness_umask: int | None = None,
    ) -> None:
        self.home = home
        self.forkserver = forkserver  # started early by ``coven.daemon.__main__``, or None
        self.harness_umask = harness_umask
        self.paths = authority.HomePaths(home)
        self.instance_id = str(uuid.uuid4())
        self.stopping: asyncio.Event | None = None
        self.keep_sessions = False
        # Duplicates of the sockets of shutdown requests: never closed by us, so the
        # requester's EOF comes from the kernel when this process exits.
        self.held_until_exit: list[int] = []

    async def run(self, ready_fd: int | None, launch_fd: int | None = None) -> int:
        loop = asyncio.get_running_loop()
        self.stopping = asyncio.Event()
        paths = self.paths
        lock_fd = acquire_serve_lock(paths)
        reclaim_socket(paths)
        redactor = Redactor(load_redaction_config(paths.privacy))
        writer, reader = open_store(str(paths.db))
        spawner: HolderSpawner | PtySpawner
        if os.environ.get("COVEN_HOLDERS", "1") == "0":
            spawner = PtySpawner(str(paths.prompts), self.harness_umask)
            orphaned = recover(writer, reader, spawner, self.instance_id)
        else:
            spawner = HolderSpawner(
                str(self.home),
                stdin_dir=str(paths.prompts),
                forkserver=self.forkserver,
                umask=self.harness_umask,
            )
            orphaned = 0
        # Prompt files are unlinked as soon as they are opened; only a crash in between leaves one.
        spawner.discard_leftovers()
        identity = DaemonIdentity(
            pid=os.getpid(),
            startedAt=now_rfc3339(),
            socket=str(paths.socket.resolve(strict=False)),
        )
        runtime = Runtime(
            loop,
            writer,
            reader,
            spawner=spawner,
            home=self.home,
            env=dict(os.environ),
            instance_id=self.instance_id,
            daemon=identity,
            redactor=redactor,
            user_umask=self.harness_umask,
        )
        adopted = 0
        if isinstance(spawner, HolderSpawner):
            report = runtime.adopt(spawner, self.instance_id)
            adopted, orphaned = len(report.adopted), len(report.orphaned)
            if adopted or orphaned:
                log.info(
                    "adopted %d session(s), orphaned %d in %.3f s",
                    adopted,
                    orphaned,
                    report.seconds,
                )
        # The socket listens before the API is loaded: a client that connects meanwhile
        # (one that saw a cold run's first output, say) waits in its backlog for the
        # answer instead of finding no daemon.
        listening, inode = listen(paths)
        try:
            if launch_fd is not None:
                # The API loads on a worker thread while the launch waits on other
                # processes (git, the fork server, the holder): the launch is answered as
                # soon as it is done, and the API is ready that much sooner.
                loading = asyncio.ensure_future(asyncio.to_thread(_load_api))
                previewing = await self.take_handed_launch(runtime, launch_fd, ready_fd)
                web, Api, make_server = await loading
            else:
                previewing = None
                web, Api, make_server = _load_api()
            api = Api(runtime, self.request_stop)
            runner = web.ServerRunner(make_server(api), handle_signals=False, shutdown_timeout=2.0)
            await runner.setup()
            site = web.SockSite(runner, listening)
            await site.start()
        except BaseException:
            listening.close()
            remove_own_files(paths, inode, os.getpid())
            raise
        write_status_file(paths, msgspec.to_builtins(identity))
        watch = loop.create_task(self.watch_socket(inode))
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(sig, self.request_stop)
        log.info("serving %s (instance %s, %d orphaned)", paths.socket, self.instance_id, orphaned)
        if previewing is not None:  # the API shows the rest; no frame may follow `ready`
            preview, task = previewing
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            log.info("previewed %d byte(s) of its output before the API was up", preview.sent)
        if ready_fd is not None:
            with contextlib.suppress(OSError):
                os.write(ready_fd, b"ready\n")
                os.close(ready_fd)
        await self.stopping.wait()
        watch.cancel()
        log.info("shutting down")
        # Stop accepting first, then end every session and record how it ended.
        await site.stop()
        await runtime.shutdown(self.keep_sessions)
        if isinstance(spawner, HolderSpawner):
            spawner.close()
        await runner.cleanup()
        writer.stop(timeout=10.0)
        reader.close()
        remove_own_files(paths, inode, os.getpid())
        os.close(lock_fd)
        return 0

    async def take_handed_launch(
        self, runtime: Runtime, fd: int, ready_fd: int | None
    ) -> tuple[handover.Preview, asyncio.Task[None]] | None:
        """Launch what the starter wrote on ``fd`` (``handover``); answer on ``ready_fd``,
        where the session's output follows (the task returned) until the API is up."""
        # On a worker thread: the loop already serves adopted sessions' output meanwhile.
        raw = await asyncio.to_thread(handover.read_request, fd)
        if raw is None:
            return None
        status, body, session_id = await handover.launch(runtime, raw)
        log.info("took the launch handed over by the command that started it (%d)", status)
        if ready_fd is None:
            return None
        try:
            os.write(ready_fd, handover.answer_line(status, body))
        except OSError:
            return None
        if session_id is None:
            return None
        preview = handover.Preview(runtime, session_id, ready_fd)
        return preview, asyncio.ensure_future(preview.run())

    async def watch_socket(self, inode: int) -> None:
        """Stop when our socket is gone or replaced: no client could ever reach us again.

        (Someone deleted COVEN_HOME, or replaced the socket.) Without this, such a
        daemon would keep its harnesses running with nobody able to see or stop them.
        """
        while True:
            await asyncio.sleep(SOCKET_WATCH_SECONDS)
            try:
                current = os.stat(self.paths.socket).st_ino
            except OSError:
                current = None
            if current != inode:
                log.warning("socket %s was removed or replaced; shutting down", self.paths.socket)
                self.request_stop()
                return

    def request_stop(self, hold_fd: int | None = None, keep_sessions: bool = False) -> None:
        """Begin a graceful stop; ``hold_fd`` (a connection's socket) stays open until exit.

        ``keep_sessions``: leave sessions that have holders running for the next daemon.
        """
        if hold_fd is not None:
            self.held_until_exit.append(hold_fd)
        if keep_sessions and self.stopping is not None and not self.stopping.is_set():
            self.keep_sessions = True
        if self.stopping is not None:
            self.stopping.set()


def _install_loop() -> None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def serve(argv: list[str] | None = None, forkserver: HolderForkServer | None = None) -> int:
    """Run the daemon until it is asked to stop; the process exit status.

    ``forkserver``: the holders' fork server when the caller started it already."""
    parser = argparse.ArgumentParser(prog="coven-daemon")
    parser.add_argument("--home", required=True)
    parser.add_argument("--ready-fd", type=int, default=None)
    parser.add_argument(
        "--launch-soon",
        action="store_true",
        help="a launch follows at once: start the holders' fork server first "
        "(taken by coven.daemon.__main__)",
    )
    parser.add_argument(
        "--launch-fd",
        type=int,
        default=None,
        help="a pipe on which the starter hands over a launch (coven.daemon.handover)",
    )
    parser.add_argument(
        "--stderr-to-log",
        action="store_true",
        help="once the home is checked, send stderr to daemon.log too (for detached starts)",
    )
    args = parser.parse_args(argv)
    # Everything the daemon creates is private; the user's mask is kept for the harnesses.
    harness_umask = os.umask(0o077)
    ready_fd: int | None = args.ready_fd

    def fail(message: str) -> int:
        if ready_fd is not None:
            with contextlib.suppress(OSError):
                os.write(ready_fd, f"error: {message}\n".encode())
        print(f"coven daemon: {message}", file=sys.stderr)
        return 1

    try:
        home = authority.prepare_home(Path(args.home))
        log_fd = authority.open_log_file(authority.HomePaths(home).log)
    except HomeRefused as exc:
        return fail(exc.message)
    if args.stderr_to_log:
        os.dup2(log_fd, sys.stderr.fileno())
    logging.basicConfig(
        stream=os.fdopen(log_fd, "a", encoding="utf-8", buffering=1),
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    _install_loop()
    try:
        daemon = Daemon(home, forkserver, harness_umask)
        return asyncio.run(daemon.run(ready_fd, args.launch_fd))
    except StartupError as exc:
        return fail(str(exc))
    except CovenError as exc:
        return fail(exc.message)
    except OSError as exc:
        return fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
