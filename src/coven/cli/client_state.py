"""The CLI's own small state: the active familiar chosen with ``~>name``.

Client state, not daemon state (the daemon has no notion of an active
familiar): ``COVEN_HOME/cli-state.json``, ``{"activeFamiliar": "<id>"}``,
written 0600 and replaced atomically, after the home passed the same checks
the daemon applies to it. An unreadable or malformed file reads as "none".
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from coven.cli.home_files import prepare_home
from coven.schema.familiars import is_familiar_id

STATE_FILE = "cli-state.json"


def active_familiar(home: Path) -> str | None:
    try:
        with open(home / STATE_FILE, encoding="utf-8") as handle:
            value = json.load(handle).get("activeFamiliar")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, str) and is_familiar_id(value) else None


def set_active_familiar(home: Path, familiar_id: str) -> None:
    home = prepare_home(home)
    path = home / STATE_FILE
    tmp = home / f".{STATE_FILE}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"activeFamiliar": familiar_id}, handle)
        handle.write("\n")
    os.replace(tmp, path)
