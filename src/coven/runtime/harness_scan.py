"""Read-only scan of a harness's local configuration for the capability routes.

Only what can be known without running the harness or reading its credentials:
whether its global instructions file exists, where, and how big it is. Skills and
plugins are not inspected by this daemon, and each manifest says so in a warning
rather than implying there are none.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from coven.errors import HarnessNotFound
from coven.harness import HarnessRegistry, describe_availability
from coven.runtime.ledger import Ledger
from coven.schema.meta import (
    HarnessAvailability,
    HarnessList,
    HarnessScan,
    HarnessScans,
    InstructionsFile,
    ScanWarning,
)

# Global instruction files the built-in harnesses read (relative to the user's home).
INSTRUCTIONS = {
    "codex": (".codex", "AGENTS.md"),
    "claude": (".claude", "CLAUDE.md"),
}


def now_seconds() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def scan_harness(harness_id: str, user_home: Path) -> HarnessScan:
    """The snake_case manifest of ``GET /capabilities/:harnessId``."""
    instructions = InstructionsFile(present=False)
    warnings = [
        ScanWarning(
            "not_scanned", None, "skills and plugins are not inspected by this Coven daemon"
        )
    ]
    parts = INSTRUCTIONS.get(harness_id)
    if parts is None:
        warnings.append(
            ScanWarning(
                "unknown_layout", None, f"no known global instructions file for `{harness_id}`"
            )
        )
    else:
        path = user_home.joinpath(*parts)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            warnings.append(ScanWarning("unreadable", str(path), str(exc)))
        else:
            instructions = InstructionsFile(present=True, path=str(path), byte_count=st.st_size)
    return HarnessScan(
        harness_id=harness_id,
        scanned_at=now_seconds(),
        global_instructions=instructions,
        skills=[],
        plugins=[],
        warnings=warnings,
    )


class HarnessCatalog:
    """The capability scans of every configured harness (read-only, off the loop)."""

    def __init__(
        self,
        ledger: Ledger,
        registry: Callable[[], HarnessRegistry],
        env: dict[str, str] | None = None,
    ) -> None:
        self.ledger = ledger
        self.registry = registry
        self.env = env or {}

    async def availability(self) -> HarnessList:
        """Each configured harness and whether a launch would find it, and why not.

        Resolved against the daemon's own ``PATH``, the one a launch uses unless
        it brings its own environment, so a picker shows what the daemon can run.
        """

        def describe() -> HarnessList:
            found = describe_availability(self.registry(), self.env.get("PATH"))
            return HarnessList(
                [
                    HarnessAvailability(
                        id=status.id,
                        label=status.label,
                        source=str(status.source),
                        executable=status.executable,
                        available=status.available,
                        reason=None
                        if status.available
                        else f"`{status.executable}` is not on the daemon's PATH. "
                        f"{status.install_hint}".strip(),
                    )
                    for status in found
                ]
            )

        return await self.ledger.read(describe)

    async def scans(self) -> HarnessScans:
        ids = [adapter.id for adapter in self.registry().adapters()]
        home = Path.home()
        manifests = await self.ledger.read(lambda: [scan_harness(i, home) for i in ids])
        return HarnessScans(
            coven_skills=[], harness_capabilities=manifests, scanned_at=now_seconds()
        )

    async def scan(self, harness_id: str) -> HarnessScan:
        """One harness's scan; ``HarnessNotFound`` for an id that is not configured."""
        if self.registry().get(harness_id) is None:
            raise HarnessNotFound(
                "Harness id is not a known capability scan target.", {"harnessId": harness_id}
            )
        return await self.ledger.read(scan_harness, harness_id, Path.home())
