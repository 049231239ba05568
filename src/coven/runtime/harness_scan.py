"""Read-only scan of a harness's local configuration for the capability routes.

Only what can be known without running the harness or reading its credentials:
whether its global instructions file exists, where, and how big it is. Skills and
plugins are not inspected by this daemon, and each manifest says so in a warning
rather than implying there are none.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

# Global instruction files the built-in harnesses read (relative to the user's home).
INSTRUCTIONS = {
    "codex": (".codex", "AGENTS.md"),
    "claude": (".claude", "CLAUDE.md"),
}


def now_seconds() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def scan_harness(harness_id: str, user_home: Path) -> dict[str, Any]:
    """The snake_case manifest of ``GET /capabilities/:harnessId``."""
    instructions: dict[str, Any] = {"present": False}
    warnings: list[dict[str, Any]] = [
        {
            "kind": "not_scanned",
            "path": None,
            "message": "skills and plugins are not inspected by this Coven daemon",
        }
    ]
    parts = INSTRUCTIONS.get(harness_id)
    if parts is None:
        warnings.append(
            {
                "kind": "unknown_layout",
                "path": None,
                "message": f"no known global instructions file for `{harness_id}`",
            }
        )
    else:
        path = user_home.joinpath(*parts)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            warnings.append({"kind": "unreadable", "path": str(path), "message": str(exc)})
        else:
            instructions = {"present": True, "path": str(path), "byte_count": st.st_size}
    return {
        "harness_id": harness_id,
        "scanned_at": now_seconds(),
        "global_instructions": instructions,
        "skills": [],
        "plugins": [],
        "warnings": warnings,
    }
