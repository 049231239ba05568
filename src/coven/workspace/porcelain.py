"""Reading git's machine formats (``-z`` output): status entries and the worktree list."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from coven.workspace.git import Git


def split_z(out: bytes) -> list[str]:
    """NUL-separated git output as paths (undecodable bytes kept via surrogateescape)."""
    return [os.fsdecode(item) for item in out.split(b"\0") if item]


def display_path(path: str) -> str:
    """A path fit for JSON and terminals: undecodable bytes shown as ``\\xNN`` escapes.

    Paths git reports are bytes; ``split_z`` keeps them exact (surrogate escapes) for
    use with the file system, which a JSON encoder refuses. Use this for what is shown.
    """
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def status_paths(git: Git, tree: str | Path) -> tuple[str, ...]:
    """Every path with uncommitted work in ``tree``: staged, modified, untracked, unmerged.

    Ignored files are not work. Runs without optional locks, so the index of the
    tree is not refreshed or rewritten.
    """
    out = git.run(
        ["status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules=none"],
        cwd=tree,
    ).stdout
    tokens = out.split(b"\0")
    paths: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if len(token) < 4:
            continue
        xy = token[:2]
        paths.append(os.fsdecode(token[3:]))
        if b"R" in xy or b"C" in xy:  # a rename or copy names its source next
            paths.append(os.fsdecode(tokens[i]))
            i += 1
    return tuple(sorted(set(paths)))


class Worktree(msgspec.Struct, frozen=True):
    """One entry of ``git worktree list``: its path, HEAD and branch ref (None: detached)."""

    path: str
    head: str | None
    branch: str | None
    prunable: bool


def worktrees(git: Git, repo: str | Path) -> list[Worktree]:
    """The worktrees registered in ``repo``'s repository, main one first."""
    out = git.run(["worktree", "list", "--porcelain", "-z"], cwd=repo).stdout
    found: list[Worktree] = []
    fields: dict[str, str] = {}
    for raw in [*out.split(b"\0"), b""]:
        if raw:
            key, _, value = os.fsdecode(raw).partition(" ")
            fields[key] = value
            continue
        if "worktree" in fields:
            found.append(
                Worktree(
                    path=fields["worktree"],
                    head=fields.get("HEAD") or None,
                    branch=fields.get("branch"),
                    prunable="prunable" in fields,
                )
            )
        fields = {}
    return found


def ref_sha(git: Git, repo: str | Path, ref: str) -> str | None:
    """The commit ``ref`` names in ``repo``, or None when it does not exist."""
    out = git.run(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
        cwd=repo,
        ok=(0, 1),
    )
    if out.returncode != 0:
        return None
    return out.stdout.decode().strip() or None
