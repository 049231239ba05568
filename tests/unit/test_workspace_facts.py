"""Repository facts: where a directory's work tree is and what it stood at."""

from __future__ import annotations

from pathlib import Path

import pytest

from coven.errors import GitFailed, NotAGitRepository
from coven.workspace import Git, RepoFacts, repository_facts, require_facts
from tests.support.gitrepo import GitSandbox


@pytest.fixture
def sandbox(tmp_path: Path) -> GitSandbox:
    return GitSandbox(tmp_path)


def test_facts_at_the_top_of_a_repository(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    facts = repository_facts(repo, git=sandbox.git)
    assert facts == RepoFacts(
        git_root=str(repo), base_commit=sandbox.head(repo), base_branch="main"
    )


def test_a_subdirectory_reports_the_top_level(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    facts = repository_facts(repo / "src", git=sandbox.git)
    assert facts is not None
    assert facts.git_root == str(repo)


def test_a_symlinked_path_reports_the_real_top_level(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    link = sandbox.base / "link"
    link.symlink_to(repo)
    facts = repository_facts(link / "src", git=sandbox.git)
    assert facts is not None
    assert facts.git_root == str(repo)


def test_a_directory_outside_any_repository_has_no_facts(sandbox: GitSandbox) -> None:
    plain = sandbox.base / "plain"
    plain.mkdir()
    assert repository_facts(plain, git=sandbox.git) is None
    with pytest.raises(NotAGitRepository) as caught:
        require_facts(plain, git=sandbox.git)
    assert caught.value.code == "not_a_git_repository"
    assert caught.value.status == 422


def test_a_missing_path_or_a_file_has_no_facts(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    assert repository_facts(repo / "nope", git=sandbox.git) is None
    assert repository_facts(repo / "README.md", git=sandbox.git) is None


def test_an_empty_repository_has_a_branch_but_no_base_commit(sandbox: GitSandbox) -> None:
    empty = sandbox.base / "empty"
    empty.mkdir()
    sandbox.run(empty, "init", "-q", "-b", "trunk")
    facts = repository_facts(empty, git=sandbox.git)
    assert facts == RepoFacts(git_root=str(empty.resolve()), base_commit=None, base_branch="trunk")


def test_a_detached_head_has_no_base_branch(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    head = sandbox.head(repo)
    sandbox.run(repo, "checkout", "-q", "--detach")
    facts = repository_facts(repo, git=sandbox.git)
    assert facts == RepoFacts(git_root=str(repo), base_commit=head, base_branch=None)


def test_inside_a_bare_repository_or_the_git_dir_there_are_no_facts(sandbox: GitSandbox) -> None:
    repo = sandbox.repo()
    bare = sandbox.base / "bare.git"
    sandbox.run(sandbox.base, "clone", "-q", "--bare", str(repo), str(bare))
    assert repository_facts(bare, git=sandbox.git) is None
    assert repository_facts(repo / ".git", git=sandbox.git) is None


def test_a_repository_git_refuses_is_an_error_not_no_repository(sandbox: GitSandbox) -> None:
    """A broken repository must not be reported as "not a repository" and silently ignored."""
    repo = sandbox.repo()
    (repo / ".git" / "config").write_text("[core\n")  # unparseable config
    with pytest.raises(GitFailed) as caught:
        repository_facts(repo, git=sandbox.git)
    assert caught.value.code == "git_failed"
    assert "config" in str(caught.value.details)


def test_the_daemons_own_git_variables_do_not_redirect_git(sandbox: GitSandbox) -> None:
    """A daemon started from inside some repository's hook has GIT_DIR set; it must not leak."""
    repo = sandbox.repo()
    other = sandbox.repo("other")
    env = dict(sandbox.env, GIT_DIR=str(other / ".git"), GIT_WORK_TREE=str(other))
    facts = repository_facts(repo, git=Git(env=env))
    assert facts is not None
    assert facts.git_root == str(repo)
