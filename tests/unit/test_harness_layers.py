"""Layer rule: coven.harness depends only on coven.errors and itself."""

from __future__ import annotations

import ast
from pathlib import Path

import coven.harness

HARNESS_DIR = Path(coven.harness.__file__).parent
ALLOWED = {"coven.errors", "coven.harness"}


def coven_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found |= {n for n in names if n == "coven" or n.startswith("coven.")}
    return found


def test_harness_imports_only_errors_and_itself() -> None:
    sources = sorted(HARNESS_DIR.glob("*.py"))
    assert len(sources) > 5
    offenders = {
        f"{path.name}: {name}"
        for path in sources
        for name in coven_imports(path)
        if not any(name == ok or name.startswith(ok + ".") for ok in ALLOWED)
    }
    assert offenders == set()


def test_import_checker_sees_forbidden_imports(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text(
        "import coven.store\nfrom coven.pty import spawn\nfrom coven.errors import X\n"
    )
    assert coven_imports(sample) == {"coven.store", "coven.pty", "coven.errors"}
