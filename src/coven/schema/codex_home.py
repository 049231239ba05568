"""Where Codex keeps its files for a given environment: one rule for the daemon and the CLI.

Codex reads and writes under ``$CODEX_HOME``, else ``$HOME/.codex``, of the environment
it runs with: its rollout files (``sessions/``, which the daemon follows to resume a
conversation) and its ``config.toml`` (whose ``notify`` command ``coven hook`` runs on
the user's behalf).
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def codex_home(env: Mapping[str, str]) -> str | None:
    """``$CODEX_HOME``, else ``$HOME/.codex``, of ``env``; ``None`` when it sets neither."""
    if env.get("CODEX_HOME"):
        return env["CODEX_HOME"]
    home = env.get("HOME")
    return os.path.join(home, ".codex") if home else None
