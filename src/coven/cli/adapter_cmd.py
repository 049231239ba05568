"""``coven adapter install demo`` and ``coven adapter list``."""

from __future__ import annotations

import contextlib
import json
import os

import click

from coven.cli.context import hint, home, out
from coven.cli.failures import CliError
from coven.cli.home_files import prepare_home


@click.group("adapter")
def adapter_group() -> None:
    """Harness adapters: built-ins and trusted manifests."""


@adapter_group.command("install")
@click.argument("name", type=click.Choice(["demo"]))
def install_cmd(name: str) -> None:
    """Install a bundled adapter manifest into COVEN_HOME/adapters."""
    from coven.harness import demo_manifest_text

    text = demo_manifest_text()
    directory = prepare_home(home()) / "adapters"
    target = directory / f"{name}.json"
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    if directory.is_symlink() or not directory.is_dir():
        raise CliError(f"{directory} is not a directory; refusing to install into it")
    try:
        existing = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise CliError(f"cannot read {target}: {exc.strerror or exc}") from exc
    if existing == text:
        out(f"adapter `{name}` is already installed at {target}")
        return
    if existing is not None:
        raise CliError(f"{target} exists with different content; remove it first to reinstall")
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    out(f"installed adapter `{name}` at {target}")
    # The daemon reads manifests at every launch, so no restart is needed.
    hint(f'Try it: coven run {name} "explain this repo in 5 bullets"')


@adapter_group.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(as_json: bool) -> None:
    """Configured harnesses and whether their executables are on PATH."""
    from coven.harness import HarnessRegistry, describe_availability

    registry = HarnessRegistry.load(os.environ, home())
    statuses = describe_availability(registry, os.environ.get("PATH"))
    for warning in registry.warnings:
        hint(f"warning: {warning}")
    for problem in registry.problems:
        hint(f"warning: {problem}")
    if as_json:
        rows = [
            {
                "id": s.id,
                "label": s.label,
                "source": s.source,
                "executable": s.executable,
                "executablePath": s.executable_path,
                "available": s.available,
                "manifestPath": None if s.manifest_path is None else str(s.manifest_path),
            }
            for s in statuses
        ]
        out(json.dumps({"adapters": rows}, indent=2))
        return
    width = max([10, *(len(s.id) for s in statuses)])
    out(f"{'HARNESS':<{width}} {'SOURCE':<9} {'AVAILABLE':<10} EXECUTABLE")
    for s in statuses:
        out(
            f"{s.id:<{width}} {s.source:<9} {'yes' if s.available else 'no':<10} "
            f"{s.executable_path or s.executable}"
        )
