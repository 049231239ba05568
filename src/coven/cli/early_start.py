"""``coven run`` and ``coven daemon start`` start the daemon before the CLI has loaded.

With no daemon running, these commands used to import the whole CLI (click and the
rest, ~0.1 s), then start the daemon (~0.25 s), one after the other. For a command
line whose meaning is certain, ``coven.cli.entry`` calls ``start`` first thing: the
daemon starts on another core while the CLI loads, and ``daemonctl.start`` (called
by ``run``'s ``ensure_daemon`` and by ``daemon start``) finishes it with ``take``
instead of spawning one.

Certain means the full CLI is sure to reach ``daemonctl.start``, so nothing is
started that the command would not have started itself:

    coven daemon start
    coven run HARNESS [PROMPT...] [OPTIONS]

where every option is one ``run`` has and its value is one click accepts, ``--print``
comes with a prompt, and ``$COVEN_DETACH_KEYS`` (when set) parses. Anything else —
``--help``, an unknown option, a missing value — leaves the start to the full CLI,
which reports the mistake first. So does a home that is not usable, one with traces
of a daemon (its socket or ``daemon.json``: the full CLI probes and cleans up), and
a lifecycle lock someone else holds. Standard library only.
"""

from __future__ import annotations

import os

from coven.cli import daemon_spawn, home_files
from coven.schema.home import SOCKET_NAME, STATUS_FILE_NAME

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

_FLAGS = frozenset(("--worktree", "--detach", "--print", "--non-interactive"))
_VALUED = frozenset(
    (
        "--root",
        "--cwd",
        "--continue",
        "--title",
        "--model",
        "--add-dir",
        "--labels",
        "--familiar",
        "--detach-keys",
        "--permission",
    )
)
_PERMISSIONS = ("full", "read-only")  # run's click.Choice
_ONE_SHOT = ("--print", "--non-interactive")

_started: daemon_spawn.Spawned | None = None


def certain(args: list[str]) -> bool:
    """Does ``coven ARGS`` surely reach ``daemonctl.start``?"""
    if args == ["daemon", "start"]:
        return True
    return args[:1] == ["run"] and _certain_run(args[1:])


def _certain_run(args: list[str]) -> bool:
    """Does ``coven run ARGS`` surely reach ``ensure_daemon``? (The words after ``run``.)"""
    positional: list[str] = []
    one_shot = False
    values: dict[str, str] = {}
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            positional.extend(rest)
            break
        name, eq, value = arg.partition("=")
        if arg in _FLAGS:
            one_shot = one_shot or arg in _ONE_SHOT
        elif name in _VALUED:
            given = value if eq else next(rest, None)
            if given is None:
                return False  # click: the option requires an argument
            values[name] = given
        elif arg.startswith("-") and arg != "-":
            return False
        else:
            positional.append(arg)
    if not positional:
        return False  # click: missing argument HARNESS
    if one_shot and not " ".join(positional[1:]).strip():
        return False  # run refuses --print without a prompt before it starts anything
    if values.get("--permission", "full") not in _PERMISSIONS:
        return False
    return _keys_parse(values.get("--detach-keys"))


def _keys_parse(spec: str | None) -> bool:
    if spec is None:
        spec = os.environ.get("COVEN_DETACH_KEYS")  # detach_keys.ENV_VAR (a test holds it)
        if not spec:  # click ignores an empty variable: the default keys, which parse
            return True
    # Only now: its regular expressions cost the common case (no keys given) ~5 ms.
    from coven.cli.detach_keys import DetachKeysError, parse_detach_keys

    try:
        parse_detach_keys(spec)
    except DetachKeysError:
        return False
    return True


def start(args: list[str], home: str) -> None:
    """Start the daemon of ``home`` now if ``coven ARGS`` will start one; never raises.

    The lifecycle lock is taken as ``daemonctl.start`` takes it and held until
    ``take``'s caller releases it (or this process ends)."""
    global _started
    if _started is not None or not certain(args):
        return
    try:
        path = home_files.prepare_home_dir(home)
        if _traces(path):
            return
        lock = home_files.try_lifecycle_lock(path)
    except home_files.HomeUnusable:
        return
    if lock is None:
        return
    try:
        if _traces(path):  # a daemon started while we took the lock
            os.close(lock)
            return
        spawned = daemon_spawn.spawn(path, launch_soon=args[0] == "run")
    except (OSError, daemon_spawn.DaemonControlError):
        os.close(lock)
        return
    spawned.lock_fd = lock
    _started = spawned


def _traces(home: str) -> bool:
    return any(
        os.path.lexists(os.path.join(home, name)) for name in (SOCKET_NAME, STATUS_FILE_NAME)
    )


def pending() -> bool:
    """Has ``start`` spawned a daemon that nobody has taken yet?"""
    return _started is not None


def take(home: Path) -> daemon_spawn.Spawned | None:
    """The daemon ``start`` spawned for ``home``, handed over once; the caller waits for
    it and releases its lock. One started for another home is let go."""
    global _started
    spawned, _started = _started, None
    if spawned is not None and os.fspath(spawned.home) != os.fspath(home):
        spawned.release()
        return None
    return spawned
