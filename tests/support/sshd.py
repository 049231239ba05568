"""A real SSH server for the tests, built on asyncssh: ``python -m tests.support.sshd``.

It stands in for the sshd of another machine. It listens on 127.0.0.1 (an
ephemeral port, printed as ``listening PORT`` on stdout once it accepts), takes
public-key logins for the keys in ``--authorized-keys`` only, and supports the
two things ``coven --host`` asks of a server:

* exec requests: the command runs under ``/bin/sh -c`` with exactly the
  environment in ``--env-file`` (a JSON object: the "remote" machine's PATH and
  COVEN_HOME) and ``--cwd`` as its working directory, stdio wired to the channel
  and its exit status returned;
* direct-streamlocal channels (what ``ssh -L local.sock:remote.sock`` opens):
  connected to the named Unix socket.

Every accepted connection, exec and socket forward is appended as one line to
``--log`` so tests can count connections. The server exits on SIGTERM or when
its stdin closes (the test that started it went away).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

import asyncssh


class _Log:
    def __init__(self, path: Path) -> None:
        self.path = path

    def line(self, text: str) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")


class _Server(asyncssh.SSHServer):
    def __init__(self, log: _Log) -> None:
        self.log = log

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.log.line("connect")

    def begin_auth(self, username: str) -> bool:
        return True  # every user must authenticate

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def unix_connection_requested(self, dest_path: str) -> bool:
        self.log.line(f"forward {dest_path}")
        return True  # asyncssh connects to dest_path and relays the channel


async def _pump(reader: asyncio.StreamReader, writer: Any) -> None:
    while chunk := await reader.read(65536):
        writer.write(chunk)
    await writer.drain()


async def _feed(reader: Any, proc: asyncio.subprocess.Process) -> None:
    assert proc.stdin is not None
    try:
        while chunk := await reader.read(65536):
            proc.stdin.write(chunk)
            await proc.stdin.drain()
    except (BrokenPipeError, ConnectionResetError, asyncssh.Error):
        pass
    finally:
        proc.stdin.close()


def _exec_handler(env: dict[str, str], cwd: str, log: _Log) -> Any:
    async def handle(process: asyncssh.SSHServerProcess[bytes]) -> None:
        command = process.command
        if not command:
            process.stderr.write(b"this test server only runs commands\n")
            process.exit(1)
            return
        log.line(f"exec {command}")
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            command,
            env=env,
            cwd=cwd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert proc.stdout is not None and proc.stderr is not None
        feeder = asyncio.ensure_future(_feed(process.stdin, proc))
        await asyncio.gather(_pump(proc.stdout, process.stdout), _pump(proc.stderr, process.stderr))
        code = await proc.wait()
        feeder.cancel()
        process.exit(code if code >= 0 else 128 - code)

    return handle


async def _serve(args: argparse.Namespace) -> None:
    env = json.loads(Path(args.env_file).read_text(encoding="utf-8"))
    log = _Log(Path(args.log))
    server = await asyncssh.create_server(
        lambda: _Server(log),
        "127.0.0.1",
        0,
        server_host_keys=[args.host_key],
        authorized_client_keys=args.authorized_keys,
        process_factory=_exec_handler(env, args.cwd, log),
        encoding=None,
        allow_pty=False,
        x11_forwarding=False,
        agent_forwarding=False,
    )
    port = server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.read(1) else None)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host-key", required=True)
    parser.add_argument("--authorized-keys", required=True)
    parser.add_argument("--env-file", required=True)
    parser.add_argument("--cwd", required=True)
    parser.add_argument("--log", required=True)
    asyncio.run(_serve(parser.parse_args()))


if __name__ == "__main__":
    main()
