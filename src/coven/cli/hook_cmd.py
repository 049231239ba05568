"""``coven hook``: the entry point a harness's own hooks run to report attention.

The daemon wires it at launch (``coven.harness.hooks``): Claude Code runs it for its
``Notification`` and ``Stop`` hooks with the hook's JSON on stdin; Codex runs it
after each turn with one JSON argument. It turns that into an attention report
for the session named by ``--session`` and sends it to the daemon found through
``COVEN_HOME`` (which the daemon puts in the harness's environment).

A hook must never break the agent: whatever goes wrong (no daemon, a payload it
does not understand) is one line on stderr and exit status 0. Runnable as
``python -m coven.cli.hook_cmd`` without loading the rest of the CLI.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from coven.schema.codex_home import codex_home
from coven.schema.vocabulary import AttentionState

MAX_STDIN = 1024 * 1024
REPORT_TIMEOUT = 5.0
MAX_REASON = 300
MAX_PROMPT = 4000


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def claude_report(payload: dict[str, Any]) -> dict[str, Any] | None:
    """Claude Code's hook JSON → a report (None for events that say nothing about attention).

    ``Notification`` asks for the user: a permission request or any other message is
    ``awaiting_input``; its ``idle_prompt`` kind (waiting for the next prompt) is ``idle``.
    ``Stop`` (the turn ended) is ``idle``.
    """
    event = payload.get("hook_event_name")
    if event == "Notification":
        message = payload.get("message")
        reason = _cut(message, MAX_REASON) if isinstance(message, str) and message.strip() else None
        kind = payload.get("notification_type")
        state = AttentionState.IDLE if kind == "idle_prompt" else AttentionState.AWAITING_INPUT
        report: dict[str, Any] = {
            "state": state,
            "reason": reason or "Claude needs your attention",
            "hook": "claude:Notification",
        }
        if isinstance(message, str) and len(message) > MAX_REASON:
            report["prompt"] = _cut(message, MAX_PROMPT)
        return report
    if event == "Stop":
        return {"state": AttentionState.IDLE, "reason": "turn finished", "hook": "claude:Stop"}
    return None


def codex_report(payload: dict[str, Any]) -> dict[str, Any] | None:
    """Codex's ``notify`` JSON → a report: ``agent-turn-complete`` is ``idle``."""
    if payload.get("type") != "agent-turn-complete":
        return None
    report: dict[str, Any] = {
        "state": AttentionState.IDLE,
        "reason": "turn complete",
        "hook": "codex:notify",
    }
    last = payload.get("last-assistant-message")
    if isinstance(last, str) and last.strip():
        report["prompt"] = _cut(last, MAX_PROMPT)  # the daemon redacts it before keeping it
    return report


def _payload(harness: str, argument: str | None) -> dict[str, Any]:
    if harness == "codex":
        raw = argument if argument is not None else ""
    else:
        raw = sys.stdin.read(MAX_STDIN) if argument is None else argument
    doc = json.loads(raw)
    if not isinstance(doc, dict):
        raise ValueError("the hook payload is not a JSON object")
    return doc


def codex_user_notify(env: dict[str, str]) -> list[str] | None:
    """The ``notify`` command in the user's Codex ``config.toml``, which our ``-c notify``
    override displaced for this session; ``None`` when there is none to run.

    The file is ``$CODEX_HOME/config.toml``, else ``~/.codex/config.toml``, of the
    harness's own environment (a hook inherits it). A ``notify`` that is not a
    non-empty list of strings, or that is a ``coven hook`` itself, is not run.
    """
    import tomllib

    base = codex_home(env) or os.path.join(os.path.expanduser("~"), ".codex")
    try:
        with open(os.path.join(base, "config.toml"), "rb") as handle:
            config = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    command = config.get("notify")
    if not isinstance(command, list) or not command:
        return None
    if not all(isinstance(part, str) for part in command) or not command[0]:
        return None
    if any("coven.cli.hook_cmd" in part for part in command):
        return None  # ours, written into the file: running it again would report twice
    return command


def _run_user_notify(command: list[str], payload: str) -> None:
    """Start the user's own Codex ``notify`` as Codex would: with the payload as its last
    argument, not waited for, its output kept off the agent's screen."""
    import subprocess

    subprocess.Popen(
        [*command, payload],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _home() -> Path:
    from coven.client import default_home

    return default_home()  # COVEN_HOME, as the daemon set it for the harness


@click.command("hook", hidden=True)
@click.argument("harness", type=click.Choice(["claude", "codex"]))
@click.argument("payload", required=False)
@click.option("--session", "session_id", required=True, help="The Coven session id.")
def hook_cmd(harness: str, payload: str | None, session_id: str) -> None:
    """Report a harness hook to the daemon (run by the harness, not by people)."""
    if harness == "codex" and payload is not None:
        try:
            user_notify = codex_user_notify(dict(os.environ))
            if user_notify is not None:
                _run_user_notify(user_notify, payload)
        except Exception as exc:  # their program is theirs; the report still goes
            click.echo(f"coven hook: could not run your Codex notify program: {exc}", err=True)
    try:
        doc = _payload(harness, payload)
    except ValueError as exc:
        click.echo(f"coven hook: cannot read the {harness} hook payload: {exc}", err=True)
        return
    report = claude_report(doc) if harness == "claude" else codex_report(doc)
    if report is None:
        return
    from coven.client import CovenClient

    try:
        CovenClient.from_home(_home(), timeout=REPORT_TIMEOUT).report_attention(session_id, report)
    except Exception as exc:  # a hook must never fail the agent
        click.echo(f"coven hook: could not report to the daemon: {exc}", err=True)


if __name__ == "__main__":
    hook_cmd.main(prog_name="coven hook")
