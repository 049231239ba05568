"""DESIGN.md's layer rules, checked on the imports of every module under src/coven."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "coven"


def _package_of(module: str) -> str | None:
    """``coven.store.writer`` → ``store``; ``coven.errors`` → ``errors``; ``coven`` → ``""``."""
    parts = module.split(".")
    if parts[0] != "coven":
        return None
    return parts[1] if len(parts) > 1 else ""


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Fully qualified coven modules a file imports (relative imports resolved)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return _imports_of(path.read_text(), package)


def _imports_of(source: str, package: str) -> set[str]:
    tree = ast.parse(source)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # "from coven import store" / "from . import writer" name modules, too.
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {m for m in found if m == "coven" or m.startswith("coven.")}


def _package_imports() -> dict[str, set[str]]:
    """For each top-level package (or leaf module), the coven packages it imports."""
    graph: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        own = _package_of(_module_name(path))
        assert own is not None
        targets = {_package_of(m) for m in _imports(path)}
        graph.setdefault(own, set()).update(t for t in targets if t is not None and t != own)
    return graph


GRAPH = _package_imports()


def test_the_import_graph_was_actually_read() -> None:
    # Guards against a parser that silently finds nothing: the daemon must import its layers.
    assert {"store", "pty", "authority"} <= GRAPH["runtime"]
    assert "errors" in GRAPH["store"]


@pytest.mark.parametrize("leaf", ["schema", "errors"])
def test_leaves_import_nothing_from_coven(leaf: str) -> None:
    assert GRAPH.get(leaf, set()) - {""} == set()


@pytest.mark.parametrize("layer", ["pty", "store", "harness", "workspace"])
def test_low_layers_never_import_each_other_or_the_daemon(layer: str) -> None:
    forbidden = {"pty", "store", "harness", "workspace", "api", "runtime", "cli"} - {layer}
    assert GRAPH.get(layer, set()) & forbidden == set()


def test_cli_never_imports_runtime_store_or_api() -> None:
    assert GRAPH.get("cli", set()) & {"runtime", "store", "api", "pty", "workspace"} == set()


def test_workspace_imports_only_errors() -> None:
    # DESIGN lets the git layer import the leaves schema and errors, nothing else of Coven.
    assert GRAPH["workspace"] - {"errors", "schema"} == set()


def test_redaction_imports_only_errors() -> None:
    assert GRAPH.get("redaction", set()) - {"errors"} == set()


@pytest.mark.parametrize("layer", ["authority", "castcodes"])
def test_pure_layers_import_only_the_leaves(layer: str) -> None:
    # DESIGN: pure layers build on the leaf vocabulary (errors, schema) and nothing else.
    assert GRAPH.get(layer, set()) - {"errors", "schema"} == set()


def test_castcodes_is_read() -> None:
    # The Cast Code parser shares the familiar-id rule with the roster through schema.
    assert GRAPH["castcodes"] == {"errors", "schema"}


def test_relative_imports_are_resolved() -> None:
    # A synthetic file exercises the resolver so a regression there cannot hide violations.
    source = "from ..runtime import sessions\nfrom . import writer\nfrom coven import pty\n"
    assert _imports_of(source, "coven.store") >= {
        "coven.runtime",
        "coven.store.writer",
        "coven.pty",
    }
