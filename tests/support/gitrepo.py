"""Real git repositories for tests, in a sealed environment.

Every git the tests run (directly, or through ``coven.workspace``) sees a HOME in the
test's tmp dir, no global or system config (``GIT_CONFIG_GLOBAL=/dev/null``,
``GIT_CONFIG_NOSYSTEM=1``), a fixed identity from the environment, and a PATH holding
only a link to the real git, so nothing installed on the machine (or configured by
its user) can change what a test sees.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from coven.workspace import Git
from tests.support.daemon import Daemon, daemon_env

REAL_GIT = shutil.which("git")


class GitSandbox:
    """A place to make repositories, and the environment every git in it runs with."""

    def __init__(self, base: Path) -> None:
        assert REAL_GIT is not None, "these tests need git installed"
        self.base = base
        home = base / "home"
        home.mkdir()
        self.bin = base / "bin"
        self.bin.mkdir()
        (self.bin / "git").symlink_to(REAL_GIT)
        self.env = {
            "PATH": str(self.bin),
            "HOME": str(home),
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Test Author",
            "GIT_AUTHOR_EMAIL": "author@example.invalid",
            "GIT_COMMITTER_NAME": "Test Author",
            "GIT_COMMITTER_EMAIL": "author@example.invalid",
        }
        self.git = Git(env=self.env, read_timeout=20.0, write_timeout=30.0)
        self.worktrees = base / "coven-home" / "worktrees"

    def run(self, cwd: Path, *args: str, input: bytes | None = None) -> str:
        """Run git as a user would; its stdout, stripped. Fails the test on error."""
        done = subprocess.run(
            [REAL_GIT or "git", *args],
            cwd=cwd,
            env=self.env,
            input=input,
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr.decode()}"
        return done.stdout.decode().strip()

    def repo(self, name: str = "repo", files: dict[str, str] | None = None) -> Path:
        """A repository on branch ``main`` with one commit of ``files``."""
        path = self.base / name
        path.mkdir()
        self.run(path, "init", "-q", "-b", "main")
        write(path, files or {"README.md": "hello\n", "src/app.py": "print('one')\n"})
        self.commit_all(path, "initial")
        return path.resolve()

    def commit_all(self, repo: Path, message: str) -> str:
        self.run(repo, "add", "-A")
        self.run(repo, "commit", "-q", "-m", message)
        return self.run(repo, "rev-parse", "HEAD")

    def head(self, repo: Path) -> str:
        return self.run(repo, "rev-parse", "HEAD")


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def fingerprint(repo: Path) -> str:
    """A digest of every file in the work tree and of the git state a merge could change.

    Covers file contents, modes and symlink targets, the index, HEAD, every ref and
    the merge/rebase markers, so "byte-identical before and after" is one comparison.
    """
    digest = hashlib.sha256()
    git_dir = repo / ".git"
    for dirpath, dirnames, filenames in os.walk(repo):
        dirnames.sort()
        here = Path(dirpath)
        if here == git_dir:
            dirnames[:] = [d for d in dirnames if d == "refs"]
            filenames = [f for f in filenames if f in _GIT_STATE_FILES]
        for name in sorted(filenames):
            path = here / name
            st = path.lstat()
            digest.update(f"{path.relative_to(repo)}\0{st.st_mode:o}\0".encode())
            if path.is_symlink():
                digest.update(os.readlink(path).encode())
            else:
                digest.update(path.read_bytes())
    return digest.hexdigest()


_GIT_STATE_FILES = {
    "index",
    "HEAD",
    "ORIG_HEAD",
    "MERGE_HEAD",
    "MERGE_MSG",
    "packed-refs",
    "AUTO_MERGE",
}


@contextmanager
def sandbox_daemon(
    sandbox: GitSandbox, name: str = "coven-home", umask: int = -1
) -> Iterator[Daemon]:
    """A daemon whose git sees the sandbox's sealed config; its default project is not a
    repository (``sandbox.base / "plain"``). ``umask``: the one it starts with (-1: ours)."""
    project = sandbox.base / "plain"
    project.mkdir(exist_ok=True)
    home = sandbox.base / name
    git_env = {k: v for k, v in sandbox.env.items() if k not in ("PATH", "HOME")}
    daemon = Daemon(home, daemon_env(home, project, git_env))
    daemon.start(umask=umask)
    try:
        yield daemon
    finally:
        daemon.stop()
