"""A snapshot index: the whole working state of a tree, without writing the tree's index.

A temporary copy of the tree's index, into which ``git add -A`` records every
change, untracked files included. Diffing it against a commit shows all the work
of the tree; ``git write-tree`` on it gives the tree a commit of that work would
have. The tree's own index (the user's, for a session without a lane) is only
read; the copy lives in a temporary directory and is removed afterwards. ``git add``
does store blobs of changed files in the repository's object database, as ``git
stash`` would; git's gc removes them when nothing refers to them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from coven.errors import GitFailed, NotAGitRepository
from coven.workspace.facts import says_no_work_tree
from coven.workspace.git import Git
from coven.workspace.porcelain import split_z


class Snapshot(msgspec.Struct, frozen=True):
    """A snapshot index: run git with ``env`` in ``top`` to read (or write-tree) it."""

    top: Path  # the work tree's top level: every command runs there, paths are relative to it
    env: dict[str, str]  # points git at the snapshot index
    untracked: frozenset[str]  # paths the tree's own index does not track


@contextmanager
def snapshot_index(git: Git, tree: str | Path) -> Iterator[Snapshot]:
    """A snapshot index of ``tree``'s whole working state, removed on exit.

    ``NotAGitRepository`` when ``tree`` is not inside a work tree.
    """
    try:
        real = git.run(
            ["rev-parse", "--path-format=absolute", "--show-toplevel", "--git-path", "index"],
            cwd=tree,
        )
    except GitFailed as exc:
        if says_no_work_tree(exc):
            raise NotAGitRepository(
                f"{tree} is not inside a git work tree", {"path": str(tree)}
            ) from exc
        raise
    top_line, _, index_line = real.stdout.rstrip(b"\n").partition(b"\n")
    top, index = Path(os.fsdecode(top_line)), Path(os.fsdecode(index_line))
    with tempfile.TemporaryDirectory(prefix="coven-index-") as scratch:
        copy = Path(scratch) / "index"
        # A repository that never had an index starts from an empty one.
        with contextlib.suppress(FileNotFoundError):
            shutil.copyfile(index, copy)
        env = {"GIT_INDEX_FILE": str(copy)}
        listed = git.run(
            ["ls-files", "-z", "--others", "--exclude-standard"], cwd=top, extra_env=env
        )
        # A split index would make the copy write a new shared index into the repository.
        git.run(["-c", "core.splitIndex=false", "add", "-A"], cwd=top, extra_env=env, write=True)
        yield Snapshot(top=top, env=env, untracked=frozenset(split_z(listed.stdout)))


def empty_tree(git: Git, tree: str | Path) -> str:
    # Asked of git rather than hard-coded: SHA-1 and SHA-256 repositories differ.
    out = git.run(["hash-object", "-t", "tree", "--stdin"], cwd=tree, input=b"")
    return out.stdout.decode().strip()
