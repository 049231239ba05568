"""``coven cast "<code>"``: a Cast Code, parsed here, carried out as ordinary daemon calls.

Every cast is first recorded in the daemon's ledger (``POST /cast``), then each
call it makes is validated by the daemon as if made by hand (see
``coven.cli.casting``). Exit 0 when every call succeeded, else 1.
"""

from __future__ import annotations

import json
from typing import Any

import click
import msgspec

from coven.castcodes import CastCodeError, parse
from coven.cli.casting import CastContext, CastRefused, CastResult, default_root, perform
from coven.cli.client_state import active_familiar, set_active_familiar
from coven.cli.context import client, hint, home, out
from coven.cli.failures import CliError
from coven.cli.run_cmd import ensure_daemon
from coven.cli.terminal_text import one_line


@click.command("cast", short_help="Carry out a Cast Code (~? ~>name ~name: task …).")
@click.argument("code")
@click.option("--harness", help="Harness for a familiar that names none in the roster.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def cast_cmd(code: str, harness: str | None, as_json: bool) -> None:
    """Carry out a Cast Code: ~? ~?name ~>name ~name: task ~* text ~^name ~<name."""
    try:
        intent = parse(code)
    except CastCodeError as exc:
        raise CliError(f"{exc.message} (at character {exc.position + 1})") from exc
    ensure_daemon()
    api = client()
    api.record_cast(code.strip())
    ctx = CastContext(
        project_root=default_root(),
        active_familiar=active_familiar(home()),
        harness=harness,
        set_active=lambda name: set_active_familiar(home(), name),
    )
    try:
        result = perform(intent, api, ctx)
    except CastRefused as exc:
        raise CliError(str(exc)) from exc
    if as_json:
        out(json.dumps(to_builtins(result), indent=2, sort_keys=True))
    else:
        render(result)
    for note in result.notes:
        hint(note)
    if not result.ok:
        raise click.exceptions.Exit(1)


def to_builtins(result: CastResult) -> dict[str, Any]:
    doc: dict[str, Any] = msgspec.to_builtins(
        {
            "intent": result.intent,
            "ok": result.ok,
            "outcomes": [vars(o) for o in result.outcomes],
        }
    )
    if result.intent == "status":
        doc["familiars"] = msgspec.to_builtins(result.familiars)
        doc["sessions"] = msgspec.to_builtins(result.sessions)
        doc["overview"] = msgspec.to_builtins(result.overview)
    if result.active_familiar is not None:
        doc["activeFamiliar"] = result.active_familiar
    if result.packet is not None:
        doc["packet"] = result.packet
    return doc


def render(result: CastResult) -> None:
    if result.intent == "status":
        if result.overview is not None:
            ov = result.overview
            out(
                f"{ov.open_sessions} open session(s) · "
                f"{ov.active_familiars}/{ov.total_familiars} familiar(s) active"
            )
        for f in result.familiars:
            seen = f.last_seen or "never"
            out(f"  {f.id:<16} {f.status:<8} {f.active_sessions} live · last seen {seen}")
        for s in result.sessions:
            who = s.familiar_id or "-"
            out(f"  {s.id[:8]}  {s.status:<10} {s.harness:<8} {who:<12} {one_line(s.title)[:48]}")
    if result.active_familiar is not None:
        out(f"active familiar: {result.active_familiar}")
    if result.packet is not None and not any(o.action == "launch" for o in result.outcomes):
        from coven.cli.casting import render_packet

        out(render_packet(result.packet))
    for o in result.outcomes:
        if o.ok:
            extra = f" → session {o.session_id}" if o.session_id and o.action == "launch" else ""
            out(f"{o.action} {o.target}: ok{extra}")
        else:
            out(f"{o.action} {o.target}: refused ({o.code}): {o.message}")
