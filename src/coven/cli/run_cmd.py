"""``coven run``, ``coven attach`` and ``coven summon``: the terminal side of a session.

The daemon owns every session: ``run`` asks it to launch, then attaches in the
foreground like ``tmux new-session``. Leaving (the detach keys, closing the
terminal, a signal) leaves the session running. The CLI decides the launch
mode: the agent's own interactive UI, unless ``--print`` asks for a headless
one-shot run; ``--detach`` changes only where it runs, not how.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from coven.cli import daemonctl
from coven.cli.attach_flow import attach_and_report, follow, report_ending
from coven.cli.attach_words import detach_hint
from coven.cli.attaching import run_exit_code
from coven.cli.completion import complete_harness, complete_session
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
from coven.cli.detach_keys import (
    DEFAULT_SPEC,
    ENV_VAR,
    DetachKeysError,
    Key,
    parse_detach_keys,
)
from coven.cli.failures import CliError
from coven.cli.launch_preview import LaunchPreview, socket_of, started_line
from coven.cli.render import created_header, short_id
from coven.cli.terminal import is_interactive, window_size
from coven.client import ApiError, LaunchOptions, launch_environment
from coven.client.calls import launch as launch_call
from coven.client.sync import launch_body
from coven.schema.wire import SessionRecord

if TYPE_CHECKING:
    from coven.cli.daemon_spawn import OutputSink


def ensure_daemon(
    *,
    warm_attach: bool = False,
    launch: bytes | None = None,
    on_answer: daemonctl.OnAnswer | None = None,
) -> tuple[int, bytes] | None:
    """Start the daemon when none is running (one line on stderr says so).

    Another machine's daemon is never started implicitly: with ``--host`` the
    forward reports it not running and names ``coven --host … daemon start``.
    ``warm_attach``: the caller attaches next, so the attach client's libraries are
    imported on a thread while the new daemon starts (see ``_warm_attach_client``).
    ``launch``: a ``POST /sessions`` body to hand to a daemon started here, which
    launches it before it loads its API (``daemonctl.start_launching``); its answer
    (HTTP status, JSON body) is returned, ``None`` when no daemon took it.
    ``on_answer``: ``daemonctl.start_launching``'s; when it takes the session's output
    (``LaunchPreview``), it has also said that the daemon started.
    """
    if is_remote():
        return None
    if daemonctl.already_running(home()) is not None:
        return None
    warming = _warm_attach_client() if warm_attach else None
    previewed = False

    def answered(pid: int, answer: tuple[int, bytes]) -> OutputSink | None:
        nonlocal previewed
        sink = None if on_answer is None else on_answer(pid, answer)
        previewed = sink is not None
        return sink

    try:
        started, answer = daemonctl.start_launching(home(), launch, on_answer=answered)
    finally:
        if warming is not None:
            warming.join()
    if not previewed:
        hint(started_line(started.pid, started.socket))
    return answer


def _warm_attach_client() -> threading.Thread:
    """Import the attach client (asyncio and the attach stream) on a thread.

    Starting a daemon leaves this process waiting about a third of a second for it to
    answer; on another core the import is done by then. The thread changes nothing
    but ``sys.modules``, and it is joined before ``ensure_daemon`` returns.
    """

    def load() -> None:
        with contextlib.suppress(Exception):  # ``attach`` imports it again and reports
            import coven.client.attach_stream  # noqa: F401

    thread = threading.Thread(target=load, name="coven-warm-attach", daemon=True)
    thread.start()
    return thread


def _detach_keys_option(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> tuple[Key, ...]:
    try:
        return parse_detach_keys(DEFAULT_SPEC if value is None else value)
    except DetachKeysError as exc:
        raise click.BadParameter(str(exc)) from exc


detach_keys_option = click.option(
    "--detach-keys",
    "detach_keys",
    envvar=ENV_VAR,
    callback=_detach_keys_option,
    metavar="KEYS",
    help=f"Keys that detach, docker-style: ctrl-] (the default) or a sequence such as "
    f"ctrl-p,ctrl-q. Also read from ${ENV_VAR}.",
)


@contextlib.contextmanager
def launch_errors(*, cwd: str | None, add_dirs: tuple[str, ...], root: str) -> Iterator[None]:
    """Word the daemon's refusal of a path in terms of the option the user typed."""
    try:
        yield
    except ApiError as exc:
        worded = launch_refusal(exc, cwd=cwd, add_dirs=add_dirs, root=root)
        if worded is None:
            raise
        raise CliError(worded) from exc


def launch_refusal(
    exc: ApiError, *, cwd: str | None, add_dirs: tuple[str, ...], root: str
) -> str | None:
    """The sentence for a refused ``--cwd``/``--add-dir``, or ``None`` to keep the daemon's."""
    details = exc.details or {}
    field, reason = details.get("field"), details.get("reason")
    if field == "cwd" and cwd is not None:
        if reason == "outside_project_root":
            return f"`--cwd {cwd}` is outside the project root {details.get('projectRoot', root)}"
        if reason == "not_found":
            return f"no such directory: {cwd}"
        if reason == "not_a_directory":
            return f"`--cwd {cwd}` is not a directory"
    if field == "addDirs" and reason in ("not_found", "not_a_directory"):
        sent = details.get("path")
        typed = next((d for d in add_dirs if launch_path(d) == sent), sent)
        if reason == "not_found":
            return f"no such directory: {typed} (--add-dir)"
        return f"`--add-dir {typed}` is not a directory"
    return None


def lane_counterpart(record: SessionRecord, path: str) -> str:
    """Where ``path`` of the user's checkout is in the session's lane (itself without a lane)."""
    if record.worktree_path is None or record.git_root is None:
        return path
    relative = os.path.relpath(path, record.git_root)
    if relative == os.curdir or relative.startswith(os.pardir):
        return record.worktree_path
    return os.path.join(record.worktree_path, relative)


def _labels(raw: str) -> list[str]:
    return [label.strip() for label in raw.split(",") if label.strip()]


@click.command("run", context_settings={"allow_interspersed_args": True})
@click.argument("harness", shell_complete=complete_harness)
@click.argument("prompt", nargs=-1)
@click.option(
    "--root",
    "root_dir",
    metavar="DIR",
    help="Project root (default: the top of the git repository here, else the current "
    "directory; with --host, required).",
)
@click.option(
    "--cwd",
    help="Working directory, inside the project root (default: the current directory; "
    "a relative path is taken against it).",
)
@click.option(
    "--worktree",
    is_flag=True,
    help="Run in a lane of its own: a git worktree on branch coven/<short-id>.",
)
@click.option(
    "--continue",
    "continues",
    metavar="SESSION",
    help="Continue SESSION's harness conversation (and its lane) in a new session.",
)
@click.option("--title", help="Session title (default: the prompt).")
@click.option("--model", help="Model id, passed to the harness's model flag.")
@click.option(
    "--permission",
    type=click.Choice(["full", "read-only"]),
    help="Sandbox: full access, or read-only (mapped to the harness's own flag).",
)
@click.option(
    "--add-dir",
    "add_dirs",
    multiple=True,
    metavar="DIR",
    help="Extra writable directory (repeatable).",
)
@click.option("--labels", help="Comma-separated labels, e.g. a,b.")
@click.option(
    "--detach",
    is_flag=True,
    help="Start the agent in the background and print its id; attach later.",
)
@click.option(
    "--print",
    "--non-interactive",
    "one_shot",
    is_flag=True,
    help="Headless one-shot run (codex exec, claude --print) instead of the agent's own UI.",
)
@detach_keys_option
@click.option("--familiar", help="Run as this familiar from familiars.toml (identity, model).")
def run_cmd(
    harness: str,
    prompt: tuple[str, ...],
    root_dir: str | None,
    cwd: str | None,
    worktree: bool,
    continues: str | None,
    title: str | None,
    model: str | None,
    permission: str | None,
    add_dirs: tuple[str, ...],
    labels: str | None,
    detach: bool,
    one_shot: bool,
    detach_keys: tuple[Key, ...],
    familiar: str | None,
) -> None:
    """Launch HARNESS through the daemon and attach to it.

    Without a prompt the agent starts on its own screen. With --detach it runs in
    the background exactly as it would in the foreground.
    """
    text = " ".join(prompt).strip()
    if one_shot and not text:
        raise CliError(f'--print needs a prompt, e.g. coven run {harness} --print "fix the tests"')
    interactive = is_interactive()
    rows, cols = window_size(_terminal_fd())
    root = project_root(root_dir)
    options: LaunchOptions = {
        "launch_mode": "nonInteractive" if one_shot else "interactive",
        "rows": rows,
        "cols": cols,
    }
    shown_cwd = os.path.realpath(os.path.join(root, cwd)) if cwd else root
    if is_remote():
        if cwd is not None:
            options["cwd"] = cwd  # a path on the other machine, under its root
    else:
        # The session runs in this command's environment (PATH, virtualenv, API keys,
        # TERM), not the daemon's; the daemon never stores or logs it. Another
        # machine's daemon keeps its own: this shell's PATH means nothing there.
        options["environment"] = launch_environment()
        # Locally a relative --cwd is the user's, taken against the current directory
        # (so `--cwd ..` from a subdirectory of the repository means its parent), and
        # the default cwd is the current directory even when the root is the repository's.
        shown_cwd = os.path.realpath(cwd if cwd is not None else os.getcwd())
        options["cwd"] = shown_cwd
    if worktree:
        options["isolation"] = "worktree"
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
    # The whole launch is known before the daemon is: a daemon started now takes it
    # before it loads its API (--continue names a session only a running daemon knows).
    call = None
    if continues is None:
        call = launch_call(launch_body(root, harness, text, **options))

    def header(record: SessionRecord) -> str:
        mode = _mode_line(one_shot, interactive, detach_keys)
        return created_header(record, lane_counterpart(record, shown_cwd), mode)

    def announce(pid: int, record: SessionRecord) -> None:
        hint(started_line(pid, socket_of(home())))
        hint(header(record))

    # A daemon started now shows the session's first output before its API is up.
    preview = None if call is None or detach else LaunchPreview(call.parse, announce)
    with preview if preview is not None else contextlib.nullcontext():
        answer = ensure_daemon(
            warm_attach=not detach,
            launch=None if call is None else call.request.body,
            on_answer=None if preview is None else preview.on_answer,
        )
        if continues is not None:
            options["resume"] = client().resolve_session_ref(continues).id
        with launch_errors(cwd=cwd, add_dirs=add_dirs, root=root):
            if call is not None and answer is not None:
                record = call.parse(*answer)  # as the API would have answered it
            else:
                record = client().launch(root, harness, text, **options)
        if detach:
            out(record.id)
            mode = "one-shot (--print)" if one_shot else "interactive"
            hint(
                f"Coven session started in the background ({mode}); "
                f"attach with: coven attach {short_id(record.id)}"
            )
            return
        if preview is None or not preview.taken:
            hint(header(record))
        outcome = follow(socket_home(), record.id, keys=detach_keys, fresh=True, preview=preview)
    report_ending(record.id, outcome)
    if outcome.exit is not None:
        sys.exit(run_exit_code(outcome.exit))


def _terminal_fd() -> int | None:
    """The user's terminal, for its size: stdout, else stdin, else stderr (``--detach > id``)."""
    return next((fd for fd in (1, 0, 2) if os.isatty(fd)), None)


def _mode_line(one_shot: bool, interactive: bool, keys: tuple[Key, ...]) -> str:
    mode = "one-shot (--print)" if one_shot else "interactive"
    if interactive:
        return f"{mode}; {detach_hint(keys)}"
    return f"{mode}; stdin is not a terminal, so output is followed without input"


@click.command("attach")
@click.argument("session", shell_complete=complete_session)
@click.option(
    "--read-only",
    is_flag=True,
    help="Watch only: nothing typed reaches the agent and its size is left alone.",
)
@click.option(
    "--replay",
    is_flag=True,
    help="Replay everything the session printed instead of starting from its current screen.",
)
@click.option(
    "--history",
    type=click.IntRange(0, 10_000),
    default=None,
    metavar="N",
    help="Lines of scrollback to show above the current screen (default 100).",
)
@detach_keys_option
def attach_cmd(
    session: str, read_only: bool, replay: bool, history: int | None, detach_keys: tuple[Key, ...]
) -> None:
    """Show a live session's screen, then follow it with input.

    A finished session, or output that is not a terminal, is replayed from the start."""
    record = client().resolve_session_ref(session)
    attach_and_report(
        socket_home(),
        record.id,
        keys=detach_keys,
        read_only=read_only,
        replay=replay,
        history=history,
    )


@click.command("summon")
@click.argument("session", shell_complete=complete_session)
@detach_keys_option
def summon_cmd(session: str, detach_keys: tuple[Key, ...]) -> None:
    """Restore an archived session, then attach to it."""
    api = client()
    record = api.resolve_session_ref(session)
    if record.archived_at is not None:
        api.summon(record.id)
        hint("summoned session from the archive")
    attach_and_report(socket_home(), record.id, keys=detach_keys)
