"""The layer rules of the architecture (docs/architecture.md), checked on every import.

Leaves (``schema``, ``errors``, ``castcodes``, ``screen``, ``trust_store``) import
nothing from Coven but leaves. ``pty``, ``store``, ``harness`` and ``workspace`` never import
each other, ``runtime`` or ``api``. ``runtime`` never imports ``api``; only
``daemon`` imports both. ``cli`` depends on ``client``, ``schema``, ``castcodes``
and the ``trust_store`` helper only; ``cli`` and ``cockpit`` never import ``runtime``, ``store``,
``pty`` or ``workspace``. Packages named here that do not exist yet are held to
the same rules the moment they do.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "coven"

LEAVES = {"schema", "errors", "castcodes", "screen", "trust_store"}
LOW = {"pty", "store", "harness", "workspace"}
ABOVE_LOW = {"runtime", "api", "daemon", "cli", "cockpit", "client"}
# Everything a package may be: the ones that exist, and the ones the design names.
KNOWN = (
    {p.stem for p in SRC.iterdir() if not p.name.startswith("_")}
    | LEAVES
    | LOW
    | {
        "authority",
        "redaction",
        "runtime",
        "api",
        "daemon",
        "client",
        "cli",
        "cockpit",
    }
)
MAX_MODULE_LINES = 500
# Modules that are mostly data (tables, documents) may be longer; none are today.
DATA_MODULES: set[str] = set()


def _package_of(module: str) -> str | None:
    """``coven.store.writer`` → ``store``; ``coven.errors`` → ``errors``; ``coven`` → ``""``."""
    parts = module.split(".")
    if parts[0] != "coven":
        return None
    if len(parts) == 1 or parts[1] not in KNOWN:
        return ""  # the package root itself (``from coven import __version__``)
    return parts[1]


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


def imports(package: str) -> set[str]:
    return GRAPH.get(package, set()) - {""}


def test_the_import_graph_was_actually_read() -> None:
    # Guards against a parser that silently finds nothing: the root must import its layers.
    assert {"store", "runtime", "api", "pty"} <= GRAPH["daemon"]
    assert "errors" in GRAPH["store"]
    assert "runtime" in GRAPH["api"]
    # The Cast Code parser shares the familiar-id rule with the roster through schema.
    assert GRAPH["castcodes"] == {"errors", "schema"}


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_leaves_import_only_leaves(leaf: str) -> None:
    assert imports(leaf) - LEAVES == set()


@pytest.mark.parametrize("layer", sorted(LOW))
def test_low_layers_never_import_each_other_or_what_is_above_them(layer: str) -> None:
    assert imports(layer) & ((LOW - {layer}) | ABOVE_LOW) == set()


def test_workspace_imports_only_the_leaves() -> None:
    # The git layer imports the leaves schema and errors, nothing else of Coven.
    assert imports("workspace") - {"errors", "schema"} == set()


@pytest.mark.parametrize("layer", ["authority", "redaction"])
def test_pure_layers_import_only_leaves(layer: str) -> None:
    assert imports(layer) - LEAVES == set()


def test_runtime_never_imports_the_api_or_the_root() -> None:
    assert imports("runtime") & {"api", "daemon", "cli", "cockpit", "client"} == set()


def test_only_the_daemon_imports_both_runtime_and_api() -> None:
    both = {pkg for pkg, targets in GRAPH.items() if {"runtime", "api"} <= targets}
    assert both <= {"daemon"}


def test_nothing_imports_the_composition_root() -> None:
    assert {pkg for pkg, targets in GRAPH.items() if "daemon" in targets} == set()


def test_cli_depends_on_client_schema_and_castcodes_only() -> None:
    assert imports("cli") - {"client", "schema", "castcodes", "trust_store"} == set()


@pytest.mark.parametrize("layer", ["cli", "cockpit"])
def test_clients_never_import_the_daemon_side(layer: str) -> None:
    assert imports(layer) & {"runtime", "store", "pty", "workspace"} == set()


def test_the_cockpit_reaches_the_daemon_only_as_a_client() -> None:
    # It talks to the daemon over its socket (the client library), never to its layers.
    assert "client" in imports("cockpit")
    assert imports("cockpit") & {"api", "cli", "daemon"} == set()


def test_client_library_speaks_only_the_wire() -> None:
    assert imports("client") - {"schema", "errors"} == set()


def test_no_module_is_over_500_lines_except_data() -> None:
    long = {
        str(path.relative_to(SRC)): n
        for path in SRC.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
        and str(path.relative_to(SRC)) not in DATA_MODULES
    }
    assert long == {}


def test_relative_imports_are_resolved() -> None:
    # A synthetic file exercises the resolver so a regression there cannot hide violations.
    source = "from ..runtime import sessions\nfrom . import writer\nfrom coven import pty\n"
    assert _imports_of(source, "coven.store") >= {
        "coven.runtime",
        "coven.store.writer",
        "coven.pty",
    }


def test_a_forbidden_import_is_seen() -> None:
    source = "import coven.store\nfrom coven.pty import spawn\nfrom coven import __version__\n"
    found = {_package_of(m) for m in _imports_of(source, "coven.cli")}
    assert found >= {"store", "pty", ""}
