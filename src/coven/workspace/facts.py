"""Repository facts of a directory: its work tree's top level, HEAD commit and branch."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from coven.errors import GitFailed, NotAGitRepository
from coven.workspace.git import Git
from coven.workspace.model import RepoFacts

# What git says (under LC_ALL=C) when a directory simply has no work tree around it.
_NOT_A_WORK_TREE = (
    "not a git repository",
    "must be run in a work tree",
)


def repository_facts(path: str | Path, *, git: Git | None = None) -> RepoFacts | None:
    """Facts of the work tree containing ``path``; None when there is none.

    None for a directory outside any repository, inside a bare repository or inside
    ``.git``, and for a path that is not a directory. Any other git failure (a
    repository git refuses as unsafe, a broken one) raises ``GitFailed``, so a real
    problem is not mistaken for "no repository". Reads only: no lock, no index write.
    """
    git = git or Git()
    directory = Path(path)
    if not directory.is_dir():
        return None
    # The three questions are asked at once (every launch waits for them, ~4 ms each
    # here): git finds the same repository from ``directory`` as from its top level,
    # and the answers about HEAD count only if there is a work tree.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="coven-facts") as pool:
        asked_head = pool.submit(
            git.run, ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cwd=directory, ok=(0, 1)
        )
        asked_branch = pool.submit(
            git.run, ["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=directory, ok=(0, 1)
        )
        try:
            top = git.run(["rev-parse", "--show-toplevel"], cwd=directory)
        except GitFailed as exc:
            if says_no_work_tree(exc):
                return None
            raise
        head, branch = asked_head.result(), asked_branch.result()
    root = Path(os.fsdecode(top.stdout.rstrip(b"\n"))).resolve()
    return RepoFacts(
        git_root=str(root),
        base_commit=_line(head.stdout) if head.returncode == 0 else None,
        base_branch=_line(branch.stdout) if branch.returncode == 0 else None,
    )


def _line(out: bytes) -> str | None:
    return os.fsdecode(out.strip()) or None


def says_no_work_tree(exc: GitFailed) -> bool:
    """Whether git failed only because there is no work tree where it ran."""
    stderr = str((exc.details or {}).get("stderr", ""))
    return any(marker in stderr for marker in _NOT_A_WORK_TREE)


def require_facts(path: str | Path, *, git: Git | None = None) -> RepoFacts:
    """``repository_facts`` that raises ``NotAGitRepository`` instead of answering None."""
    facts = repository_facts(path, git=git)
    if facts is None:
        raise NotAGitRepository(f"{path} is not inside a git work tree", {"path": str(path)})
    return facts
