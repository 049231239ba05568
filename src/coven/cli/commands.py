"""The ``coven`` command's table of commands and its top-level help, without click.

``coven.cli.main`` builds the click group from these; ``coven.cli.fast_help``
prints ``coven --help`` from them without importing click (a test holds the two
outputs byte for byte equal).
"""

from __future__ import annotations

from typing import NamedTuple

ROOT_HELP = "Coven: run coding-agent CLIs as supervised, recorded sessions."
HOST_HELP = (
    "Work with the daemon on another machine over your own ssh: "
    "ssh://user@box[:port] or a name from coven hosts. Also read from $COVEN_HOST."
)
# The short help of the commands ``coven.cli.main`` defines itself (their docstrings'
# first sentences; tests/unit/test_cli_registry.py checks them).
INLINE_HELP = {
    "completion": "Print the shell completion script for bash, zsh or fish.",
    "doctor": "Check harnesses, the daemon and the home.",
    "version": "Print the version of this coven command.",
}


class Entry(NamedTuple):
    """Where a command lives and what ``coven --help`` says about it (its short help)."""

    target: str  # "module:attribute", imported when the command is needed
    help: str
    hidden: bool = False
    short: bool = False  # ``help`` is the command's own ``short_help``: never shortened


COMMANDS: dict[str, Entry] = {
    "adapter": Entry(
        "coven.cli.adapter_cmd:adapter_group",
        "Harness adapters: built-ins and trusted manifests.",
    ),
    "archive": Entry(
        "coven.cli.rituals_cmd:archive_cmd", "Hide a finished session; its events are kept."
    ),
    "attach": Entry(
        "coven.cli.run_cmd:attach_cmd",
        "Show a live session's screen, then follow it with input.",
    ),
    "cast": Entry(
        "coven.cli.cast_cmd:cast_cmd",
        "Carry out a Cast Code (~? ~>name ~name: task …).",
        short=True,
    ),
    "changes": Entry("coven.cli.work_cmd:changes_cmd", "Show the files a session changed."),
    "cockpit": Entry(
        "coven.cli.cockpit_cmd:cockpit_cmd", "Open the web cockpit in the browser.", short=True
    ),
    "daemon": Entry(
        "coven.cli.daemon_cmd:daemon_group", "Manage the Coven daemon that owns every session."
    ),
    "diff": Entry("coven.cli.work_cmd:diff_cmd", "Show the unified diff of a session's work."),
    "discard": Entry(
        "coven.cli.work_cmd:discard_cmd",
        "Remove a session's lane (worktree and branch).",
    ),
    "export": Entry(
        "coven.cli.export_cmd:export_cmd", "Export a session as an asciicast v2 file.", short=True
    ),
    "familiars": Entry(
        "coven.cli.familiars_cmd:familiars_group",
        "List familiars (with live state), or add and remove them.",
    ),
    "hook": Entry(
        "coven.cli.hook_cmd:hook_cmd",
        "Report a harness hook to the daemon (run by the harness, not by people).",
        hidden=True,
    ),
    "hosts": Entry("coven.cli.hosts_cmd:hosts_group", "Name other machines for coven --host NAME."),
    "kill": Entry("coven.cli.rituals_cmd:kill_cmd", "Kill a live session; its event log is kept."),
    "logs": Entry(
        "coven.cli.search_cmd:logs_group",
        "Maintain the event log (prune old events).",
        short=True,
    ),
    "ls": Entry("coven.cli.sessions_cmd:ls_cmd", "List sessions as a table (never the browser)."),
    "merge": Entry("coven.cli.work_cmd:merge_cmd", "Merge a session's lane into your branch."),
    "ps": Entry("coven.cli.sessions_cmd:ps_cmd", "List sessions as a table (never the browser)."),
    "run": Entry(
        "coven.cli.run_cmd:run_cmd",
        "Launch HARNESS through the daemon and attach to it.",
    ),
    "sacrifice": Entry(
        "coven.cli.rituals_cmd:sacrifice_cmd",
        "Delete a finished session and its events for good.",
    ),
    "screen": Entry("coven.cli.sessions_cmd:screen_cmd", "Print a session's screen as text."),
    "send": Entry(
        "coven.cli.attention_cmd:send_cmd",
        "Type TEXT into a live session, as if typed at its terminal.",
    ),
    "sessions": Entry(
        "coven.cli.sessions_cmd:sessions_group", "List sessions; on a terminal, a live browser."
    ),
    "status": Entry(
        "coven.cli.status_cmd:status_cmd",
        "Show the daemon, its sessions and familiars.",
        short=True,
    ),
    "summon": Entry(
        "coven.cli.run_cmd:summon_cmd", "Restore an archived session, then attach to it."
    ),
    "wait": Entry(
        "coven.cli.attention_cmd:wait_cmd",
        "Wait until a session needs you (or ends); print its state.",
    ),
    "watch": Entry(
        "coven.cli.attention_cmd:watch_cmd",
        "Print one line per attention change or exit of any session.",
    ),
}
