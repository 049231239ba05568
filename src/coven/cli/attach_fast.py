"""``coven attach`` without click: the screen comes back about as fast as Python starts.

``coven.cli.entry`` hands ``attach`` here before loading the full CLI. This path
takes exactly the command lines whose meaning is certain:

    coven attach SESSION [--read-only] [--replay] [--history N] [--detach-keys KEYS]

(options before or after SESSION, ``--opt=value`` too, each at most once), with
the detach keys from ``$COVEN_DETACH_KEYS`` when not given. It resolves SESSION
the way the full client does (an exact id, else the one id it prefixes among
all sessions, archived included) against a daemon of this very Coven version.
Anything else — ``--help``, an unknown or repeated option, a value out of range,
keys that do not parse, an id that names no session or several, no daemon, any
other daemon — answers ``None`` and the full CLI redoes the work and words the
refusal. Once resolved, both paths run ``coven.cli.attach_flow`` (which shows the
first screen before the rest is imported); a failure from then on is worded by
the full CLI's own ``coven.cli.failures``.
"""

from __future__ import annotations

import os

from coven.cli import entry

_FLAGS = ("--read-only", "--replay")
_VALUED = ("--history", "--detach-keys")
MAX_HISTORY = 10_000  # the full CLI's `click.IntRange(0, 10_000)`


class AttachArgs:
    """What the command line asked for. A plain class: dataclasses would cost the first
    screen 18 ms (``coven.cli.attach_prelude``)."""

    __slots__ = ("detach_keys", "history", "read_only", "replay", "session")

    def __init__(
        self,
        session: str,
        *,
        read_only: bool = False,
        replay: bool = False,
        history: int | None = None,
        detach_keys: str | None = None,
    ) -> None:
        self.session = session
        self.read_only = read_only
        self.replay = replay
        self.history = history
        self.detach_keys = detach_keys

    def _fields(self) -> tuple[object, ...]:
        return (self.session, self.read_only, self.replay, self.history, self.detach_keys)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AttachArgs) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return "AttachArgs" + repr(self._fields())


def parse(args: list[str]) -> AttachArgs | None:
    """The command line after ``attach``, when it means exactly one thing; else ``None``."""
    seen: dict[str, str | None] = {}
    positional: list[str] = []
    rest = iter(args)
    for arg in rest:
        name, eq, value = arg.partition("=")
        if arg in _FLAGS:
            key, given = arg, None
        elif name in _VALUED:
            key, given = name, value if eq else next(rest, None)
            if given is None:
                return None  # the value is missing: a usage error
        elif arg.startswith("-"):
            return None  # --help, --, an unknown or abbreviated option
        else:
            positional.append(arg)
            continue
        if key in seen:
            return None
        seen[key] = given
    if len(positional) != 1:
        return None
    history: int | None = None
    if "--history" in seen:
        raw = seen["--history"] or ""
        if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_HISTORY:
            return None
        history = int(raw)
    return AttachArgs(
        positional[0],
        read_only="--read-only" in seen,
        replay="--replay" in seen,
        history=history,
        detach_keys=seen.get("--detach-keys"),
    )


def resolve(home: str, ref: str) -> str:
    """The id ``ref`` names (exact, else the single id it prefixes); ``entry.Doubt`` else."""
    matches: list[str] = []
    for record in entry.session_records(home, include_archived=True):
        sid = record.get("id") if isinstance(record, dict) else None
        if not isinstance(sid, str):
            raise entry.Doubt("record shape")
        if sid == ref:
            return sid
        if sid.startswith(ref):
            matches.append(sid)
    if len(matches) != 1 or not ref:
        raise entry.Doubt("no single session")
    return matches[0]


def run(args: list[str]) -> int | None:
    """Attach and answer the exit status, or ``None`` for the full CLI to take over."""
    parsed = parse(args)
    if parsed is None:
        return None
    from coven.cli.detach_keys import DEFAULT_SPEC, ENV_VAR, DetachKeysError, parse_detach_keys

    spec = parsed.detach_keys
    if spec is None:
        spec = os.environ.get(ENV_VAR) or DEFAULT_SPEC  # click ignores an empty variable
    try:
        keys = parse_detach_keys(spec)
        home = entry.home_dir()
        session_id = resolve(home, parsed.session)
    except (DetachKeysError, entry.Doubt):
        return None
    except KeyboardInterrupt:
        return 130
    from coven.cli.attach_flow import attach_and_report

    try:
        attach_and_report(
            home,
            session_id,
            keys=keys,
            read_only=parsed.read_only,
            replay=parsed.replay,
            history=parsed.history,
        )
    except (Exception, KeyboardInterrupt) as exc:
        return _reported(exc)
    return 0


def _reported(exc: BaseException) -> int:
    """Say ``exc`` the way the full CLI does (``failures.translated``); its exit status."""
    import click

    from coven.cli.failures import translated

    try:
        with translated():
            raise exc
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as exit_:
        return exit_.exit_code
    raise AssertionError("translated() always raises")  # pragma: no cover
