"""What a ``coven`` command line imports: the budgets of the fast commands (no tests here).

A budget is a list of allowed top-level modules, not a time: a time would fail
on a slow machine and pass a slow change on a fast one, while a new module in
the list is a decision someone has to make. Underscore-named modules (the C
halves of allowed ones, like ``_json``) are not listed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

# Runs the console script's entry point, then writes every loaded module's name to argv[1].
PROBE = """
import atexit, sys
out, sys.argv = sys.argv[1], ["coven", *sys.argv[2:]]
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
if sys.argv[1:] != ["--probe-baseline"]:
    from coven.cli.entry import main
    main()
"""

# The fast path: the standard library's json and socket, nothing of click or Coven's client.
FAST = frozenset(
    {
        "array",
        "collections",
        "copyreg",
        "enum",
        "errno",
        "functools",
        "itertools",
        "json",
        "keyword",
        "math",
        "operator",
        "re",
        "reprlib",
        "select",
        "selectors",
        "socket",
        "struct",
        "types",
    }
)
FAST_COVEN = frozenset({"coven", "coven.cli", "coven.cli.entry"})

# ``coven --help`` answered without click adds the command table and text wrapping.
# (typing for the table's NamedTuple, which loads contextlib and warnings.)
FAST_HELP = FAST | {"textwrap", "re", "typing", "contextlib", "warnings"}
FAST_HELP_COVEN = FAST_COVEN | {"coven.cli.commands", "coven.cli.fast_help"}

# The session listing as a table adds the ages' datetime and the renderer.
LISTING = FAST | {"datetime"}
LISTING_COVEN = FAST_COVEN | {"coven.cli.listing", "coven.cli.terminal_text"}

# ``coven --help``: click and what click itself imports; no command module.
HELP = FAST | {
    "ast",
    "bz2",
    "click",
    "contextlib",
    "datetime",
    "difflib",  # click: suggestions for a mistyped option (and `-h`)
    "dis",
    "fnmatch",
    "gettext",
    "heapq",
    "importlib",
    "inspect",
    "linecache",
    "locale",
    "lzma",
    "opcode",
    "platform",
    "shutil",
    "textwrap",
    "threading",
    "token",
    "tokenize",
    "typing",
    "uuid",
    "warnings",
    "weakref",
    "zlib",
}
HELP_COVEN = FAST_HELP_COVEN | {"coven.cli.main"}


def loaded_modules(
    args: list[str], env: Mapping[str, str], cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``coven ARGS`` in a fresh interpreter: the run and the full names of what it loaded."""
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "modules")
        proc = subprocess.run(
            [sys.executable, "-c", PROBE, out, *args],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
        modules = set(Path(out).read_text().split("\n"))
    assert {"sys", "builtins"} <= modules, "the probe wrote no module list"
    return proc, modules


def modules_after_importing(*names: str) -> set[str]:
    """What a fresh interpreter has loaded after importing ``names`` (from this checkout)."""
    code = f"import sys; import {', '.join(names)}; print(' '.join(sys.modules))"
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert set(names) <= loaded, "the probe saw no imports"
    return loaded


def beyond_budget(
    modules: set[str], baseline: set[str], allowed: frozenset[str], coven: frozenset[str]
) -> set[str]:
    """Loaded modules the budget does not allow (``baseline``: what a bare interpreter loads)."""
    tops = {m.split(".")[0] for m in modules} - {m.split(".")[0] for m in baseline}
    extra = {t for t in tops if not t.startswith("_") and t not in allowed and t != "coven"}
    return extra | {m for m in modules if m.startswith("coven") and m not in coven}
