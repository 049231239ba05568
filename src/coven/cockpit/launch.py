"""``python -m coven.cockpit``: start the cockpit for a Coven home, or reuse the running one.

Prints the address (with the per-launch token) as the first line on stdout,
opens it in the browser unless ``--no-open``, and serves in the foreground
until interrupted. A cockpit already serving this home is reused: its address
is printed (and opened) again and this process exits.

Exit statuses: 0 served or reused; 1 could not start (a sentence on stderr);
2 usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import os
import signal
import socket
import sys
import time
import webbrowser
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from coven.client import AsyncCovenClient, default_home
from coven.client.ssh import runtime_root
from coven.cockpit.cast_agent import CastAgent
from coven.cockpit.daemon_link import DaemonLink
from coven.cockpit.guard import Guard, new_token
from coven.cockpit.remote_hosts import RemoteHosts
from coven.cockpit.server import build_app
from coven.cockpit.state import CockpitState, launch_lock, remove_state, running, write_state

LISTEN_HOST = "127.0.0.1"


class LaunchError(Exception):
    """The cockpit could not start; ``str`` is the sentence to show."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="coven cockpit", description=__doc__)
    parser.add_argument("--home", help="Coven home (default: $COVEN_HOME or ~/.coven)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: free)")
    parser.add_argument("--no-open", action="store_true", help="do not open a browser")
    parser.add_argument(
        "--project-root", help="default project root in the launch form (default: cwd)"
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    return args


def bind(port: int) -> socket.socket:
    """A listening TCP socket on 127.0.0.1 only (never a wildcard address)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LISTEN_HOST, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise LaunchError(f"port {port} is in use; choose another with --port") from exc
        raise LaunchError(f"cannot listen on {LISTEN_HOST}:{port}: {exc.strerror}") from exc
    sock.setblocking(False)
    return sock


def should_open_browser() -> bool:
    """Only where a graphical browser can appear: never take over a text terminal."""
    if sys.platform == "darwin":
        return True
    return bool(
        os.environ.get("BROWSER") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


def announce(url: str, *, reused: bool, open_browser: bool) -> None:
    print(f"Coven cockpit: {url}", flush=True)
    if reused:
        print("(already running for this Coven home; reusing it)", file=sys.stderr, flush=True)
    if open_browser and should_open_browser():
        with contextlib.suppress(Exception):
            webbrowser.open(url)


async def serve(
    sock: socket.socket,
    guard: Guard,
    agent: CastAgent,
    on_ready: Callable[[], None],
    hosts: RemoteHosts | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM/SIGHUP; ``on_ready`` runs once requests are answered.

    Stopping closes every SSH connection the cockpit opened to other hosts.
    """
    app = build_app(guard, agent, hosts=hosts)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    on_ready()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    home = Path(args.home) if args.home else default_home()
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        with launch_lock(home):
            current = running(home)
            if current is not None:
                if args.port and args.port != current.port:
                    print(
                        f"(--port {args.port} ignored: the cockpit already serves port "
                        f"{current.port})",
                        file=sys.stderr,
                    )
                announce(current.url, reused=True, open_browser=not args.no_open)
                return 0
            sock = bind(args.port)
            port = sock.getsockname()[1]
            state = CockpitState(
                os.getpid(), port, new_token(), time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            )
            write_state(home, state)
    except LaunchError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"Error: cannot use the Coven home {home}: {exc.strerror or exc}", file=sys.stderr)
        return 1

    def ready() -> None:
        # Only now: whoever reads the address can use it (and stop us cleanly).
        announce(state.url, reused=False, open_browser=not args.no_open)
        print(f"(serving Coven home {home}; Ctrl-C stops the cockpit)", file=sys.stderr, flush=True)

    try:
        link = DaemonLink(AsyncCovenClient.from_home(home).socket_path)
        agent = CastAgent(link, default_project_root=args.project_root or os.getcwd())
        hosts = RemoteHosts(
            home,
            activity=agent.activity,
            environ=os.environ,
            # Its own control masters, so stopping them never cuts a `coven --host` terminal.
            runtime=runtime_root(os.environ) / f"cockpit-{os.getpid()}",
        )
        asyncio.run(serve(sock, Guard(state.token, port), agent, ready, hosts))
    finally:
        remove_state(home, os.getpid())
    return 0
