"""``coven wait``, ``coven send`` and ``coven watch``: scripting around who is waiting.

All three read the ``attention`` of session records (``GET /sessions``), which the
daemon keeps for live sessions; they poll, so they work against any daemon that
advertises ``features.attention`` and over ``--host`` alike.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import click

from coven.cli.completion import complete_session
from coven.cli.context import client, out
from coven.cli.failures import CliError
from coven.client import CovenClient
from coven.schema import SessionStatus
from coven.schema.wire import SessionRecord

POLL_SECONDS = 0.25
WATCH_SECONDS = 0.5
# `coven wait` exit statuses (besides 0 ok, 1 error, 2 usage).
EXIT_ENDED = 3
EXIT_TIMEOUT = 4
UNTIL = ("awaiting_input", "idle", "exit")


def _live(record: SessionRecord) -> bool:
    return record.status == SessionStatus.RUNNING


def reached(record: SessionRecord, until: str) -> bool:
    """Has ``record`` reached ``until``? ``idle`` counts an agent waiting for input too."""
    if until == "exit":
        return not _live(record)
    if until == "idle":
        return record.attention in ("idle", "awaiting_input")
    return record.attention == until


def describe(record: SessionRecord) -> str:
    """``<id> <state>[: reason]`` — the state a script sees (``exited (status)`` when ended)."""
    if not _live(record):
        return f"{record.id} exited ({record.status})"
    reason = f": {record.attention_reason}" if record.attention_reason else ""
    return f"{record.id} {record.attention or 'unknown'}{reason}"


def _require_attention(api: CovenClient) -> None:
    if not api.handshake().capabilities.get("attention"):
        raise CliError("this daemon does not report attention (features.attention is off)")


@click.command("wait")
@click.argument("session", shell_complete=complete_session)
@click.option(
    "--until",
    type=click.Choice(UNTIL),
    default="idle",
    show_default=True,
    help="awaiting_input: a question is asked; idle: it stopped (idle or asking); exit: it ended.",
)
@click.option("--timeout", type=click.FloatRange(min=0), help="Give up after S seconds.")
@click.pass_context
def wait_cmd(ctx: click.Context, session: str, until: str, timeout: float | None) -> None:
    """Wait until a session needs you (or ends); print its state.

    Exit status: 0 reached, 3 the session ended first, 4 timed out, 1 error.
    """
    api = client()
    _require_attention(api)
    record = api.resolve_session_ref(session)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        if reached(record, until):
            out(describe(record))
            return
        if not _live(record):
            out(describe(record))
            ctx.exit(EXIT_ENDED)
        if deadline is not None and time.monotonic() >= deadline:
            out(describe(record))
            ctx.exit(EXIT_TIMEOUT)
        time.sleep(POLL_SECONDS)
        record = api.get_session(record.id)


@click.command("send")
@click.argument("session", shell_complete=complete_session)
@click.argument("text")
@click.option("--enter", is_flag=True, help="Press Enter after the text.")
def send_cmd(session: str, text: str, enter: bool) -> None:
    """Type TEXT into a live session (as if typed at its terminal)."""
    api = client()
    record = api.resolve_session_ref(session)
    # Enter is a carriage return, as a terminal sends it (cooked ttys turn it into \\n).
    api.send_input(record.id, text + ("\r" if enter else ""))


@dataclass(frozen=True)
class Seen:
    live: bool
    attention: str | None
    reason: str | None


def _seen(record: SessionRecord) -> Seen:
    return Seen(_live(record), record.attention, record.attention_reason)


def watch_line(record: SessionRecord, as_json: bool) -> str:
    """One line for a change: time, short id, title, state and reason."""
    state = record.attention if _live(record) else f"exited ({record.status})"
    if as_json:
        doc = {
            "sessionId": record.id,
            "title": record.title,
            "status": record.status,
            "attention": record.attention,
            "attention_reason": record.attention_reason,
            "attention_since": record.attention_since,
        }
        return json.dumps(doc, ensure_ascii=False)
    reason = f" — {record.attention_reason}" if record.attention_reason and _live(record) else ""
    title = " ".join(record.title.split())
    return f"{time.strftime('%H:%M:%S')} {record.id[:8]} {title}: {state}{reason}"


@click.command("watch")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def watch_cmd(as_json: bool) -> None:
    """Follow every session: one line per attention change or exit (Ctrl-C stops)."""
    api = client()
    _require_attention(api)
    seen: dict[str, Seen] = {}
    first = True
    try:
        while True:
            for record in api.list_sessions(False):
                now = _seen(record)
                before = seen.get(record.id)
                seen[record.id] = now
                if before == now or (first and not now.live) or (before is None and not now.live):
                    continue
                click.echo(watch_line(record, as_json))
            first = False
            time.sleep(WATCH_SECONDS)
    except KeyboardInterrupt:
        return
