"""The harness registry: built-ins plus adapters declared by manifests.

Sources, in load order:

1. ``COVEN_HARNESS_ADAPTER_MANIFEST``: one manifest file;
2. ``COVEN_HARNESS_ADAPTER_DIRS``: ``os.pathsep``-separated directories, every
   regular ``*.json`` file in each, sorted by name;
3. ``<COVEN_HOME>/adapters/*.json``, sorted by name.

Failure is contained: a broken manifest disables only its own adapters and is
reported in ``problems``; built-ins are always available. An id that shadows a
built-in, or repeats an earlier manifest's id, is skipped with a warning.
Lookups are exact (ids are case-sensitive) and unknown ids fail closed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import msgspec

from coven.errors import InvalidRequest
from coven.harness.adapter import Adapter
from coven.harness.builtins import BUILTIN_ADAPTERS, BUILTIN_IDS
from coven.harness.manifest import ManifestLoad, ManifestProblem, load_manifest_file

MANIFEST_ENV = "COVEN_HARNESS_ADAPTER_MANIFEST"
DIRS_ENV = "COVEN_HARNESS_ADAPTER_DIRS"


class HarnessRegistry(msgspec.Struct, frozen=True):
    """An immutable snapshot of the configured harnesses.

    ``warnings`` are user-facing lines without a ``warning:`` prefix.
    """

    _adapters: tuple[Adapter, ...]
    problems: tuple[ManifestProblem, ...] = ()
    warnings: tuple[str, ...] = ()

    @classmethod
    def builtins_only(cls) -> HarnessRegistry:
        return cls(BUILTIN_ADAPTERS)

    @classmethod
    def load(cls, env: Mapping[str, str], coven_home: Path) -> HarnessRegistry:
        """Load built-ins and every manifest source named by ``env`` and ``coven_home``.

        Never raises for bad manifests or missing directories; see ``problems``
        and ``warnings``.
        """
        warnings: list[str] = []
        loads = [load_manifest_file(path) for path in _manifest_paths(env, coven_home, warnings)]
        return cls.from_manifests(loads, warnings)

    @classmethod
    def from_manifests(
        cls, loads: Iterable[ManifestLoad], warnings: Iterable[str] = ()
    ) -> HarnessRegistry:
        """Combine built-ins with already parsed manifests, in the given order."""
        adapters = list(BUILTIN_ADAPTERS)
        origin: dict[str, Path] = {}
        problems: list[ManifestProblem] = []
        notes = list(warnings)
        for load in loads:
            problems.extend(load.problems)
            for adapter in load.adapters:
                if adapter.id in BUILTIN_IDS:
                    notes.append(
                        f"ignoring external harness adapter `{adapter.id}` in {load.path}: "
                        f"Coven ships `{adapter.id}` as a built-in harness. Delete the "
                        "manifest to silence this warning."
                    )
                elif adapter.id in origin:
                    notes.append(
                        f"ignoring harness adapter `{adapter.id}` in {load.path}: "
                        f"`{adapter.id}` is already declared in {origin[adapter.id]}"
                    )
                else:
                    origin[adapter.id] = load.path
                    adapters.append(adapter)
        return cls(tuple(adapters), tuple(problems), tuple(notes))

    def get(self, harness_id: str) -> Adapter | None:
        """The adapter with exactly this id, or ``None``."""
        for adapter in self._adapters:
            if adapter.id == harness_id:
                return adapter
        return None

    def require(self, harness_id: str) -> Adapter:
        """The adapter with exactly this id; ``InvalidRequest`` when unknown."""
        adapter = self.get(harness_id)
        if adapter is None:
            raise InvalidRequest(unsupported_harness_message(harness_id, self))
        return adapter

    def ids(self) -> list[str]:
        """Configured ids: built-ins first, then manifest adapters in load order."""
        return [adapter.id for adapter in self._adapters]

    def adapters(self) -> list[Adapter]:
        return list(self._adapters)


def unsupported_harness_message(harness_id: str, registry: HarnessRegistry) -> str:
    """The refusal for an id that no adapter declares."""
    message = (
        f"unsupported harness `{harness_id}`. Configured harnesses: "
        f"{', '.join(registry.ids())}. Known installable adapter recipes: demo. For other "
        "external harnesses, create a trusted adapter manifest under COVEN_HOME/adapters or "
        f"set {MANIFEST_ENV} / {DIRS_ENV} before starting Coven."
    )
    if registry.problems:
        # The id may live in a manifest that failed to load: say which, and why.
        broken = "; ".join(str(problem) for problem in registry.problems[:3])
        more = len(registry.problems) - 3
        message += f" Manifests that could not be loaded: {broken}"
        message += f" (and {more} more)." if more > 0 else "."
    return message


def _manifest_paths(env: Mapping[str, str], coven_home: Path, warnings: list[str]) -> list[Path]:
    paths: list[Path] = []
    single = env.get(MANIFEST_ENV, "").strip()
    if single:
        # A named file that is missing is a problem of that manifest, reported by the loader.
        paths.append(Path(single))
    for entry in env.get(DIRS_ENV, "").split(os.pathsep):
        if entry.strip():
            paths += _json_files(Path(entry), warnings, explicit=True)
    paths += _json_files(coven_home / "adapters", warnings, explicit=False)
    unique: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        key = path.resolve(strict=False)
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def _json_files(directory: Path, warnings: list[str], *, explicit: bool) -> list[Path]:
    try:
        entries = sorted(directory.iterdir(), key=lambda p: p.name)
    except FileNotFoundError:
        if explicit:
            warnings.append(f"adapter manifest directory {directory} does not exist")
        return []
    except OSError as exc:
        warnings.append(
            f"cannot list adapter manifest directory {directory}: {exc.strerror or exc}"
        )
        return []
    return [path for path in entries if path.name.endswith(".json") and path.is_file()]
