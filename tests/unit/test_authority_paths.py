"""Project root and cwd authority, with real directories and symlinks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coven.authority import is_within, resolve_cwd, resolve_project_root
from coven.errors import InvalidRequest


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "coven-home"
    path.mkdir()
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "proj"
    (path / "sub" / "deep").mkdir(parents=True)
    (path / "file.txt").write_text("x")
    return path.resolve()


def test_root_is_canonicalised_through_symlinks(tmp_path: Path, root: Path, home: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(root)
    assert resolve_project_root(str(link), coven_home=home) == root


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (None, "requires string field `projectRoot`"),
        (42, "requires string field `projectRoot`"),
        (["/tmp"], "requires string field `projectRoot`"),
        ("", "requires string field `projectRoot`"),
        ("   ", "requires string field `projectRoot`"),
        ("relative/dir", "absolute"),
        ("~/proj", "absolute"),
        (".", "absolute"),
        ("/", "filesystem root"),
        ("/proc/self", "pseudo-filesystem"),
        ("/proc", "pseudo-filesystem"),
        ("/sys", "pseudo-filesystem"),
        ("/dev", "pseudo-filesystem"),
        ("/no/such/dir/anywhere", "no such directory: /no/such/dir/anywhere"),
    ],
)
def test_bad_roots_are_refused(raw: object, fragment: str, home: Path) -> None:
    with pytest.raises(InvalidRequest, match=fragment) as info:
        resolve_project_root(raw, coven_home=home)
    assert info.value.code == "invalid_request"
    assert info.value.status == 400


def test_padded_root_is_refused_not_trimmed(root: Path, home: Path) -> None:
    for raw in (f" {root}", f"{root} ", f"{root}\n"):
        with pytest.raises(InvalidRequest, match="whitespace"):
            resolve_project_root(raw, coven_home=home)


def test_nul_byte_in_root_is_refused(root: Path, home: Path) -> None:
    with pytest.raises(InvalidRequest, match="NUL"):
        resolve_project_root(f"{root}\x00x", coven_home=home)


def test_file_root_is_refused(root: Path, home: Path) -> None:
    with pytest.raises(InvalidRequest, match="not a directory"):
        resolve_project_root(str(root / "file.txt"), coven_home=home)


def test_coven_home_and_its_subtree_are_refused(home: Path, tmp_path: Path) -> None:
    (home / "adapters").mkdir()
    link = tmp_path / "sneaky"
    link.symlink_to(home)
    for raw in (home, home / "adapters", link):
        with pytest.raises(InvalidRequest, match="Coven home"):
            resolve_project_root(str(raw), coven_home=home)


def test_cwd_defaults_to_root(root: Path) -> None:
    assert resolve_cwd(None, root=root) == root
    assert resolve_cwd("", root=root) == root


def test_cwd_relative_and_absolute_inside_root(root: Path) -> None:
    assert resolve_cwd("sub/deep", root=root) == root / "sub" / "deep"
    assert resolve_cwd(str(root / "sub"), root=root) == root / "sub"
    assert resolve_cwd("sub/..", root=root) == root


def test_sibling_with_common_prefix_is_outside(tmp_path: Path, root: Path) -> None:
    sibling = Path(str(root) + "2")
    sibling.mkdir()
    with pytest.raises(InvalidRequest) as info:
        resolve_cwd(str(sibling), root=root)
    assert info.value.message == f"`cwd` {sibling} is outside the project root {root}"
    assert info.value.details == {
        "field": "cwd",
        "reason": "outside_project_root",
        "path": str(sibling),
        "projectRoot": str(root),
    }


def test_dotdot_escape_is_outside(root: Path) -> None:
    with pytest.raises(InvalidRequest, match="outside"):
        resolve_cwd("sub/../..", root=root)


def test_symlink_out_of_root_is_outside(tmp_path: Path, root: Path) -> None:
    (root / "out").symlink_to(tmp_path)
    with pytest.raises(InvalidRequest, match="outside"):
        resolve_cwd("out", root=root)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (5, "must be a string"),
        (True, "must be a string"),
        ({"p": 1}, "must be a string"),
        ("  ", "blank"),
        (" sub", "whitespace"),
        ("sub\x00", "NUL"),
        ("missing", r"no such directory: missing \(`cwd`\)"),
        ("file.txt/below", r"no such directory: file.txt/below \(`cwd`\)"),
        ("file.txt", "not a directory"),
    ],
)
def test_bad_cwd_is_refused(raw: object, fragment: str, root: Path) -> None:
    with pytest.raises(InvalidRequest, match=fragment):
        resolve_cwd(raw, root=root)


def test_a_missing_cwd_names_the_path_and_the_reason(root: Path) -> None:
    with pytest.raises(InvalidRequest) as info:
        resolve_cwd("packages/nope", root=root)
    assert info.value.code == "invalid_request"
    assert info.value.details == {"field": "cwd", "reason": "not_found", "path": "packages/nope"}


def test_is_within_is_component_wise() -> None:
    assert is_within(Path("/p/a"), Path("/p"))
    assert is_within(Path("/p"), Path("/p"))
    assert not is_within(Path("/p2"), Path("/p"))


_SEGMENT = st.sampled_from(["..", ".", "a", "b", "up", "loop", "abs", ""])


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(_SEGMENT, min_size=1, max_size=8))
def test_random_relative_paths_never_escape(tmp_path: Path, parts: list[str]) -> None:
    root = tmp_path / "r"
    if not root.exists():
        (root / "a" / "b").mkdir(parents=True)
        (tmp_path / "outside").mkdir()
        os.symlink("..", root / "a" / "up")  # inside: a/up -> root
        os.symlink(tmp_path / "outside", root / "abs")  # escapes
        os.symlink("b/../../..", root / "a" / "loop")  # escapes
    real_root = root.resolve()
    raw = "/".join(parts)
    try:
        cwd = resolve_cwd(raw, root=real_root)
    except InvalidRequest:
        return
    assert is_within(cwd, real_root)
    assert cwd.is_dir()
    assert cwd == Path(os.path.realpath(real_root / raw))
