"""What ``coven attach`` (and ``run``, ``summon``, the browser) shows around an attachment.

Light to import on purpose: ``coven.cli.attach_fast`` attaches without loading
click, and on a terminal ``follow`` shows the header and the first screen
(``coven.cli.attach_prelude``) before asyncio, the schema or the client are
imported; the attachment proper (``coven.cli.attaching``) loads after. Every
attach goes through here, so the header, the screen and the closing line are
the same whichever command ran.
"""

from __future__ import annotations

import contextlib
import sys

from coven.cli.attach_prelude import paint
from coven.cli.attach_words import (
    attached_header,
    detach_hint,
    detached_line,
    hint,
    write_header,
)
from coven.cli.terminal import ScreenState, is_interactive, taken_over

TYPE_CHECKING = False  # typing would cost the first screen (see attach_prelude)
if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Mapping

    from coven.cli.attach_prelude import Painted
    from coven.cli.attaching import AttachMode, AttachOutcome
    from coven.cli.detach_keys import Key
    from coven.cli.launch_preview import LaunchPreview
    from coven.schema.wire import SessionRecord

    # Prints the header from the session's id, harness, title and status.
    Header = Callable[[str, str, str, str], None]

_HEADER_FIELDS = ("id", "harness", "title", "status")


def follow(
    home: str | os.PathLike[str],
    session_id: str,
    *,
    keys: tuple[Key, ...],
    read_only: bool = False,
    fresh: bool = False,
    header: Header | None = None,
    from_screen: bool = False,
    history: int | None = None,
    preview: LaunchPreview | None = None,
) -> AttachOutcome:
    """Attach this process's terminal (or plain stdio) to a session until it ends or we leave.

    ``home`` holds the daemon's socket. The terminal is taken over (raw mode) only
    when stdin and stdout are both terminals, and given back on every way out
    (``terminal.taken_over``). On a terminal the header and the first screen are
    shown before the attachment's machinery is imported (``attach_prelude``), unless
    the session is ``fresh`` (just launched: nothing of it was ever on a screen).

    ``from_screen`` starts a terminal from the session's current screen; plain stdio
    (a pipe or file) always gets the raw output log, which is what a reader wants.

    ``preview``: a cold ``run``'s first output is on the terminal already, which the
    preview has taken over (``coven.cli.launch_preview``); the attachment goes on from it.
    """
    interactive = is_interactive()
    in_fd = sys.stdin.fileno() if interactive else None
    if preview is not None and preview.taken:
        screen, shown = preview.screen, bytes(preview.shown)
        terminal: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
        # What the preview showed is the raw start of the output: the stream must be too.
        from_screen = False
    else:
        screen, shown = ScreenState(), b""
        terminal = taken_over(in_fd, sys.stdout.fileno(), screen)
        from_screen = from_screen and interactive
    with terminal:
        painted = None
        if interactive and not fresh:

            def header_of_json(doc: Mapping[str, object]) -> None:
                if header is not None:
                    header(*(str(doc.get(name)) for name in _HEADER_FIELDS))

            painted = paint(
                str(home),
                session_id,
                replay="screen" if from_screen else "raw",
                history=history,
                header=header_of_json,
                screen=screen,
                out_fd=sys.stdout.fileno(),
            )
        on_attached = None
        if header is not None and painted is None:

            def on_attached(record: SessionRecord) -> None:
                header(record.id, record.harness, record.title, record.status)

        return _attach(
            home,
            session_id,
            mode=_attach_mode(interactive, read_only),
            keys=keys,
            screen=screen,
            fresh=fresh,
            on_attached=on_attached,
            from_screen=from_screen,
            history=history,
            painted=painted,
            shown=shown,
        )


def _attach_mode(interactive: bool, read_only: bool) -> AttachMode:
    if not interactive:
        return "follow"
    return "read-only" if read_only else "interactive"


def _attach(
    home: str | os.PathLike[str],
    session_id: str,
    *,
    mode: AttachMode,
    keys: tuple[Key, ...],
    screen: ScreenState,
    fresh: bool,
    on_attached: Callable[[SessionRecord], None] | None,
    from_screen: bool,
    history: int | None,
    painted: Painted | None,
    shown: bytes = b"",
) -> AttachOutcome:
    """The attachment proper, on asyncio: imported only now that the screen is shown."""
    import asyncio
    from pathlib import Path

    from coven.cli.attaching import attach

    return asyncio.run(
        attach(
            Path(home),
            session_id,
            mode=mode,
            detach_keys=keys,
            screen=screen,
            fresh=fresh,
            on_attached=on_attached,
            from_screen=from_screen,
            history=history,
            painted=painted,
            shown=shown,
        )
    )


def report_ending(session_id: str, outcome: AttachOutcome) -> None:
    """What the user sees after the terminal is restored (which also started a fresh line)."""
    from coven.cli.attaching import exit_line
    from coven.cli.listing import short_id

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
    home: str | os.PathLike[str],
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
    keys_hint = detach_hint(keys)

    def header(sid: str, harness: str, title: str, status: str) -> None:
        text = attached_header(sid, harness, title, status, keys_hint, read_only=read_only)
        write_header(text, raw_terminal=is_interactive())

    outcome = follow(
        home,
        session_id,
        keys=keys,
        read_only=read_only,
        header=header,
        from_screen=not replay,
        history=history,
    )
    report_ending(session_id, outcome)
    return outcome
