"""``coven-demo-agent``: a small, honest stand-in harness for trying Coven.

Usage: ``coven-demo-agent [--print] [--model M] [--permission P] [--add-dir D]... -- <prompt>``

It prints a banner (cwd, whether stdin is a TTY, the options it got), "thinks"
about its cwd by listing a few entries and counting their lines (read-only: it
never writes, deletes or runs anything), answers the prompt, and then:

* with ``--print``: exits 0;
* otherwise: shows ``demo> `` and answers each line read from stdin until
  ``exit``, ``quit`` or end of input, then exits 0.

Exit status 2 means a usage error; 130 means interrupted.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

PROMPT = "demo> "
MAX_LISTED = 8
MAX_READ_BYTES = 256 * 1024


@dataclass
class _Args:
    print_mode: bool = False
    model: str | None = None
    permission: str | None = None
    add_dirs: list[str] = field(default_factory=list)
    prompt: str = ""


class _UsageError(Exception):
    pass


def _parse(argv: list[str]) -> _Args:
    args = _Args()
    words: list[str] = []
    rest = iter(argv)
    for arg in rest:
        if arg == "--":
            words += list(rest)
            break
        if arg == "--print":
            args.print_mode = True
        elif arg in ("--model", "--permission", "--add-dir"):
            value = next(rest, None)
            if value is None:
                raise _UsageError(f"{arg} needs a value")
            if arg == "--model":
                args.model = value
            elif arg == "--permission":
                args.permission = value
            else:
                args.add_dirs.append(value)
        elif arg.startswith("-") and arg != "-":
            raise _UsageError(f"unknown option {arg}")
        else:
            words.append(arg)
    args.prompt = " ".join(words)
    return args


def _line_count(path: Path) -> int | None:
    """Lines in a small text file; ``None`` for binary or unreadable files."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_READ_BYTES)
    except OSError:
        return None
    if b"\0" in data:
        return None
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def _entries(cwd: Path) -> list[Path]:
    try:
        return sorted(
            (p for p in cwd.iterdir() if not p.name.startswith(".")), key=lambda p: p.name
        )
    except OSError:
        return []


def _describe(path: Path) -> str:
    if path.is_dir():
        return f"{path.name}/ (directory)"
    lines = _line_count(path) if path.is_file() else None
    return f"{path.name} ({lines} lines)" if lines is not None else f"{path.name}"


def _think(cwd: Path) -> list[str]:
    entries = _entries(cwd)
    out = [f"Thinking: looking around {cwd} ..."]
    if not entries:
        out.append("  (nothing visible here)")
    for path in entries[:MAX_LISTED]:
        out.append(f"  - {_describe(path)}")
    if len(entries) > MAX_LISTED:
        out.append(f"  ... and {len(entries) - MAX_LISTED} more")
    return out


def answer(line: str, cwd: Path) -> str:
    """The demo agent's reply to one line of input (never empty)."""
    text = line.strip()
    if text == "help":
        return "Commands: help, pwd, ls, exit, quit. Anything else gets a short analysis."
    if text == "pwd":
        return str(cwd)
    if text == "ls":
        names = [_describe(p) for p in _entries(cwd)]
        return "\n".join(names) if names else "(nothing visible here)"
    words = text.split()
    reply = f'You said: "{text}" ({len(words)} words, {len(text)} characters).'
    for word in words:
        candidate = cwd / word
        if word not in (".", "..") and "/" not in word and candidate.is_file():
            lines = _line_count(candidate)
            if lines is not None:
                reply += f" I see {word} here: {lines} lines."
    return reply


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _run(args: _Args) -> int:
    cwd = Path(os.getcwd())
    _say("Coven demo agent")
    _say(f"  cwd:        {cwd}")
    _say(f"  stdin tty:  {'yes' if sys.stdin.isatty() else 'no'}")
    _say(f"  mode:       {'print' if args.print_mode else 'interactive'}")
    _say(f"  model:      {args.model or '(default)'}")
    _say(f"  permission: {args.permission or '(default)'}")
    if args.add_dirs:
        _say(f"  add-dirs:   {', '.join(args.add_dirs)}")
    for line in _think(cwd):
        _say(line)
    if args.prompt.strip():
        _say(answer(args.prompt, cwd))
    if args.print_mode:
        return 0
    _say("Type `help` for commands, `exit` to leave.")
    while True:
        sys.stdout.write(PROMPT)
        sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            _say("")
            _say("bye (end of input)")
            return 0
        text = line.strip()
        if text in ("exit", "quit"):
            _say("bye")
            return 0
        if text:
            _say(answer(text, cwd))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``coven-demo-agent``; returns the exit status."""
    try:
        args = _parse(sys.argv[1:] if argv is None else argv)
    except _UsageError as exc:
        sys.stderr.write(f"coven-demo-agent: {exc}\n")
        sys.stderr.write("usage: coven-demo-agent [--print] [--model M] -- <prompt>\n")
        return 2
    try:
        return _run(args)
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return 130
    except BrokenPipeError:
        # The reader went away (e.g. `| head`). Point stdout at /dev/null so the
        # interpreter's final flush does not raise again (Python docs, SIGPIPE note).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
