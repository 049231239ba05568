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
from coven.cli.terminal_text import one_line
from coven.client import CovenClient
from coven.schema import AttentionState, EventKind, SessionStatus
from coven.schema.wire import EventRecord, SessionRecord

FEATURE = "attention"  # the health feature flag (not the event kind)
POLL_SECONDS = 0.25
WATCH_SECONDS = 0.5
# `coven wait` exit statuses (besides 0 ok, 1 error, 2 usage).
EXIT_ENDED = 3
EXIT_TIMEOUT = 4
UNTIL_EXIT = "exit"  # the session ended (any status)
UNTIL = (AttentionState.AWAITING_INPUT.value, AttentionState.IDLE.value, UNTIL_EXIT)
STOPPED = frozenset({AttentionState.IDLE, AttentionState.AWAITING_INPUT})


def _live(record: SessionRecord) -> bool:
    return record.status == SessionStatus.RUNNING


def reached(record: SessionRecord, until: str) -> bool:
    """Has ``record`` reached ``until``? ``idle`` counts an agent waiting for input too."""
    if until == UNTIL_EXIT:
        return not _live(record)
    if until == AttentionState.IDLE:
        return record.attention in STOPPED
    return record.attention == until


def describe(record: SessionRecord) -> str:
    """``<id> <state>[: reason]`` — the state a script sees (``exited (status)`` when ended)."""
    if not _live(record):
        return f"{record.id} exited ({record.status})"
    reason = f": {one_line(record.attention_reason)}" if record.attention_reason else ""
    return f"{record.id} {record.attention or 'unknown'}{reason}"


def _require_attention(api: CovenClient) -> None:
    if not api.handshake().capabilities.get(FEATURE):
        raise CliError("this daemon does not report attention (features.attention is off)")


@click.command("wait")
@click.argument("session", shell_complete=complete_session)
@click.option(
    "--until",
    type=click.Choice(UNTIL),
    default=AttentionState.IDLE.value,
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
    """Type TEXT into a live session, as if typed at its terminal."""
    api = client()
    record = api.resolve_session_ref(session)
    # Enter is a carriage return, as a terminal sends it (cooked ttys turn it into \\n).
    api.send_input(record.id, text + ("\r" if enter else ""))


@dataclass
class Followed:
    """A session ``coven watch`` follows: the last event seq it has read."""

    title: str
    last_seq: int = 0
    ended: bool = False


def change_line(session_id: str, title: str, event: EventRecord, as_json: bool) -> str | None:
    """The line for an ``attention`` or ``exit`` event (None for any other event)."""
    if event.kind not in (EventKind.ATTENTION, EventKind.EXIT):
        return None
    payload = json.loads(event.payload_json)
    ended = event.kind == EventKind.EXIT
    state = None if ended else payload.get("state")
    reason = None if ended else payload.get("reason")
    status = payload.get("status") if ended else SessionStatus.RUNNING
    if as_json:
        doc = {
            "sessionId": session_id,
            "title": title,
            "seq": event.seq,
            "at": event.created_at,
            "status": status,
            FEATURE: state,
            "attention_reason": reason,
            "source": None if ended else payload.get("source"),
        }
        return json.dumps(doc, ensure_ascii=False)
    shown = f"exited ({status})" if ended else str(state)
    detail = f" — {one_line(str(reason))}" if reason else ""
    name = " ".join(one_line(title).split())
    return f"{event.created_at[11:19]} {session_id[:8]} {name}: {shown}{detail}"


@click.command("watch")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def watch_cmd(as_json: bool) -> None:
    """Print one line per attention change or exit of any session.

    Runs until Ctrl-C.

    Sessions already live when it starts are followed from that moment; sessions
    launched later from their first event. Reads each live session's new events.
    """
    api = client()
    _require_attention(api)
    followed: dict[str, Followed] = {}
    for record in api.list_sessions(False):
        last = 0
        if _live(record):
            for event in api.iter_events(record.id):
                last = event.seq
        followed[record.id] = Followed(record.title, last, ended=not _live(record))
    try:
        while True:
            for record in api.list_sessions(False):
                follow = followed.setdefault(record.id, Followed(record.title))
                if follow.ended:
                    continue
                for event in api.iter_events(record.id, follow.last_seq):
                    follow.last_seq = event.seq
                    line = change_line(record.id, follow.title, event, as_json)
                    if line is not None:
                        click.echo(line)
                    follow.ended = follow.ended or event.kind == EventKind.EXIT
            time.sleep(WATCH_SECONDS)
    except KeyboardInterrupt:
        return
