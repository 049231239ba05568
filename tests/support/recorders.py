"""Stand-ins for programs Coven calls out to (``notify-send``, a user's Codex ``notify``)."""

from __future__ import annotations

from pathlib import Path


def recording_program(path: Path, log: Path) -> Path:
    """Write an executable at ``path`` that appends its arguments to ``log``, one per
    line, and a blank line after each call."""
    path.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{log}"\necho >> "{log}"\n')
    path.chmod(0o755)
    return path
