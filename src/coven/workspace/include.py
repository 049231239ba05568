"""Copy the ignored files a repository's ``.worktreeinclude`` names into a new lane.

A fresh worktree has only tracked files; what a project needs to run but keeps out
of git (``.env``, local settings) is listed in ``.worktreeinclude`` at the top level,
in gitignore syntax. A file is copied when it matches those patterns **and** git
ignores it: tracked files are already in the lane and untracked-but-not-ignored files
are work in progress, not configuration.

Safety: nothing is read through a symlink or written through one. A symlink that
matches is recreated only when it is relative and stays inside the repository; an
existing file in the lane is never overwritten. Modes and modification times are
kept. Every match that is not copied is reported with the reason.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path, PurePosixPath

from coven.workspace.git import Git
from coven.workspace.model import SkippedInclude
from coven.workspace.porcelain import display_path

INCLUDE_FILE = ".worktreeinclude"


def copy_included(
    git: Git, source_root: Path, lane_root: Path
) -> tuple[tuple[str, ...], tuple[SkippedInclude, ...]]:
    """Copy matches from ``source_root`` (the user's checkout) into ``lane_root``.

    Returns the copied repository-relative paths and the skipped ones.
    """
    include = source_root / INCLUDE_FILE
    try:
        mode = os.lstat(include).st_mode
    except FileNotFoundError:
        return (), ()
    if not stat.S_ISREG(mode):
        return (), (SkippedInclude(path=INCLUDE_FILE, reason="not a regular file"),)
    included: list[str] = []
    skipped: list[SkippedInclude] = []
    for rel in _ignored_matches(git, source_root, include):
        reason = _copy_one(source_root, lane_root, rel)
        if reason is None:
            included.append(display_path(rel))
        else:
            skipped.append(SkippedInclude(path=display_path(rel), reason=reason))
    return tuple(included), tuple(skipped)


def _ignored_matches(git: Git, root: Path, include: Path) -> list[str]:
    """Untracked files matching the include patterns that git's own rules ignore."""
    listed = git.run(
        ["ls-files", "-z", "--others", "--ignored", f"--exclude-from={include}"], cwd=root
    )
    candidates = [p for p in listed.stdout.split(b"\0") if p]
    if not candidates:
        return []
    checked = git.run(
        ["check-ignore", "-z", "--stdin"],
        cwd=root,
        ok=(0, 1),  # 1: none of them is ignored
        input=b"\0".join(candidates) + b"\0",
    )
    return sorted(os.fsdecode(p) for p in checked.stdout.split(b"\0") if p)


def _copy_one(source_root: Path, lane_root: Path, rel: str) -> str | None:
    """Copy one path; the reason it was skipped, or None when copied."""
    parts = PurePosixPath(rel).parts
    if rel.endswith("/") or not parts or ".." in parts:
        return "not a file (a nested repository or an odd path)"
    src = source_root.joinpath(*parts)
    if not _real_directory_chain(source_root, parts[:-1]):
        return "a parent directory is a symlink"
    try:
        st = os.lstat(src)
    except FileNotFoundError:
        return "vanished before it could be copied"
    if not make_directory_chain(source_root, lane_root, parts[:-1]):
        return "a parent directory in the lane is a symlink or a file"
    dst = lane_root.joinpath(*parts)
    if os.path.lexists(dst):
        return "already present in the lane (not overwritten)"
    if stat.S_ISLNK(st.st_mode):
        target = os.readlink(src)
        inside = PurePosixPath(os.path.normpath(os.path.join(os.path.dirname(rel), target)))
        if os.path.isabs(target) or inside.parts[:1] == ("..",):
            return "a symlink that leads out of the repository"
        os.symlink(target, dst)
        return None
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    return _copy_file(src, dst)


def _copy_file(src: Path, dst: Path) -> str | None:
    try:
        src_fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    with os.fdopen(src_fd, "rb") as reader:
        st = os.fstat(reader.fileno())
        if not stat.S_ISREG(st.st_mode):
            return "not a regular file"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with os.fdopen(os.open(dst, flags, 0o600), "wb") as writer:
            shutil.copyfileobj(reader, writer)
            os.fchmod(writer.fileno(), stat.S_IMODE(st.st_mode))
        os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)
    return None


def _real_directory_chain(root: Path, parts: tuple[str, ...]) -> bool:
    here = root
    for part in parts:
        here = here / part
        if not stat.S_ISDIR(os.lstat(here).st_mode):
            return False
    return True


def make_directory_chain(source_root: Path, lane_root: Path, parts: tuple[str, ...]) -> bool:
    """Create the lane's directories for ``parts`` one by one, never through a symlink."""
    here = lane_root
    origin = source_root
    for part in parts:
        here, origin = here / part, origin / part
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            try:
                wanted = stat.S_IMODE(os.lstat(origin).st_mode) | 0o700
            except FileNotFoundError:
                wanted = 0o755
            os.mkdir(here, wanted)
            continue
        if not stat.S_ISDIR(mode):
            return False
    return True
