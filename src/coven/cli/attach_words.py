"""The lines ``coven attach`` prints around a session's screen.

Standard library only: ``coven.cli.attach_prelude`` prints the header before
anything heavier is imported, and the full flow prints the same words.
"""

from __future__ import annotations

import sys

from coven.cli.terminal_text import one_line

TYPE_CHECKING = False  # typing costs the first screen more than all this module's work
if TYPE_CHECKING:
    from coven.cli.detach_keys import Key

RUNNING = "running"  # SessionStatus.RUNNING, without importing the schema (msgspec)


def hint(text: str = "") -> None:
    """A line on stderr as ``click.echo(err=True)`` writes it: escape sequences (a
    session title may hold some) are dropped unless stderr is a terminal."""
    from coven.cli.entry import as_click_echoes

    sys.stderr.write(as_click_echoes(text, sys.stderr))
    sys.stderr.flush()


def detach_hint(keys: tuple[Key, ...]) -> str:
    from coven.cli.detach_keys import describe

    return f"{describe(keys)} detaches (the session keeps running)"


def detached_line(session_id: str) -> str:
    from coven.cli.listing import short_id

    return f"[detached from session {session_id}; rejoin with: coven attach {short_id(session_id)}]"


def attached_header(
    session_id: str, harness: str, title: str, status: str, detach_hint: str, *, read_only: bool
) -> str:
    """The lines printed (to stderr) when the stream opens, without a final newline."""
    head = f'attached to session {session_id} ({harness}, "{one_line(title)}", status: {status})'
    if status == RUNNING:
        watching = "read-only: nothing you type reaches the agent" if read_only else "with input"
        return f"{head}\nfollowing live output, {watching}; {detach_hint}"
    return f"{head}\nsession is not running; replaying its recorded output"


def write_header(text: str, *, raw_terminal: bool) -> None:
    """The header on stderr. In raw mode nothing translates newlines, so every line
    ends with CR LF, the last one too, or the first line of the screen starts mid-row."""
    if raw_terminal:
        sys.stderr.write(text.replace("\n", "\r\n") + "\r\n")
        sys.stderr.flush()
    else:
        hint(text)
