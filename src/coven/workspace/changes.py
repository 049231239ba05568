"""What a tree changed since its base: a file list with line counts, and the unified diff.

Both read a snapshot index (``coven.workspace.snapshot``) of the tree's whole working
state, so one ``git diff --cached <base>`` covers committed, staged, unstaged and
untracked work alike, and the tree's own index is never written.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from coven.errors import InvalidRequest
from coven.workspace.git import Git
from coven.workspace.model import ChangedFile, Changes, Diff, FileStatus
from coven.workspace.porcelain import display_path, ref_sha, split_z
from coven.workspace.snapshot import empty_tree, snapshot_index

DEFAULT_MAX_DIFF_BYTES = 1 << 20

_DIFF_FLAGS = (
    "diff",
    "--cached",
    "-M",
    "--no-ext-diff",
    "--no-textconv",
    "--no-color",
    "--no-relative",
)

_STATUS = {
    "A": FileStatus.ADDED,
    "M": FileStatus.MODIFIED,
    "T": FileStatus.MODIFIED,
    "U": FileStatus.MODIFIED,
    "D": FileStatus.DELETED,
    "R": FileStatus.RENAMED,
    "C": FileStatus.ADDED,
}


def changes(tree: str | Path, base_commit: str | None, *, git: Git | None = None) -> Changes:
    """Files that differ between ``base_commit`` and the working state of ``tree``.

    ``tree`` is the top level of a work tree (a lane, or the user's checkout).
    ``base_commit`` None means "since the empty tree" (a session started in a
    repository without commits). Files git does not track and does not ignore are
    ``untracked``; renames are detected (``old_path``); binary files report 0/0 lines
    and ``binary``. Sorted by path.
    """
    git = git or Git()
    with snapshot_index(git, tree) as snap:
        base = base_commit or empty_tree(git, snap.top)
        names = git.run(
            [*_DIFF_FLAGS, "--name-status", "-z", base], cwd=snap.top, extra_env=snap.env
        )
        counts = git.run([*_DIFF_FLAGS, "--numstat", "-z", base], cwd=snap.top, extra_env=snap.env)
        head = ref_sha(git, snap.top, "HEAD")
    lines = _numstat(counts.stdout)
    files: list[ChangedFile] = []
    tokens = split_z(names.stdout)
    i = 0
    while i < len(tokens):
        letter = tokens[i][:1]
        old_path = None
        if letter in ("R", "C"):
            old_path, path = tokens[i + 1], tokens[i + 2]
            i += 3
        else:
            path = tokens[i + 1]
            i += 2
        status = _STATUS.get(letter, FileStatus.MODIFIED)
        if status is FileStatus.ADDED and path in snap.untracked:
            status = FileStatus.UNTRACKED
        added, deleted = lines.get(path, (0, 0))
        files.append(
            ChangedFile(
                path=display_path(path),
                status=status,
                additions=max(added, 0),
                deletions=max(deleted, 0),
                binary=added < 0,
                old_path=display_path(old_path)
                if old_path and status is FileStatus.RENAMED
                else None,
            )
        )
    files.sort(key=lambda f: f.path)
    return Changes(base_commit=base_commit, head=head, files=tuple(files))


def diff(
    tree: str | Path,
    base_commit: str | None,
    path: str | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_DIFF_BYTES,
    git: Git | None = None,
) -> Diff:
    """The unified diff of ``tree``'s working state against ``base_commit``.

    ``path`` (repository-relative, a file or a directory, taken literally) narrows
    it. At most ``max_bytes`` of it are returned, cut at a line boundary, followed by
    a line saying how much was left out; ``Diff.bytes`` is the full size either way
    (git's output is counted, not kept, past the cap). Binary files show as "Binary
    files ... differ".
    """
    if max_bytes < 1:
        raise InvalidRequest("max_bytes must be at least 1", {"maxBytes": max_bytes})
    spec = [] if path is None else ["--", ":(literal)" + _checked_path(path)]
    git = git or Git()
    kept = bytearray()
    total = 0

    def take(chunk: bytes) -> None:
        nonlocal total
        total += len(chunk)
        room = max_bytes - len(kept)
        if room > 0:
            kept.extend(chunk[:room])

    with snapshot_index(git, tree) as snap:
        base = base_commit or empty_tree(git, snap.top)
        args = [*_DIFF_FLAGS, "--src-prefix=a/", "--dst-prefix=b/", base, *spec]
        git.run(args, cwd=snap.top, extra_env=snap.env, sink=take)
    if total <= max_bytes:
        return Diff(diff=kept.decode("utf-8", "replace"), truncated=False, bytes=total)
    cut = bytes(kept[: kept.rfind(b"\n") + 1])
    marker = f"[coven] diff truncated: {len(cut)} of {total} bytes shown\n"
    return Diff(diff=cut.decode("utf-8", "replace") + marker, truncated=True, bytes=total)


def _numstat(out: bytes) -> dict[str, tuple[int, int]]:
    """``--numstat -z`` as {new path: (added, deleted)}; binary files are (-1, -1)."""
    counts: dict[str, tuple[int, int]] = {}
    tokens = out.split(b"\0")
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if not token:
            continue
        added, deleted, rest = token.split(b"\t", 2)
        if rest:
            path = os.fsdecode(rest)
        else:  # a rename: the old and new paths follow as their own fields
            path = os.fsdecode(tokens[i + 1])
            i += 2
        counts[path] = (_count(added), _count(deleted))
    return counts


def _count(field: bytes) -> int:
    return -1 if field == b"-" else int(field)


def _checked_path(path: str) -> str:
    parts = PurePosixPath(path).parts
    if not path or "\0" in path or path.startswith("/") or ".." in parts:
        raise InvalidRequest(
            "path must be relative to the repository and stay inside it", {"path": path}
        )
    return path
