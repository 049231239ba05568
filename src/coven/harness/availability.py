"""Whether a harness can run here: PATH lookup without executing anything."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import msgspec

from coven.harness.adapter import Adapter, AdapterSource
from coven.harness.registry import HarnessRegistry


class HarnessStatus(msgspec.Struct, frozen=True):
    """One line of ``coven doctor`` / ``coven adapter list``."""

    id: str
    label: str
    source: AdapterSource
    executable: str
    executable_path: str | None
    install_hint: str
    manifest_path: Path | None = None

    @property
    def available(self) -> bool:
        return self.executable_path is not None


def resolve_executable(adapter: Adapter, path_env: str | None) -> str | None:
    """The first ``PATH`` entry holding a regular, executable file named ``adapter.executable``.

    The file is never run. Empty ``PATH`` entries are skipped rather than read
    as the current directory, so a harness is never picked up from wherever
    the daemon happens to be.
    """
    if not path_env:
        return None
    for directory in path_env.split(os.pathsep):
        if not directory:
            continue
        candidate = os.path.join(directory, adapter.executable)
        try:
            info = os.stat(candidate)
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and os.access(candidate, os.X_OK):
            return candidate
    return None


def missing_executable_message(adapter: Adapter) -> str:
    """The refusal for a configured harness whose executable is not on PATH."""
    return f"harness `{adapter.id}` is not available. {adapter.install_hint}"


def describe_availability(registry: HarnessRegistry, path_env: str | None) -> list[HarnessStatus]:
    """One status per configured harness, in registry order."""
    return [
        HarnessStatus(
            id=adapter.id,
            label=adapter.label,
            source=adapter.source,
            executable=adapter.executable,
            executable_path=resolve_executable(adapter, path_env),
            install_hint=adapter.install_hint,
            manifest_path=adapter.manifest_path,
        )
        for adapter in registry.adapters()
    ]
