"""Changes and diffs of a tree against its base: every kind of work, and the index untouched."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import msgspec
import pytest

from coven.errors import InvalidRequest, NotAGitRepository
from coven.workspace import ChangedFile, FileStatus, changes, diff
from coven.workspace.porcelain import status_paths
from tests.support.gitrepo import GitSandbox, write


@pytest.fixture
def sandbox(tmp_path: Path) -> GitSandbox:
    return GitSandbox(tmp_path)


def _index_digest(repo: Path) -> str:
    return hashlib.sha256((repo / ".git" / "index").read_bytes()).hexdigest()


def _every_kind_of_work(sandbox: GitSandbox) -> tuple[Path, str]:
    repo = sandbox.repo(
        files={
            "README.md": "hello\n",
            "src/app.py": "one\ntwo\nthree\n",
            "old_name.txt": "a file that only moves\n" * 5,
            "gone.txt": "bye\n",
            "logo.png": "",
        }
    )
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x01")
    sandbox.commit_all(repo, "binary")
    base = sandbox.run(repo, "rev-parse", "HEAD~1")
    write(repo, {"committed.txt": "made in a commit\n"})
    sandbox.commit_all(repo, "committed work")
    write(repo, {"src/app.py": "one\nTWO\nthree\nfour\n", "staged.txt": "staged\n"})
    sandbox.run(repo, "add", "staged.txt")
    sandbox.run(repo, "mv", "old_name.txt", "new_name.txt")
    (repo / "gone.txt").unlink()
    write(repo, {"notes/untracked file.md": "not yet added\n", ".gitignore": "*.log\n"})
    write(repo, {"debug.log": "ignored\n"})
    (repo / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x02\xff")
    return repo, base


def test_changes_cover_committed_staged_unstaged_and_untracked_work(sandbox: GitSandbox) -> None:
    repo, base = _every_kind_of_work(sandbox)
    status_before = sandbox.run(repo, "status", "--porcelain")
    before = _index_digest(repo)  # git status itself may refresh the index; read it after

    found = changes(repo, base, git=sandbox.git)

    assert found.base_commit == base
    assert found.head == sandbox.head(repo)
    assert list(found.files) == [
        ChangedFile(path=".gitignore", status=FileStatus.UNTRACKED, additions=1, deletions=0),
        ChangedFile(path="committed.txt", status=FileStatus.ADDED, additions=1, deletions=0),
        ChangedFile(path="gone.txt", status=FileStatus.DELETED, additions=0, deletions=1),
        ChangedFile(
            path="logo.png", status=FileStatus.MODIFIED, additions=0, deletions=0, binary=True
        ),
        ChangedFile(
            path="new_name.txt",
            status=FileStatus.RENAMED,
            additions=0,
            deletions=0,
            old_path="old_name.txt",
        ),
        ChangedFile(
            path="notes/untracked file.md", status=FileStatus.UNTRACKED, additions=1, deletions=0
        ),
        ChangedFile(path="src/app.py", status=FileStatus.MODIFIED, additions=2, deletions=1),
        ChangedFile(path="staged.txt", status=FileStatus.ADDED, additions=1, deletions=0),
    ]
    # Reading never touched the checkout's index or its status.
    assert _index_digest(repo) == before
    assert sandbox.run(repo, "status", "--porcelain") == status_before


def test_changes_asked_from_a_subdirectory_cover_the_whole_tree(sandbox: GitSandbox) -> None:
    repo, base = _every_kind_of_work(sandbox)
    assert changes(repo / "src", base, git=sandbox.git) == changes(repo, base, git=sandbox.git)
    one = diff(repo / "notes", base, "src/app.py", git=sandbox.git).diff
    assert one.startswith("diff --git a/src/app.py b/src/app.py")


def test_a_binary_modification_counts_no_lines(sandbox: GitSandbox) -> None:
    repo = sandbox.repo(files={"blob.bin": ""})
    (repo / "blob.bin").write_bytes(bytes(range(256)))
    base = sandbox.commit_all(repo, "bin")
    (repo / "blob.bin").write_bytes(bytes(reversed(range(256))))
    (found,) = changes(repo, base, git=sandbox.git).files
    assert (found.status, found.binary, found.additions, found.deletions) == (
        FileStatus.MODIFIED,
        True,
        0,
        0,
    )


def test_no_work_means_no_changes(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    found = changes(repo, sandbox.head(repo), git=sandbox.git)
    assert found.files == ()


def test_changes_in_a_repository_without_commits(sandbox: GitSandbox) -> None:
    repo = sandbox.base / "fresh"
    repo.mkdir()
    sandbox.run(repo, "init", "-q", "-b", "main")
    write(repo, {"a.txt": "a\nb\n", "b.txt": "c\n"})
    sandbox.run(repo, "add", "a.txt")
    found = changes(repo, None, git=sandbox.git)
    assert found.head is None
    assert [(f.path, f.status, f.additions) for f in found.files] == [
        ("a.txt", FileStatus.ADDED, 2),
        ("b.txt", FileStatus.UNTRACKED, 1),
    ]
    assert "+c" in diff(repo, None, git=sandbox.git).diff


def test_changes_outside_a_repository_say_so(sandbox: GitSandbox) -> None:
    plain = sandbox.base / "plain"
    plain.mkdir()
    with pytest.raises(NotAGitRepository) as caught:
        changes(plain, None, git=sandbox.git)
    assert caught.value.code == "not_a_git_repository"
    with pytest.raises(NotAGitRepository):
        diff(plain, None, git=sandbox.git)
    with pytest.raises(NotAGitRepository):
        changes(sandbox.repo() / ".git", None, git=sandbox.git)


def test_the_diff_includes_untracked_files_and_leaves_the_index_alone(sandbox: GitSandbox) -> None:
    repo, base = _every_kind_of_work(sandbox)
    before = _index_digest(repo)
    found = diff(repo, base, git=sandbox.git)
    assert not found.truncated
    assert found.bytes == len(found.diff.encode())
    text = found.diff
    assert "diff --git a/notes/untracked file.md b/notes/untracked file.md" in text
    assert "+not yet added" in text
    assert "-two\n+TWO" in text
    assert "rename from old_name.txt\nrename to new_name.txt" in text
    assert "Binary files a/logo.png and b/logo.png differ" in text
    assert "deleted file mode" in text
    assert "debug.log" not in text
    assert _index_digest(repo) == before


def test_the_diff_of_one_path(sandbox: GitSandbox) -> None:
    repo, base = _every_kind_of_work(sandbox)
    one = diff(repo, base, "src/app.py", git=sandbox.git).diff
    assert one.startswith("diff --git a/src/app.py b/src/app.py")
    assert one.count("diff --git") == 1
    folder = diff(repo, base, "notes", git=sandbox.git).diff
    assert folder.count("diff --git") == 1
    # Pathspec magic is not interpreted: "*" is a literal name, which matches nothing.
    assert diff(repo, base, "*", git=sandbox.git).diff == ""


@pytest.mark.parametrize("bad", ["/etc/passwd", "../outside", "a/../../b", ""])
def test_a_diff_path_must_stay_inside_the_repository(sandbox: GitSandbox, bad: str) -> None:
    repo = sandbox.repo()
    with pytest.raises(InvalidRequest):
        diff(repo, sandbox.head(repo), bad, git=sandbox.git)


def test_a_large_diff_is_cut_at_a_line_with_a_clear_marker(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    base = sandbox.head(repo)
    write(repo, {"big.txt": "".join(f"line {i} ünïcode\n" for i in range(20000))})
    full = diff(repo, base, git=sandbox.git)
    cut = diff(repo, base, max_bytes=10_000, git=sandbox.git)
    assert not full.truncated
    assert cut.truncated
    assert cut.bytes == full.bytes > 300_000
    body, marker = cut.diff.rsplit("\n[coven]", 1)
    assert marker.startswith(" diff truncated:") and marker.endswith(
        f"of {full.bytes} bytes shown\n"
    )
    assert len(body.encode()) + 1 <= 10_000
    assert full.diff.startswith(body + "\n")
    assert "\ufffd" not in cut.diff


def test_a_diff_cap_must_be_positive(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    with pytest.raises(InvalidRequest):
        diff(repo, sandbox.head(repo), max_bytes=0, git=sandbox.git)


def test_a_sha256_repository_without_commits(sandbox: GitSandbox) -> None:
    repo = sandbox.base / "sha256"
    repo.mkdir()
    sandbox.run(repo, "init", "-q", "--object-format=sha256", "-b", "main")
    write(repo, {"a.txt": "a\n"})
    found = changes(repo, None, git=sandbox.git)
    assert [(f.path, f.status) for f in found.files] == [("a.txt", FileStatus.UNTRACKED)]


def test_reading_a_checkout_with_stale_stat_data_never_rewrites_its_index(
    sandbox: GitSandbox,
) -> None:
    """Plain ``git status`` refreshes (rewrites) the index here; Coven's reads must not."""
    repo = sandbox.repo()
    base = sandbox.head(repo)
    app = repo / "src" / "app.py"
    os.utime(app, (1_000_000_000, 1_000_000_000))  # same content, different stat data
    before = _index_digest(repo)
    changes(repo, base, git=sandbox.git)
    diff(repo, base, git=sandbox.git)
    assert status_paths(sandbox.git, repo) == ()
    assert _index_digest(repo) == before
    sandbox.run(repo, "status", "--porcelain")
    assert _index_digest(repo) != before  # the control: an ordinary status does write it


def test_a_file_name_that_is_not_utf8_still_encodes_as_json(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    base = sandbox.head(repo)
    (repo / os.fsdecode(b"caf\xe9.txt")).write_text("latin-1 name\n")
    found = changes(repo, base, git=sandbox.git)
    assert [f.path for f in found.files] == ["caf\\xe9.txt"]
    assert b'"path":"caf\\\\xe9.txt"' in msgspec.json.encode(found)
    assert "+latin-1 name" in diff(repo, base, git=sandbox.git).diff
