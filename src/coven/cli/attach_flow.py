"""What ``coven attach`` (and ``run``, ``summon``, the browser) shows around an attachment.

Click-free on purpose: ``coven.cli.attach_fast`` attaches without loading click,
and both it and the full CLI go through these functions, so the header, the
screen and the closing line are the same whichever path ran.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

from coven.cli.attach_prelude import Painted
from coven.cli.attach_words import (
    attached_header,
    detach_hint,
    detached_line,
    hint,
    write_header,
)
from coven.cli.attaching import AttachMode, AttachOutcome, attach, exit_line
from coven.cli.detach_keys import Key
from coven.cli.listing import short_id
from coven.cli.terminal import ScreenState, is_interactive, taken_over
from coven.schema.wire import SessionRecord


def follow(
    home: Path,
    session_id: str,
    *,
    keys: tuple[Key, ...],
    read_only: bool = False,
    fresh: bool = False,
    on_attached: Callable[[SessionRecord], None] | None = None,
    from_screen: bool = False,
    history: int | None = None,
) -> AttachOutcome:
    """Attach this process's terminal (or plain stdio) to a session until it ends or we leave.

    ``home`` holds the daemon's socket. The terminal is taken over (raw mode) only
    when stdin and stdout are both terminals, and given back on every way out
    (``terminal.taken_over``).

    ``from_screen`` starts a terminal from the session's current screen; plain stdio
    (a pipe or file) always gets the raw output log, which is what a reader wants.
    """
    interactive = is_interactive()
    screen = ScreenState()
    with taken_over(sys.stdin.fileno() if interactive else None, sys.stdout.fileno(), screen):
        return attach_here(
            home,
            session_id,
            mode=attach_mode(interactive, read_only),
            keys=keys,
            screen=screen,
            fresh=fresh,
            on_attached=on_attached,
            from_screen=from_screen and interactive,
            history=history,
        )


def attach_mode(interactive: bool, read_only: bool) -> AttachMode:
    if not interactive:
        return "follow"
    return "read-only" if read_only else "interactive"


def attach_here(
    home: Path,
    session_id: str,
    *,
    mode: AttachMode,
    keys: tuple[Key, ...],
    screen: ScreenState,
    fresh: bool = False,
    on_attached: Callable[[SessionRecord], None] | None = None,
    from_screen: bool = False,
    history: int | None = None,
    painted: Painted | None = None,
) -> AttachOutcome:
    """``follow`` once the terminal is taken over; ``painted``: the first screen is shown."""
    return asyncio.run(
        attach(
            home,
            session_id,
            mode=mode,
            detach_keys=keys,
            screen=screen,
            fresh=fresh,
            on_attached=on_attached,
            from_screen=from_screen,
            history=history,
            painted=painted,
        )
    )


def report_ending(session_id: str, outcome: AttachOutcome) -> None:
    """What the user sees after the terminal is restored (which also started a fresh line)."""
    fresh_line = outcome.ends_with_newline or sys.stdout.isatty()
    lead = "" if fresh_line else "\n"
    if outcome.exit is not None:
        hint(lead + exit_line(outcome.exit))
    elif outcome.ending == "detached":
        hint(lead + detached_line(session_id))
    elif outcome.ending == "signalled":
        hint(
            f"{lead}[left session {session_id} running; rejoin with: "
            f"coven attach {short_id(session_id)}]"
        )


def attach_and_report(
    home: Path,
    session_id: str,
    *,
    keys: tuple[Key, ...],
    read_only: bool = False,
    replay: bool = False,
    history: int | None = None,
) -> AttachOutcome:
    """The attach flow shared by ``attach``, ``summon`` and the browser: header, the
    current screen of a live session (the raw replay with ``replay``, for a finished
    session, or when output is not a terminal), live output, report."""

    def header(record: SessionRecord) -> None:
        text = attached_header(
            record.id,
            record.harness,
            record.title,
            record.status,
            detach_hint(keys),
            read_only=read_only,
        )
        write_header(text, raw_terminal=is_interactive())

    outcome = follow(
        home,
        session_id,
        keys=keys,
        read_only=read_only,
        on_attached=header,
        from_screen=not replay,
        history=history,
    )
    report_ending(session_id, outcome)
    return outcome
