"""Project root and working-directory authority.

Every path a session may run in passes through here before any row is written
or any process spawned. Stricter than the reference daemon: the root must be an
absolute, existing directory given without surrounding whitespace; ``/``, the
pseudo-filesystems and ``COVEN_HOME`` are refused; the cwd must be a directory
at or below the canonical root, compared component-wise after symlinks are
resolved.
"""

from __future__ import annotations

import os
from pathlib import Path

from coven.errors import InvalidRequest

# Pseudo-filesystems: a harness running in /proc/self would run in the daemon's
# own process directory; none of these is a project.
_PSEUDO_FS = (Path("/proc"), Path("/sys"), Path("/dev"))

ROOT_REQUIRED = "request body requires string field `projectRoot`"


def _unresolvable(field: str, raw: str, exc: OSError) -> InvalidRequest:
    """A path that does not resolve, worded with the path the caller gave.

    ``details.reason`` is ``not_found`` (nothing there, or a file where a
    directory was expected on the way) or ``unresolvable`` (permissions, loops).
    """
    if isinstance(exc, FileNotFoundError | NotADirectoryError):
        return InvalidRequest(
            f"no such directory: {raw} (`{field}`)",
            {"field": field, "reason": "not_found", "path": raw},
        )
    return InvalidRequest(
        f"cannot resolve `{field}` {raw}: {exc.strerror or exc}",
        {"field": field, "reason": "unresolvable", "path": raw},
    )


def is_within(path: Path, base: Path) -> bool:
    """True when ``path`` equals ``base`` or lies below it, per path component.

    Both paths must already be canonical; ``/p2`` is not within ``/p``.
    """
    return path == base or base in path.parents


def _check_raw_path(raw: str, field: str) -> None:
    if "\x00" in raw:
        raise InvalidRequest(f"`{field}` must not contain NUL bytes", {"field": field})
    if raw != raw.strip():
        # No silent trimming: a padded path names a different directory.
        raise InvalidRequest(
            f"`{field}` must not have leading or trailing whitespace", {"field": field}
        )


def canonical_directory(raw: str, field: str, *, coven_home: Path) -> Path:
    """Canonicalise an absolute directory path that a harness may be given.

    Refuses relative paths (no ``~`` expansion), paths that do not exist or are
    not directories, ``/``, anything under ``/proc``, ``/sys`` or ``/dev``, and
    ``COVEN_HOME`` or anything inside it. Raises ``InvalidRequest``.
    """
    _check_raw_path(raw, field)
    if not os.path.isabs(raw):
        raise InvalidRequest(
            f"`{field}` must be an absolute path (no `~` expansion), got `{raw}`",
            {"field": field},
        )
    try:
        real = Path(os.path.realpath(raw, strict=True))
    except OSError as exc:
        raise _unresolvable(field, raw, exc) from exc
    if not real.is_dir():
        raise InvalidRequest(
            f"`{field}` is not a directory: {real}",
            {"field": field, "reason": "not_a_directory", "path": raw},
        )
    if real == Path("/"):
        raise InvalidRequest(f"`{field}` must not be the filesystem root", {"field": field})
    for pseudo in _PSEUDO_FS:
        if is_within(real, pseudo):
            raise InvalidRequest(
                f"`{field}` must not be inside the pseudo-filesystem `{pseudo}`",
                {"field": field},
            )
    home = Path(os.path.realpath(coven_home))
    if is_within(real, home):
        raise InvalidRequest(f"`{field}` must not be the Coven home or inside it", {"field": field})
    return real


def resolve_project_root(raw: object, *, coven_home: Path) -> Path:
    """Return the canonical project root for a launch or registration.

    ``raw`` must be a non-blank string naming an absolute, existing directory
    (see ``canonical_directory`` for what is refused). A symlinked root is
    returned as its target. Raises ``InvalidRequest``.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidRequest(ROOT_REQUIRED, {"field": "projectRoot"})
    return canonical_directory(raw, "projectRoot", coven_home=coven_home)


def resolve_cwd(raw: object, *, root: Path) -> Path:
    """Return the canonical working directory for a session under ``root``.

    ``None`` or ``""`` means the root itself (``""`` for reference
    compatibility). A relative path is joined to ``root``; an absolute one is
    used as given. The canonical result (symlinks and ``..`` resolved) must be
    an existing directory equal to ``root`` or below it. ``root`` must already be
    canonical (from ``resolve_project_root``). Raises ``InvalidRequest``.
    """
    if raw is None or raw == "":
        return root
    if not isinstance(raw, str):
        raise InvalidRequest(f"`cwd` must be a string, got {type(raw).__name__}", {"field": "cwd"})
    if not raw.strip():
        raise InvalidRequest("`cwd` must not be blank", {"field": "cwd"})
    _check_raw_path(raw, "cwd")
    try:
        real = Path(os.path.realpath(os.path.join(root, raw), strict=True))
    except OSError as exc:
        raise _unresolvable("cwd", raw, exc) from exc
    if not is_within(real, root):
        raise InvalidRequest(
            f"`cwd` {raw} is outside the project root {root}",
            {
                "field": "cwd",
                "reason": "outside_project_root",
                "path": raw,
                "projectRoot": str(root),
            },
        )
    if not real.is_dir():
        raise InvalidRequest(
            f"`cwd` {raw} is not a directory",
            {"field": "cwd", "reason": "not_a_directory", "path": raw},
        )
    return real


def confine_to_lane(root: Path, cwd: Path, lane_top: Path) -> tuple[Path, Path]:
    """The project root and cwd a session runs with inside its lane (the worktree).

    ``root`` and ``cwd`` are the lane's counterparts of the checked request's paths.
    The same rule as for a root applies: both must be directories inside the lane, the
    cwd at or below the root; a root that is not (it lay above the repository, or its
    counterpart is missing) becomes the lane's top level. Raises ``InvalidRequest``
    when the cwd is not inside the lane.
    """
    top = Path(os.path.realpath(lane_top))
    real_cwd = Path(os.path.realpath(cwd))
    if not is_within(real_cwd, top) or not real_cwd.is_dir():
        raise InvalidRequest(
            f"`cwd` {real_cwd} is outside the session's lane {top}",
            {"field": "cwd", "reason": "outside_project_root", "projectRoot": str(top)},
        )
    real_root = Path(os.path.realpath(root))
    if (
        not is_within(real_root, top)
        or not real_root.is_dir()
        or not is_within(real_cwd, real_root)
    ):
        real_root = top
    return real_root, real_cwd
