"""The daemon's offline adapter commands, run by the CLI as ``python -m coven.daemon …``.

Adapter manifests live in ``COVEN_HOME/adapters`` and are read by the daemon at
every launch; only daemon-side code reads or writes them. These commands need
no running daemon (``coven doctor`` must work without one), and they see the
environment the CLI would start a daemon with, so availability is judged
against the same ``PATH`` a launch would use.

* ``adapters --home DIR`` prints an ``AdapterReport``;
* ``install-adapter NAME --home DIR`` installs a bundled manifest and prints
  ``AdapterInstalled`` (exit 0) or ``AdapterRefused`` (exit 1).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

import msgspec

from coven.harness import (
    DEMO_ADAPTER_ID,
    HarnessRegistry,
    demo_manifest_text,
    describe_availability,
)
from coven.schema.adapters import (
    AdapterInstalled,
    AdapterRefused,
    AdapterReport,
    AdapterStatus,
    ManifestProblemReport,
)
from coven.schema.home import HomePaths

BUNDLED = {DEMO_ADAPTER_ID: demo_manifest_text}


def report(home: Path, env: dict[str, str]) -> AdapterReport:
    registry = HarnessRegistry.load(env, home)
    statuses = describe_availability(registry, env.get("PATH"))
    return AdapterReport(
        adapters=[
            AdapterStatus(
                id=s.id,
                label=s.label,
                source=s.source,
                executable=s.executable,
                executablePath=s.executable_path,
                available=s.available,
                manifestPath=None if s.manifest_path is None else str(s.manifest_path),
                installHint=s.install_hint,
            )
            for s in statuses
        ],
        problems=[
            ManifestProblemReport(p.path.name, str(p.path), str(p)) for p in registry.problems
        ],
        warnings=list(registry.warnings),
        manifestAdapters=sum(1 for a in registry.adapters() if a.source == "manifest"),
    )


class InstallRefused(Exception):
    pass


def install(name: str, home: Path) -> AdapterInstalled:
    """Write the bundled manifest ``name`` into the home's adapters directory (0600).

    Idempotent for identical content; refuses to overwrite a different file.
    """
    text = BUNDLED[name]()
    directory = HomePaths(home).adapters
    target = directory / f"{name}.json"
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700, parents=True)
    if directory.is_symlink() or not directory.is_dir():
        raise InstallRefused(f"{directory} is not a directory; refusing to install into it")
    try:
        existing = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise InstallRefused(f"cannot read {target}: {exc.strerror or exc}") from exc
    if existing == text:
        return AdapterInstalled(name, str(target), installed=False)
    if existing is not None:
        raise InstallRefused(
            f"{target} exists with different content; remove it first to reinstall"
        )
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return AdapterInstalled(name, str(target), installed=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="coven-daemon")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("adapters")
    listing.add_argument("--home", required=True)
    installing = commands.add_parser("install-adapter")
    installing.add_argument("name", choices=sorted(BUNDLED))
    installing.add_argument("--home", required=True)
    args = parser.parse_args(argv)
    home = Path(args.home)
    out = sys.stdout.buffer
    if args.command == "adapters":
        out.write(msgspec.json.encode(report(home, dict(os.environ))) + b"\n")
        return 0
    try:
        result = install(args.name, home)
    except (InstallRefused, OSError) as exc:
        out.write(msgspec.json.encode(AdapterRefused(str(exc))) + b"\n")
        return 1
    out.write(msgspec.json.encode(result) + b"\n")
    return 0
