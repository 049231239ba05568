"""Wiring a harness's own structured signals to ``coven hook`` for one session.

* Claude Code takes ``--settings <json>``; hooks given that way are *added* to the
  user's own (checked with Claude Code 2.1.332: a ``SessionStart`` hook in
  ``~/.claude/settings.json`` and one passed with ``--settings`` both ran). We add
  ``Notification`` and ``Stop`` hooks that run ``coven hook claude --session <id>``;
  Claude sends each hook its JSON on stdin.
* Codex runs one ``notify`` program after each turn with a JSON argument; we pass
  ``-c notify=[..., "coven", "hook", "codex", "--session", <id>]``. Codex runs only
  one, so ``coven hook`` then runs the ``notify`` the user configured in Codex's
  ``config.toml`` itself, with the same argument (``coven.cli.hook_cmd``).

The hook command is ``<python> -m coven.cli.hook_cmd`` of the daemon's own
interpreter, so it works wherever the daemon runs, whatever the session's PATH.
It finds the daemon through ``COVEN_HOME`` in the harness's environment.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Sequence

HOOK_MODULE = "coven.cli.hook_cmd"
CLAUDE = "claude"
CODEX = "codex"
# Claude Code hook events we listen to; each is a separate matcher-less entry.
CLAUDE_EVENTS = ("Notification", "Stop")


def hook_command(harness: str, session_id: str, python: str | None = None) -> list[str]:
    """The argv that reports a hook of ``harness`` for ``session_id`` to the daemon."""
    return [python or sys.executable, "-m", HOOK_MODULE, harness, "--session", session_id]


def claude_settings(command: Sequence[str]) -> str:
    """The ``--settings`` JSON that runs ``command`` on Claude's Notification and Stop."""
    line = shlex.join(command)  # Claude runs hook commands through a shell
    entry = [{"hooks": [{"type": "command", "command": line, "timeout": 30}]}]
    return json.dumps({"hooks": {event: entry for event in CLAUDE_EVENTS}}, separators=(",", ":"))


def codex_notify(command: Sequence[str]) -> str:
    """The ``-c`` override (a TOML array) that makes Codex run ``command`` after each turn."""
    return "notify=" + json.dumps(list(command))  # a JSON string array is a TOML array


def hook_args(harness: str, session_id: str, python: str | None = None) -> list[str]:
    """Arguments to put right after the executable, or ``[]`` for harnesses without hooks."""
    command = hook_command(harness, session_id, python)
    if harness == CLAUDE:
        return ["--settings", claude_settings(command)]
    if harness == CODEX:
        return ["-c", codex_notify(command)]
    return []
