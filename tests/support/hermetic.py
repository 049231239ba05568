"""The environment of every process a test starts: PATH, HOME and COVEN_HOME under test control.

A real user's machine may have the real ``codex`` and ``claude`` installed in a
system directory (``/usr/bin`` here), so a test can never rely on a program
being absent, nor let a daemon, CLI or harness it starts search the test
runner's own PATH. Children get:

* ``PATH``: the directories a test asks for (usually ``tests/fakes/bin``), then
  one private directory holding symlinks to just the system tools tests need
  (``TOOLS``) — never a whole system directory;
* ``HOME``: a directory of the test's own (harnesses write their config there);
* ``COVEN_HOME``: the test's home (set by the callers that need one);
* from the runner's environment only the locale and time-zone variables.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FAKE_BIN = REPO / "tests" / "fakes" / "bin"

#: Program names of the real agents; a test reaches them only through ``FAKE_BIN``.
AGENTS = ("codex", "claude")

#: System programs a child of a test may need by name. The fake harnesses run
#: ``/usr/bin/env python3``; the rest serve shell snippets and git-backed features.
TOOLS = ("python3", "sh", "bash", "env", "git", "cat", "sleep", "true", "stty")

_PASSED_THROUGH = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")


@functools.cache
def tools_dir() -> Path:
    """A private directory of symlinks to ``TOOLS`` (made once per test process).

    ``python3`` is the interpreter running the tests. A tool missing from the
    machine is simply missing here; nothing named like an agent is ever linked.
    """
    directory = Path(tempfile.mkdtemp(prefix="coven-test-tools-"))
    atexit.register(shutil.rmtree, directory, True)
    for name in TOOLS:
        target = os.path.realpath(sys.executable) if name == "python3" else shutil.which(name)
        if target is None or Path(os.path.realpath(target)).name in AGENTS:
            continue
        (directory / name).symlink_to(target)
    return directory


def controlled_path(*front: Path | str) -> str:
    """``front`` directories first, then ``tools_dir()``: nothing else is searched."""
    return os.pathsep.join([*(str(p) for p in front), str(tools_dir())])


def controlled_env(
    user_home: Path,
    *front: Path | str,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """A fresh environment: ``controlled_path(*front)``, ``HOME=user_home`` (created), ``extra``.

    ``COVEN_HARNESS_HOOKS=off`` keeps attention hooks out of harness argv (``extra``
    may turn them on).

    Nothing else of the test runner's environment is inherited except the
    locale and time zone.
    """
    user_home.mkdir(parents=True, exist_ok=True)
    env = {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}
    env["PATH"] = controlled_path(*front)
    env["HOME"] = str(user_home)
    # Harness argv exactly as the reference builds it, unless a test wires the hooks.
    env["COVEN_HARNESS_HOOKS"] = "off"
    env.update(extra or {})
    return env


def agents_on(path: str) -> list[Path]:
    """Every file named like a real agent in the directories of ``path`` outside ``FAKE_BIN``."""
    found = []
    for directory in filter(None, path.split(os.pathsep)):
        if Path(directory).resolve() == FAKE_BIN.resolve():
            continue
        found.extend(
            Path(directory, name) for name in AGENTS if os.path.lexists(Path(directory, name))
        )
    return found
