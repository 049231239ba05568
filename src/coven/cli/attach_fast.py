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
refusal. Once attached, both paths run ``coven.cli.attach_flow``; a failure from
then on is worded by the full CLI's own ``coven.cli.failures``.
"""

from __future__ import annotations

import os

from coven.cli import entry

# Not typing's: typing, dataclasses and pathlib would cost the first screen a third of
# its time (they are imported once it is shown).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from coven.cli.detach_keys import Key
    from coven.schema.wire import SessionRecord

_FLAGS = ("--read-only", "--replay")
_VALUED = ("--history", "--detach-keys")
MAX_HISTORY = 10_000  # the full CLI's `click.IntRange(0, 10_000)`


class AttachArgs:
    """What the command line asked for (a plain class: see TYPE_CHECKING above)."""

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
    from coven.cli.terminal import is_interactive

    try:
        if is_interactive():
            _attach_on_terminal(home, session_id, parsed, keys)
        else:
            from pathlib import Path

            from coven.cli.attach_flow import attach_and_report

            attach_and_report(
                Path(home),
                session_id,
                keys=keys,
                read_only=parsed.read_only,
                replay=parsed.replay,
                history=parsed.history,
            )
    except (Exception, KeyboardInterrupt) as exc:
        return _reported(exc)
    return 0


def _attach_on_terminal(
    home: str, session_id: str, parsed: AttachArgs, keys: tuple[Key, ...]
) -> None:
    """``attach_flow.attach_and_report`` on a terminal, with the first screen shown from
    a blocking socket before the attachment's machinery is imported (``attach_prelude``)."""
    from coven.cli.attach_prelude import paint
    from coven.cli.attach_words import attached_header, detach_hint, write_header
    from coven.cli.terminal import ScreenState, taken_over

    keys_hint = detach_hint(keys)

    def header(sid: str, harness: str, title: str, status: str) -> None:
        text = attached_header(sid, harness, title, status, keys_hint, read_only=parsed.read_only)
        write_header(text, raw_terminal=True)

    def header_of_json(record: Mapping[str, object]) -> None:
        header(*(str(record.get(name)) for name in ("id", "harness", "title", "status")))

    def header_of_record(record: SessionRecord) -> None:
        header(record.id, record.harness, record.title, record.status)

    screen = ScreenState()
    with taken_over(0, 1, screen):
        replay = "raw" if parsed.replay else "screen"
        painted = paint(
            home,
            session_id,
            replay=replay,
            history=parsed.history,
            header=header_of_json,
            screen=screen,
            out_fd=1,
        )
        from pathlib import Path

        from coven.cli.attach_flow import attach_here, attach_mode

        outcome = attach_here(
            Path(home),
            session_id,
            mode=attach_mode(True, parsed.read_only),
            keys=keys,
            screen=screen,
            on_attached=None if painted else header_of_record,
            from_screen=not parsed.replay,
            history=parsed.history,
            painted=painted,
        )
    from coven.cli.attach_flow import report_ending

    report_ending(session_id, outcome)


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
