"""``coven run``, ``coven attach`` and ``coven summon``: the terminal side of a session.

The daemon owns every session (DESIGN decision 1): ``run`` asks it to launch,
then attaches in the foreground like ``tmux new-session``. Leaving (Ctrl-],
closing the terminal, a signal) leaves the session running.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable

import click

from coven.cli import daemonctl
from coven.cli.attaching import AttachOutcome, attach, exit_line, run_exit_code
from coven.cli.context import (
    client,
    hint,
    home,
    is_remote,
    launch_path,
    out,
    project_root,
    socket_home,
)
from coven.cli.failures import CliError
from coven.cli.render import attached_header, created_header, short_id
from coven.cli.terminal import is_interactive, raw_mode, window_size
from coven.client import LaunchOptions, launch_environment
from coven.schema.wire import SessionRecord

DETACH_HINT = "Ctrl-] detaches (the session keeps running)"


def detached_line(session_id: str) -> str:
    return (
        f"\r\n[detached from session {session_id}; rejoin with: "
        f"coven attach {short_id(session_id)}]\r\n"
    )


def ensure_daemon() -> None:
    """Start the daemon when none is running (one line on stderr says so).

    Another machine's daemon is never started implicitly: with ``--host`` the
    forward reports it not running and names ``coven --host … daemon start``.
    """
    if is_remote():
        return
    status = daemonctl.probe(home())
    if status.state != "running":
        started = daemonctl.start(home())
        hint(f"Coven daemon: started (pid {started.pid}, socket {started.socket})")


def follow(
    session_id: str,
    *,
    on_attached: Callable[[SessionRecord], None] | None = None,
) -> AttachOutcome:
    """Attach this process's terminal (or plain stdio) to a session until it ends or we leave."""
    interactive = is_interactive()
    if not interactive:
        return asyncio.run(
            attach(socket_home(), session_id, forward_input=False, on_attached=on_attached)
        )
    with raw_mode(sys.stdin.fileno()):
        outcome = asyncio.run(
            attach(socket_home(), session_id, forward_input=True, on_attached=on_attached)
        )
    return outcome


def report_ending(session_id: str, outcome: AttachOutcome) -> None:
    """What the user sees after the terminal is restored."""
    if outcome.exit is not None:
        hint(("" if outcome.ends_with_newline else "\n") + exit_line(outcome.exit))
    elif outcome.ending == "detached":
        hint(detached_line(session_id).strip("\r\n"))
    elif outcome.ending == "signalled":
        hint(
            f"[left session {session_id} running; rejoin with: coven attach {short_id(session_id)}]"
        )


def _labels(raw: str) -> list[str]:
    return [label.strip() for label in raw.split(",") if label.strip()]


@click.command("run", context_settings={"allow_interspersed_args": True})
@click.argument("harness")
@click.argument("prompt", nargs=-1)
@click.option(
    "--root",
    "root_dir",
    metavar="DIR",
    help="Project root (default: the current directory; with --host, required).",
)
@click.option("--cwd", help="Working directory, inside the project root (the current directory).")
@click.option("--title", help="Session title (default: the prompt).")
@click.option("--model", help="Model id, passed to the harness's model flag.")
@click.option("--permission", type=click.Choice(["full", "read-only"]), help="Sandbox mapping.")
@click.option("--add-dir", "add_dirs", multiple=True, help="Extra writable directory (repeatable).")
@click.option("--labels", help="Comma-separated labels, e.g. a,b.")
@click.option("--detach", is_flag=True, help="Launch and return at once; attach later.")
@click.option("--familiar", help="Run as this familiar from familiars.toml (identity, model).")
def run_cmd(
    harness: str,
    prompt: tuple[str, ...],
    root_dir: str | None,
    cwd: str | None,
    title: str | None,
    model: str | None,
    permission: str | None,
    add_dirs: tuple[str, ...],
    labels: str | None,
    detach: bool,
    familiar: str | None,
) -> None:
    """Launch HARNESS through the daemon and attach to it (Ctrl-] detaches)."""
    text = " ".join(prompt).strip()
    if not text:
        raise CliError(
            f'nothing to do; pass a prompt, e.g. `coven run {harness} "fix the failing tests"`'
        )
    interactive = is_interactive() and not detach
    rows, cols = window_size(sys.stdout.fileno() if interactive else None)
    ensure_daemon()
    root = project_root(root_dir)
    options: LaunchOptions = {
        "launch_mode": "interactive" if interactive else "nonInteractive",
        "rows": rows,
        "cols": cols,
    }
    if not is_remote():
        # The session runs in this command's environment (PATH, virtualenv, API keys,
        # TERM), not the daemon's; the daemon never stores or logs it. Another
        # machine's daemon keeps its own: this shell's PATH means nothing there.
        options["environment"] = launch_environment()
    if cwd is not None:
        options["cwd"] = cwd
    if title is not None:
        options["title"] = title
    if model is not None:
        options["model"] = model
    if permission is not None:
        options["permission"] = permission
    if add_dirs:
        options["add_dirs"] = [launch_path(d) for d in add_dirs]
    if labels is not None:
        options["labels"] = _labels(labels)
    if familiar is not None:
        options["familiar_id"] = familiar
    record = client().launch(root, harness, text, **options)
    shown_cwd = os.path.realpath(os.path.join(root, cwd)) if cwd else root
    if detach:
        out(record.id)
        hint(
            f"Coven session started in the background; attach with: coven attach {short_id(record.id)}"
        )
        return
    hint(created_header(record, shown_cwd))
    outcome = follow(record.id)
    report_ending(record.id, outcome)
    if outcome.exit is not None:
        sys.exit(run_exit_code(outcome.exit))


def attach_and_report(session_id: str) -> None:
    """The attach flow shared by ``attach`` and ``summon``: header, replay, live, report."""

    def header(record: SessionRecord) -> None:
        hint(
            attached_header(record, DETACH_HINT).replace("\n", "\r\n" if is_interactive() else "\n")
        )

    outcome = follow(session_id, on_attached=header)
    report_ending(session_id, outcome)


@click.command("attach")
@click.argument("session")
def attach_cmd(session: str) -> None:
    """Replay a session, then follow it live with input (Ctrl-] detaches)."""
    record = client().resolve_session_ref(session)
    attach_and_report(record.id)


@click.command("summon")
@click.argument("session")
def summon_cmd(session: str) -> None:
    """Restore an archived session, then attach to it."""
    api = client()
    record = api.resolve_session_ref(session)
    if record.archived_at is not None:
        api.summon(record.id)
        hint("summoned session from the archive")
    attach_and_report(record.id)
