#!/usr/bin/env python3
"""A configurable stand-in for a coding-agent CLI (codex, claude, ...), stdlib only.

Run it through ``tests/fakes/bin/<name>`` (symlinks) so ``<name>`` is its
harness name. On start it prints, one per line::

    FAKE[<name>] argv=<json list of the arguments after argv[0]>
    cwd=<os.getcwd()>
    isatty=<0|1>                      (isatty of fd 0)
    tty=<ttyname of fd 0 or ->
    noflsh=<0|1|->                    (NOFLSH in the terminal's local modes)
    size=<rows> <cols>                (TIOCGWINSZ on fd 0, or "- -")
    ids pid=<pid> pgid=<pgid> sid=<sid>
    env <NAME>=<value>                (for each name in FAKE_PRINT_ENV, comma separated;
                                       "<unset>" when missing)
    envdigest <NAME>=<sha256 hex>     (for each name in FAKE_DIGEST_ENV: proves the value
                                       arrived without printing it; "<unset>" when missing)

then runs the mode given by ``--fake-mode=<mode>`` in argv or env ``FAKE_MODE``
(default ``echo``), printing ``ready`` once it is set up:

- ``echo``: read lines from stdin, print ``echo: <line>``; exit 0 on ``exit`` or EOF.
  A line ``rollout <id>`` first does what Codex does once its thread starts: writes a
  rollout file (first record ``session_meta`` with ``id`` and this ``cwd``) under
  ``$CODEX_HOME/sessions`` (else ``$HOME/.codex/sessions``) of its own environment.
  A line ``later <seconds> <text>`` also prints ``late: <text>`` that many seconds later.
- ``exit``: exit with code ``FAKE_EXIT`` (default 0).
- ``flood``: write ``FAKE_BYTES`` bytes of ``flood_chunks()`` text as fast as it can, exit 0
  (with ``FAKE_FLOOD_THEN_SLEEP`` set: print ``flood done`` and sleep instead).
- ``flood-after-enter``: the same, once a line has been read (so watchers can attach first).
- ``ignore-signals``: ignore SIGHUP/SIGTERM/SIGINT, fork a child that ignores them too,
  print ``pids <self> <child>``, sleep forever. With ``FAKE_SETSID_CHILD=1`` the child
  calls setsid() (leaves the session); with ``FAKE_CHILD_OWN_GROUP=1`` it moves to its
  own process group (stays in the session, like a shell's background job).
- ``linger`` / ``linger-escaped``: fork a child that keeps the terminal open (for
  ``-escaped`` it first calls setsid(), out of the session's reach), print
  ``child <pid> holds the terminal`` from it and ``parent done`` from the harness,
  which then exits 0 while the child sleeps forever.
- ``sleep``: sleep forever.
- ``winch``: print ``winch: <rows> <cols>`` on every SIGWINCH (with ``FAKE_WINCH_BAR``
  set, also redraw the top row as a bar of ``=`` exactly as wide as the terminal).
- ``ctty``: write ``hello via /dev/tty`` to /dev/tty, print ``tcgetpgrp=<n> pgid=<n>``,
  print ``SIGINT received`` on each SIGINT, then behave like ``echo``.
- ``raw``: put the tty in raw mode, print ``raw: <hex>`` for every read; exit 0 after a ``q``.
- ``screen``: a full-screen agent: raw mode, the alternate screen, the terminal queries
  agents send on start (cursor position, device attributes, XTVERSION), a frame drawn
  with cursor positioning (``FAKE SCREEN`` on row 1, ``status: ready`` on row 3), then
  each input line ``<text>`` written as ``<text> `` at the cursor from row 6 on (wrapping,
  so every byte of it stays on the screen), and ``status: <n> lines`` rewritten on
  row 3; exits 0 on ``exit``.
- ``drawn``: draw like Claude Code, exit 0: clear the screen, then ``Welcome to Fake
  Code`` with cursor-forward moves (``CSI 1 C``) instead of spaces, ``boxed`` at row 4,
  column 3 by cursor positioning, and ``far right`` ending at the last column of the
  terminal's width; then ``FAKE_DRAWN_LINES`` (default 0) lines ``line <n>`` scroll by.
- ``stdin-digest``: read stdin to end of file, print ``stdin bytes=<n> sha256=<hex>``, exit 0;
  when stdin is a terminal print ``stdin is a terminal`` instead (it has no end).
- ``tui``: behave like a full-screen agent: raw mode, then switch to the alternate
  screen, hide the cursor, turn on bracketed paste, mouse reporting (1000/1002/1006),
  focus events, application cursor keys and keypad, push kitty keyboard flags, and
  send the terminal queries real agents send at start-up (``TUI_QUERIES``). Draws
  ``TUI ready`` and, for every read, ``got <hex>`` on the second line. Every byte
  read is appended to the file named by ``FAKE_INPUT_LOG`` (if set). A read of
  just ``?`` sends a live cursor-position query; just ``q`` exits 0 *without*
  undoing any mode (a crashing agent), just ``Q`` exits 0 after undoing them.
  With ``FAKE_TUI_INLINE=1`` it stays on the main screen like Claude Code: it
  draws ``> input box``, ``FOOTER one`` and ``FOOTER two`` and puts the cursor
  back on the input box line (where ``got <hex>`` is then drawn).
- ``ask``: print ``Apply this edit to app.py? (y/n) `` without a newline, read one line,
  print ``answered <line>``, then behave like ``echo``.
- ``hooks``: find the hook command Coven wired into argv (Claude's ``--settings`` JSON or
  Codex's ``-c notify=[...]``), print ``hooks claude|codex|none`` and ``ready``, then per
  input line run it as the real CLI would: ``notify TEXT`` (Claude Notification, JSON on
  stdin), ``stop`` (Claude Stop), ``turn TEXT`` (Codex notify, JSON as the last
  argument), printing ``hooked <command> rc=<status>``; ``exit`` ends.
- ``edit``: work on files like an agent, one command per input line, each answered
  ``done <n>`` (``<n>`` counts commands) or ``failed <n>: <why>``: ``write PATH TEXT``
  (``\n`` in TEXT is a newline), ``rm PATH``, ``git ARGS…`` (runs git here); ``exit`` ends.
  Any other line is something the agent was told (a review's comments, say): it is
  answered ``heard <n>: <the line>``, so a test sees what reached the agent.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import select
import signal
import struct
import sys
import termios
import threading
import time
from collections.abc import Iterator

FLOOD_LINE = 64


def flood_chunks(total: int, chunk_lines: int = 1024) -> Iterator[bytes]:
    """Deterministic text, exactly ``total`` bytes: 64-byte numbered lines ending in ``\\n``."""
    filler = b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMN"[: FLOOD_LINE - 14]
    emitted = 0
    line = 0
    while emitted < total:
        block = b"".join(b"%012d %s\n" % (n, filler) for n in range(line, line + chunk_lines))
        line += chunk_lines
        block = block[: total - emitted]
        emitted += len(block)
        yield block


def out(text: str) -> None:
    data = (text + "\n").encode()
    while data:
        try:
            written = os.write(1, data)
        except InterruptedError:
            continue
        data = data[written:]


def window_size() -> tuple[int, int] | None:
    try:
        packed = fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return None
    rows, cols, _, _ = struct.unpack("HHHH", packed)
    return rows, cols


def header(name: str, args: list[str]) -> None:
    out(f"FAKE[{name}] argv={json.dumps(args)}")
    out(f"cwd={os.getcwd()}")
    out(f"isatty={int(os.isatty(0))}")
    try:
        tty = os.ttyname(0)
    except OSError:
        tty = "-"
    out(f"tty={tty}")
    try:
        noflsh = int(bool(termios.tcgetattr(0)[3] & termios.NOFLSH))
        out(f"noflsh={noflsh}")
    except termios.error:
        out("noflsh=-")
    size = window_size()
    out("size=- -" if size is None else f"size={size[0]} {size[1]}")
    out(f"ids pid={os.getpid()} pgid={os.getpgrp()} sid={os.getsid(0)}")
    for var in filter(None, os.environ.get("FAKE_PRINT_ENV", "").split(",")):
        out(f"env {var}={os.environ.get(var, '<unset>')}")
    for var in filter(None, os.environ.get("FAKE_DIGEST_ENV", "").split(",")):
        value = os.environb.get(var.encode())
        shown = "<unset>" if value is None else hashlib.sha256(value).hexdigest()
        out(f"envdigest {var}={shown}")


_wakeup: list[int] = []


def signal_wakeup_fd() -> int:
    """Read end of a pipe the interpreter writes to on every signal (created once).

    Blocking calls wait on it too: a signal landing just before a blocking
    syscall would otherwise leave its Python handler pending indefinitely.
    """
    if not _wakeup:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        _wakeup.append(wake_r)
    return _wakeup[0]


def drain(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 1024):
            pass


def sleep_forever() -> None:
    wake_r = signal_wakeup_fd()
    while True:
        select.select([wake_r], [], [])
        drain(wake_r)


def mode_echo() -> int:
    # select() on stdin plus a signal wakeup pipe: a signal that lands just
    # before a blocking read() would otherwise leave its Python handler pending
    # until the next input line arrives.
    wake_r = signal_wakeup_fd()
    out("ready")
    pending = b""
    while True:
        readable, _, _ = select.select([0, wake_r], [], [])
        if wake_r in readable:
            drain(wake_r)
        if 0 not in readable:
            continue
        data = os.read(0, 4096)
        if not data:
            return 0
        pending += data
        while b"\n" in pending:
            raw, pending = pending.split(b"\n", 1)
            line = raw.rstrip(b"\r").decode(errors="replace")
            if line == "exit":
                return 0
            if line.startswith("rollout "):
                write_rollout(line.split(" ", 1)[1])
            if line.startswith("later "):
                _, delay, text = line.split(" ", 2)
                timer = threading.Timer(float(delay), out, (f"late: {text}",))
                timer.daemon = True
                timer.start()
            out(f"echo: {line}")


def write_rollout(thread: str) -> None:
    base = os.environ.get("CODEX_HOME") or os.path.join(os.environ["HOME"], ".codex")
    where = os.path.join(base, "sessions", time.strftime("%Y/%m/%d"))  # Codex files by day
    os.makedirs(where, exist_ok=True)
    meta = {"type": "session_meta", "payload": {"id": thread, "cwd": os.getcwd()}}
    with open(os.path.join(where, f"rollout-fake-{thread}.jsonl"), "w") as fh:
        fh.write(json.dumps(meta) + "\n")


def mode_flood(*, after_enter: bool = False) -> int:
    total = int(os.environ.get("FAKE_BYTES", "1048576"))
    out("ready")
    if after_enter:
        sys.stdin.readline()
    for chunk in flood_chunks(total):
        view = memoryview(chunk)
        while view:
            view = view[os.write(1, view) :]
    if os.environ.get("FAKE_FLOOD_THEN_SLEEP"):
        out("flood done")
        sleep_forever()
    return 0


def mode_ignore_signals() -> int:
    for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    child = os.fork()
    if child == 0:
        if os.environ.get("FAKE_SETSID_CHILD") == "1":
            os.setsid()
        elif os.environ.get("FAKE_CHILD_OWN_GROUP") == "1":
            os.setpgid(0, 0)
        sleep_forever()
    out(f"pids {os.getpid()} {child}")
    out("ready")
    sleep_forever()
    return 0


def mode_linger(escape: bool) -> int:
    child = os.fork()
    if child == 0:
        if escape:
            os.setsid()
        out(f"child {os.getpid()} holds the terminal")
        sleep_forever()
    os.waitpid(child, os.WNOHANG)
    time.sleep(0.2)  # let the child's line go first
    out("parent done")
    return 0


def mode_winch() -> int:
    def on_winch(_sig: int, _frame: object) -> None:
        size = window_size()
        out("winch: - -" if size is None else f"winch: {size[0]} {size[1]}")
        if size is not None and os.environ.get("FAKE_WINCH_BAR"):
            # A full-width bar on the top row, as a full-screen agent redraws on resize.
            os.write(1, b"\x1b7\x1b[1;1H\x1b[2K" + b"=" * size[1] + b"\x1b8")

    signal.signal(signal.SIGWINCH, on_winch)
    out("ready")
    sleep_forever()
    return 0


def mode_ctty() -> int:
    def on_int(_sig: int, _frame: object) -> None:
        out("SIGINT received")

    signal.signal(signal.SIGINT, on_int)
    fd = os.open("/dev/tty", os.O_RDWR)
    os.write(fd, b"hello via /dev/tty\n")
    out(f"tcgetpgrp={os.tcgetpgrp(fd)} pgid={os.getpgrp()}")
    os.close(fd)
    return mode_echo()


def mode_raw() -> int:
    import tty

    tty.setraw(0)
    out("ready\r")
    while True:
        data = os.read(0, 1024)
        if not data:
            return 0
        out(f"raw: {data.hex()}\r")
        if b"q" in data:
            return 0


SCREEN_QUERIES = b"\x1b[6n\x1b[c\x1b[>0q"


def mode_screen() -> int:
    import tty

    tty.setraw(0)

    def put(data: bytes) -> None:
        while data:
            data = data[os.write(1, data) :]

    put(b"\x1b[?1049h" + SCREEN_QUERIES + b"\x1b[2J\x1b[H\x1b[1mFAKE SCREEN\x1b[0m")
    put(b"\x1b[3;1Hstatus: ready\x1b[6;1H")
    count, pending = 0, b""
    while True:
        data = os.read(0, 4096)
        if not data:
            return 0
        pending += data
        while b"\r" in pending:
            raw, pending = pending.split(b"\r", 1)
            if raw == b"exit":
                put(b"\x1b[?1049l")
                return 0
            count += 1
            # Save the cursor, rewrite the status row, come back: the text keeps flowing.
            put(raw + b" \x1b7\x1b[3;1H\x1b[2Kstatus: %d lines\x1b8" % count)


def mode_drawn() -> int:
    cols = os.get_terminal_size(1).columns if os.isatty(1) else 80
    draw = b"\x1b[2J\x1b[HWelcome\x1b[1Cto\x1b[1CFake\x1b[1CCode"
    draw += b"\x1b[4;3Hboxed\x1b[5;%dHfar right\x1b[6;1H" % (cols - len("far right") + 1)
    os.write(1, draw)
    for n in range(int(os.environ.get("FAKE_DRAWN_LINES", "0"))):
        os.write(1, b"line %d\r\n" % n)
    return 0


def mode_stdin_digest() -> int:
    if os.isatty(0):
        out("stdin is a terminal")
        return 0
    digest = hashlib.sha256()
    total = 0
    while chunk := os.read(0, 65536):
        digest.update(chunk)
        total += len(chunk)
    out(f"stdin bytes={total} sha256={digest.hexdigest()}")
    return 0


TUI_MODES_ON = (
    b"\x1b[?1049h\x1b[?25l\x1b[?2004h\x1b[?1000h\x1b[?1002h\x1b[?1006h\x1b[?1004h"
    b"\x1b[?1h\x1b=\x1b[>1u"
)
TUI_MODES_OFF = (
    b"\x1b[<u\x1b[?1l\x1b>\x1b[?1004l\x1b[?1006l\x1b[?1002l\x1b[?1000l\x1b[?2004l"
    b"\x1b[?25h\x1b[?1049l"
)
# What Codex and Claude Code ask a terminal when they start.
TUI_QUERIES = b"\x1b[6n\x1b[c\x1b[>c\x1b[>q\x1b]10;?\x1b\\\x1b]11;?\x07\x1b[?2026$p\x1b[?u"


def mode_tui() -> int:
    import tty

    log_path = os.environ.get("FAKE_INPUT_LOG")
    log = open(log_path, "ab", buffering=0) if log_path else None  # noqa: SIM115
    tty.setraw(0)
    inline = os.environ.get("FAKE_TUI_INLINE") == "1"
    if inline:
        modes = TUI_MODES_ON.replace(b"\x1b[?1049h", b"")
        draw = b"TUI ready\r\n> input box\r\nFOOTER one\r\nFOOTER two\x1b[2A\r\x1b[2C"
        os.write(1, modes + TUI_QUERIES + draw)
    else:
        os.write(1, TUI_MODES_ON + TUI_QUERIES + b"\x1b[H\x1b[2JTUI ready")
    while True:
        data = os.read(0, 1024)
        if not data:
            return 0
        if log is not None:
            log.write(data)
        where = b"\r\x1b[K> input box " if inline else b"\x1b[2;1H\x1b[K"
        os.write(1, where + b"got " + data.hex().encode())
        if data == b"?":
            os.write(1, b"\x1b[6n")
        elif data == b"Q":
            os.write(1, TUI_MODES_OFF)
            return 0
        elif data == b"q":
            return 0


def mode_edit() -> int:
    import shlex
    import subprocess

    out("ready")
    count = 0
    for raw in sys.stdin:
        line = raw.strip()
        if not line:
            continue
        if line == "exit":
            return 0
        count += 1
        verb, _, rest = line.partition(" ")
        try:
            if verb == "write":
                path, _, text = rest.partition(" ")
                os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
                with open(path, "w") as fh:
                    fh.write(text.replace("\\n", "\n"))
            elif verb == "rm":
                os.remove(rest)
            elif verb == "git":
                done = subprocess.run(["git", *shlex.split(rest)], capture_output=True, timeout=30)
                if done.returncode != 0:
                    raise OSError(done.stderr.decode(errors="replace").strip())
            else:
                out(f"heard {count}: {line}")
                continue
        except OSError as exc:
            out(f"failed {count}: {exc}")
            continue
        out(f"done {count}")
    return 0


def mode_ask() -> int:
    """Ask a shell-style question without a newline, then echo."""
    os.write(1, b"ready\nplanning the change...\nApply this edit to app.py? (y/n) ")
    answer = sys.stdin.readline().strip()
    out(f"answered {answer}")
    return mode_echo()


def _hook_wiring(args: list[str]) -> tuple[str, list[str]] | None:
    """The hook command Coven wired: ("claude", [shell command]) or ("codex", argv)."""
    for index, arg in enumerate(args[:-1]):
        if arg == "--settings":
            settings = json.loads(args[index + 1])
            command = settings["hooks"]["Notification"][0]["hooks"][0]["command"]
            return "claude", [command]
        if arg == "-c" and args[index + 1].startswith("notify="):
            return "codex", json.loads(args[index + 1][len("notify=") :])
    return None


def mode_hooks(args: list[str]) -> int:
    """Run Coven's hook command the way the real CLIs do, one input line at a time:
    ``notify TEXT`` (Claude's Notification hook, JSON on stdin), ``stop`` (Claude's
    Stop), ``turn TEXT`` (Codex's notify program, JSON as its last argument)."""
    import subprocess

    wiring = _hook_wiring(args)
    out(f"hooks {'none' if wiring is None else wiring[0]}")
    out("ready")
    for line in sys.stdin:
        command, _, text = line.strip().partition(" ")
        if command == "exit":
            return 0
        if wiring is None:
            out("no hooks")
            continue
        kind, hook = wiring
        if kind == "claude":
            event = "Stop" if command == "stop" else "Notification"
            payload = {
                "session_id": "11111111-2222-3333-4444-555555555555",
                "transcript_path": "/nonexistent/transcript.jsonl",
                "cwd": os.getcwd(),
                "hook_event_name": event,
            }
            if event == "Notification":
                payload["message"] = text
                payload["notification_type"] = "permission_prompt"
            proc = subprocess.run(
                ["/bin/sh", "-c", hook[0]], input=json.dumps(payload).encode(), check=False
            )
        else:
            payload = {
                "type": "agent-turn-complete",
                "thread-id": "t-1",
                "turn-id": "1",
                "input-messages": ["go"],
                "last-assistant-message": text,
            }
            proc = subprocess.run([*hook, json.dumps(payload)], check=False)
        out(f"hooked {command} rc={proc.returncode}")
    return 0


def main(argv: list[str]) -> int:
    name = os.path.basename(argv[0])
    args = argv[1:]
    mode = os.environ.get("FAKE_MODE", "echo")
    for arg in args:
        if arg.startswith("--fake-mode="):
            mode = arg.split("=", 1)[1]
    header(name, args)
    if mode == "edit":
        return mode_edit()
    if mode == "ask":
        return mode_ask()
    if mode == "hooks":
        return mode_hooks(args)
    if mode == "echo":
        return mode_echo()
    if mode == "exit":
        out("ready")
        return int(os.environ.get("FAKE_EXIT", "0"))
    if mode == "flood":
        return mode_flood()
    if mode == "flood-after-enter":
        return mode_flood(after_enter=True)
    if mode == "ignore-signals":
        return mode_ignore_signals()
    if mode in ("linger", "linger-escaped"):
        return mode_linger(escape=mode == "linger-escaped")
    if mode == "sleep":
        out("ready")
        sleep_forever()
    if mode == "winch":
        return mode_winch()
    if mode == "ctty":
        return mode_ctty()
    if mode == "raw":
        return mode_raw()
    if mode == "drawn":
        return mode_drawn()
    if mode == "stdin-digest":
        return mode_stdin_digest()
    if mode == "tui":
        return mode_tui()
    if mode == "screen":
        return mode_screen()
    out(f"unknown FAKE_MODE {mode}")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
