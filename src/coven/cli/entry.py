"""The ``coven`` console script: answers the hottest commands before loading the CLI.

``coven --version``, ``coven sessions --json`` and ``coven daemon status`` are
run by scripts, prompts and status bars many times a minute, so they must start
about as fast as the interpreter does. This module imports the standard library
only (no click, no msgspec, not even ``coven.client``) and answers exactly these
command lines itself:

* ``--version``, ``-V``, ``version``;
* ``sessions|ls|ps`` with ``--json``, ``--plain`` or neither (``--all`` too) when
  stdout is not a terminal (no browser, no colours), against a daemon of this
  very Coven version (whose records are already the shape the full CLI prints);
* ``daemon status [--json]`` when the daemon answers health, or when no trace of
  a daemon exists at all;
* ``--help``, ``-h`` at the top level (``coven.cli.fast_help``), on a terminal of
  80 columns or more or off a terminal;
* ``attach`` with the options whose meaning is certain (``coven.cli.attach_fast``,
  which imports what attaching needs, still not click).

``run`` and ``daemon start`` are not answered here, but when no daemon runs and their
command line is certain this module starts one first (``coven.cli.early_start``), so
the daemon starts while the full CLI loads.

Everything else — any other argument, ``--host``/``$COVEN_HOST``, shell
completion, and every case where the fast path has the slightest doubt (an
unsafe home or socket, an error status, an incompatible or other daemon) — goes
to the full CLI (``coven.cli.main``), which redoes the work and reports errors
in its own words. So this path answers only what the full CLI would answer the
same way, byte for byte; ``tests/e2e/test_cli_fast_path.py`` holds it to that.
"""

from __future__ import annotations

import os
import sys

from coven import __version__

TYPE_CHECKING = False  # typing itself costs a --version more than its whole budget
if TYPE_CHECKING:
    import socket

# Copies of the schema's constants: importing ``coven.schema`` would load msgspec
# (tests/unit/test_cli_imports.py checks the copies stay equal).
API_VERSION = "coven.daemon.v1"
SOCKET_NAME = "coven.sock"
STATUS_FILE_NAME = "daemon.json"
HOST_ENV = "COVEN_HOST"
COMPLETE_VAR = "_COVEN_COMPLETE"
PAGE = 1000  # the full client's page size for ``--all``
_TIMEOUT = 10.0  # the full client's default
_PROBE_TIMEOUT = 2.0  # daemonctl's health probe
_PEERCRED_FORMAT = "3i"  # struct ucred {pid_t pid; uid_t uid; gid_t gid;}
_LISTINGS = ("sessions", "ls", "ps")


class Doubt(Exception):
    """The fast path cannot answer with certainty; the full CLI takes over."""


def home_dir() -> str:
    env = os.environ.get("COVEN_HOME")
    return os.path.abspath(env) if env else os.path.join(os.path.expanduser("~"), ".coven")


def _private(path: str, kind: int) -> None:
    """The same-user checks of ``coven.client.safety``; any failure is a doubt."""
    import stat

    try:
        st = os.lstat(path)
    except OSError as exc:
        raise Doubt(path) from exc
    if stat.S_IFMT(st.st_mode) != kind or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise Doubt(path)


def connect(home: str, timeout: float) -> socket.socket:
    """The home's daemon socket, connected after the client's same-user checks (the
    home, the socket, the peer: ``coven.client.safety``); any failure is a doubt."""
    import socket
    import stat
    import struct

    sock_path = os.path.join(home, SOCKET_NAME)
    _private(home, stat.S_IFDIR)
    _private(sock_path, stat.S_IFSOCK)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(sock_path)
        size = struct.calcsize(_PEERCRED_FORMAT)
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, size)
        if struct.unpack(_PEERCRED_FORMAT, raw)[1] != os.geteuid():
            raise Doubt("peer")
    except OSError as exc:
        sock.close()
        raise Doubt(str(exc)) from exc
    except BaseException:
        sock.close()
        raise
    return sock


def _get(home: str, path: str, timeout: float) -> object:
    """``GET path`` over the home's socket: the JSON body of a 200 answer, else a doubt."""
    import json

    data = b""
    with connect(home, timeout) as sock:
        try:
            request = f"GET {path} HTTP/1.1\r\nHost: coven\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
            sock.sendall(request.encode())
            while chunk := sock.recv(1 << 20):
                data += chunk
        except OSError as exc:
            raise Doubt(str(exc)) from exc
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    if not sep or lines[0].split(" ", 2)[1:2] != ["200"]:
        raise Doubt(lines[0])
    headers = dict(line.lower().split(":", 1) for line in lines[1:] if ":" in line)
    length = headers.get("content-length", "").strip()
    if "transfer-encoding" in headers or not length.isdigit() or int(length) != len(body):
        raise Doubt("framing")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise Doubt("json") from exc


def _our_daemon(home: str) -> None:
    """Health shows the full client's handshake passes and the daemon is this Coven version."""
    doc = _get(home, "/api/v1/health", _TIMEOUT)
    if not isinstance(doc, dict):
        raise Doubt("health")
    caps = doc.get("capabilities")
    if not isinstance(caps, dict):
        raise Doubt("health")
    compatible = (
        doc.get("ok") is True
        and doc.get("apiVersion") == API_VERSION
        and doc.get("covenVersion") == __version__
        and caps.get("structuredErrors") is True
        and caps.get("sessions") is True
        and caps.get("events") is True
        and caps.get("eventCursor") == "sequence"
    )
    if not compatible:
        raise Doubt("handshake")


def session_records(home: str, include_archived: bool) -> list[object]:
    """The session records (JSON objects) of the home's daemon, when it is this Coven's."""
    _our_daemon(home)
    if not include_archived:
        listed = _get(home, "/api/v1/sessions", _TIMEOUT)
        if not isinstance(listed, list):
            raise Doubt("sessions")
        return listed
    records: list[object] = []
    cursor: object = None
    seen: set[str] = set()
    while True:
        query = f"?limit={PAGE}" + (f"&cursor={cursor}" if cursor else "") + "&includeArchived=true"
        page = _get(home, "/api/v1/sessions" + query, _TIMEOUT)
        if not isinstance(page, dict) or not isinstance(page.get("sessions"), list):
            raise Doubt("page")
        records.extend(page["sessions"])
        cursor = page.get("next_cursor")
        if cursor is None:
            return records
        if not isinstance(cursor, str) or not page["sessions"] or cursor in seen:
            raise Doubt("cursor")  # the full client names the protocol error
        if any(c.isspace() or c in "&#" for c in cursor):
            raise Doubt("cursor")
        seen.add(cursor)


def _daemon_status(home: str, as_json: bool) -> tuple[str, str | None]:
    """(stdout, stderr hint) of ``coven daemon status`` when running or plainly stopped."""
    import json

    try:
        health = _get(home, "/api/v1/health", _PROBE_TIMEOUT)
    except Doubt:
        health = None
    if isinstance(health, dict) and health.get("ok") is True:
        info = health.get("daemon")
        if not isinstance(info, dict) or not info:
            raise Doubt("no identity in health")  # the full CLI reads daemon.json then
        pid = info.get("pid")
        pid = pid if isinstance(pid, int) and not isinstance(pid, bool) else None
        sock = info.get("socket")
        sock = sock if isinstance(sock, str) else os.path.join(home, SOCKET_NAME)
        started = info.get("startedAt")
        if as_json:
            doc = {
                "ok": True,
                "pid": pid,
                "socket": sock,
                "started_at": started if isinstance(started, str) else None,
                "status": "running",
            }
            return json.dumps(doc, indent=2, sort_keys=True), None
        pid_part = "" if pid is None else f"pid {pid}, "
        return f"Coven daemon: running ({pid_part}socket {sock})", None
    if any(os.path.lexists(os.path.join(home, n)) for n in (SOCKET_NAME, STATUS_FILE_NAME)):
        raise Doubt("traces of a daemon")  # stale: the full CLI classifies and cleans up
    if as_json:
        doc = {"ok": False, "pid": None, "socket": None, "started_at": None, "status": "stopped"}
        return json.dumps(doc, indent=2, sort_keys=True), None
    return "Coven daemon: not running", "start it with `coven daemon start`"


def _listing(flags: list[str]) -> tuple[str, str | None] | None:
    """``sessions|ls|ps`` with ``--json``, ``--plain``, ``--all``: never the browser or colour."""
    if len(set(flags)) != len(flags) or not set(flags) <= {"--json", "--plain", "--all"}:
        return None
    if {"--json", "--plain"} <= set(flags):
        return None  # a usage error, in click's words
    as_json = "--json" in flags
    if not as_json and sys.stdout.isatty():
        return None  # a terminal gets colours (or the browser)
    records = session_records(home_dir(), "--all" in flags)
    if as_json:
        import json

        return json.dumps({"sessions": records}, indent=2, ensure_ascii=False), None
    from types import SimpleNamespace

    from coven.cli import listing

    if not records:
        return listing.empty_listing("--all" in flags, None)
    try:
        views = [SimpleNamespace(**record) for record in records]  # type: ignore[arg-type]
        if "--plain" in flags:
            return listing.sessions_table(views), listing.NEXT_HINT
        return listing.sessions_overview(
            listing.waiting_first(views), colour=False
        ), listing.NEXT_HINT
    except (TypeError, AttributeError) as exc:
        raise Doubt("record shape") from exc


def _elsewhere() -> bool:
    """Shell completion, or another machine's daemon (``$COVEN_HOST``): the full CLI's."""
    return COMPLETE_VAR in os.environ or bool(os.environ.get(HOST_ENV, "").strip())


def answer(args: list[str]) -> tuple[str, str | None] | None:
    """(stdout, stderr) text for ``args`` when this path can answer it, else ``None``."""
    if args in (["--version"], ["-V"], ["version"]):
        return f"coven v{__version__}", None
    if _elsewhere():
        return None
    if args in (["--help"], ["-h"]):
        from coven.cli import fast_help

        text = fast_help.render()
        return None if text is None else (text, None)
    try:
        if args and args[0] in _LISTINGS:
            return _listing(args[1:])
        if args[:2] == ["daemon", "status"] and args[2:] in ([], ["--json"]):
            return _daemon_status(home_dir(), args[2:] == ["--json"])
    except Doubt:
        return None
    return None


def as_click_echoes(text: str, stream: object) -> str:
    """``text`` and a newline, without escape sequences unless ``stream`` is a terminal (click.echo)."""
    isatty = getattr(stream, "isatty", None)
    if "\x1b" in text and not (callable(isatty) and isatty()):
        import re

        text = re.sub(r"\033\[[0-?]*[ -/]*[@-~]", "", text)  # click's own pattern
    return text + "\n"


def main() -> None:
    """Console-script entry point: the fast answer when there is one, else the full CLI."""
    args = sys.argv[1:]
    if (args[:1] == ["run"] or args == ["daemon", "start"]) and not _elsewhere():
        from coven.cli import early_start

        early_start.start(args, home_dir())  # then the full CLI runs the command
    if args[:1] == ["attach"] and not _elsewhere():
        from coven.cli.attach_fast import run

        code = run(args[1:])
        if code is not None:
            sys.exit(code)
    answered = answer(args)
    if answered is None:
        from coven.cli.main import main as full

        full()
        return
    text, hint = answered
    try:
        # Encoded whole before a byte is written: a stream that cannot take the text
        # (an ASCII-only locale) gets the full CLI, which replaces what it cannot print.
        data = as_click_echoes(text, sys.stdout)
        data.encode(sys.stdout.encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        from coven.cli.main import main as full

        full()
        return
    try:
        sys.stdout.write(data)
        sys.stdout.flush()
        if hint is not None:
            sys.stderr.write(as_click_echoes(hint, sys.stderr))
    except BrokenPipeError:
        # The reader went away (`| head`): nothing left to say, as in the full CLI.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
