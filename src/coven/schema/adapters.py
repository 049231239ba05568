"""What the daemon's offline adapter commands report to the CLI (JSON on stdout)."""

from __future__ import annotations

from typing import Literal

import msgspec


class AdapterStatus(msgspec.Struct):
    """One configured harness and whether its executable is on the daemon's PATH."""

    id: str
    label: str
    source: Literal["builtin", "manifest"]
    executable: str
    executablePath: str | None
    available: bool
    manifestPath: str | None
    installHint: str


class ManifestProblemReport(msgspec.Struct):
    """A rejected manifest: the file, the sentence to show."""

    fileName: str
    path: str
    message: str


class AdapterReport(msgspec.Struct):
    """``python -m coven.daemon adapters``: the harness registry as a launch would see it."""

    adapters: list[AdapterStatus]
    problems: list[ManifestProblemReport]
    warnings: list[str]
    manifestAdapters: int


class AdapterInstalled(msgspec.Struct):
    """``python -m coven.daemon install-adapter NAME``: where it is; False if it already was."""

    adapter: str
    path: str
    installed: bool


class AdapterRefused(msgspec.Struct):
    """Why ``install-adapter`` did not install (the sentence to show)."""

    error: str
