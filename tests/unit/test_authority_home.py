"""COVEN_HOME preparation, planted files, lock files and peer credentials."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from coven.authority import (
    HomePaths,
    check_safe_file,
    default_home,
    is_same_user,
    open_lock_file,
    peer_credentials,
    prepare_home,
)
from coven.errors import HomeRefused


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_prepare_creates_home_and_parents_0700(tmp_path: Path) -> None:
    home = tmp_path / "a" / "b" / "home"
    assert prepare_home(home) == home
    assert home.is_dir()
    assert mode(home) == 0o700


def test_prepare_tightens_loose_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    prepare_home(home)
    assert mode(home) == 0o700


def test_prepare_refuses_symlinked_home(tmp_path: Path) -> None:
    target = tmp_path / "real"
    target.mkdir()
    link = tmp_path / "home"
    link.symlink_to(target)
    with pytest.raises(HomeRefused, match="symlink") as info:
        prepare_home(link)
    assert info.value.code == "coven_home_refused"


def test_prepare_refuses_file_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("")
    with pytest.raises(HomeRefused, match="not a directory"):
        prepare_home(home)


def test_prepare_refuses_foreign_owned_home(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        home = tmp_path / "home"
        home.mkdir(mode=0o700)
        os.chown(home, 65534, 65534)
        expected = "owned by uid 65534"
    else:
        home, expected = Path("/"), "owned by uid 0"  # root owns / on any sane machine
    with pytest.raises(HomeRefused, match=expected):
        prepare_home(home)


def test_safe_file_refuses_foreign_owned_file(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to plant a file owned by someone else")
    planted = tmp_path / "daemon.json"
    planted.write_text("{}")
    os.chown(planted, 65534, 65534)
    with pytest.raises(HomeRefused, match="owned by uid 65534"):
        check_safe_file(planted, "file")


def test_prepare_reports_uncreatable_home(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(HomeRefused, match="failed to create"):
        prepare_home(blocker / "home")


def test_home_paths_layout(tmp_path: Path) -> None:
    paths = HomePaths(tmp_path)
    assert paths.socket == tmp_path / "coven.sock"
    assert paths.status_file == tmp_path / "daemon.json"
    assert paths.db == tmp_path / "coven.sqlite3"
    assert paths.serve_lock == tmp_path / "daemon-serve.lock"
    assert paths.lifecycle_lock == tmp_path / "daemon.lock"
    assert paths.log == tmp_path / "daemon.log"
    assert paths.adapters == tmp_path / "adapters"


def test_default_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_home({"COVEN_HOME": "/x/y", "HOME": "/h"}) == Path("/x/y")
    assert default_home({"COVEN_HOME": "rel"}) == tmp_path / "rel"
    assert default_home({"COVEN_HOME": "", "HOME": "/h"}) == Path("/h/.coven")
    assert default_home({}).name == ".coven"


def test_safe_file_accepts_missing_and_own_files(tmp_path: Path) -> None:
    check_safe_file(tmp_path / "missing", "file")
    own = tmp_path / "daemon.json"
    own.write_text("{}")
    check_safe_file(own, "file")


def test_safe_file_refuses_symlink(tmp_path: Path) -> None:
    (tmp_path / "t").write_text("")
    (tmp_path / "daemon.json").symlink_to(tmp_path / "t")
    with pytest.raises(HomeRefused, match="symlink") as info:
        check_safe_file(tmp_path / "daemon.json", "file")
    assert info.value.details == {"path": str(tmp_path / "daemon.json")}


def test_safe_file_refuses_wrong_type(tmp_path: Path) -> None:
    planted = tmp_path / "coven.sock"
    planted.write_text("not a socket")
    with pytest.raises(HomeRefused, match="not a socket"):
        check_safe_file(planted, "socket")
    (tmp_path / "dir").mkdir()
    with pytest.raises(HomeRefused, match="not a file"):
        check_safe_file(tmp_path / "dir", "file")


def test_safe_file_accepts_real_socket(tmp_path: Path) -> None:
    path = tmp_path / "coven.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(path))
        check_safe_file(path, "socket")


def test_safe_file_refuses_hard_link(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("")
    os.link(tmp_path / "a", tmp_path / "b")
    with pytest.raises(HomeRefused, match="2 hard links"):
        check_safe_file(tmp_path / "a", "file")


def test_lock_file_created_0600(tmp_path: Path) -> None:
    path = tmp_path / "daemon.lock"
    fd = open_lock_file(path)
    try:
        assert mode(path) == 0o600
    finally:
        os.close(fd)
    fd = open_lock_file(path)  # reopening an existing one is fine
    os.close(fd)


def test_lock_file_refuses_symlink(tmp_path: Path) -> None:
    (tmp_path / "daemon.lock").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(HomeRefused, match="cannot open lock file"):
        open_lock_file(tmp_path / "daemon.lock")
    assert not (tmp_path / "elsewhere").exists()


def test_lock_file_refuses_hard_link(tmp_path: Path) -> None:
    (tmp_path / "victim").write_text("")
    os.link(tmp_path / "victim", tmp_path / "daemon.lock")
    with pytest.raises(HomeRefused, match="hard links"):
        open_lock_file(tmp_path / "daemon.lock")


def test_lock_file_refuses_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "daemon.lock")
    # O_RDWR on a FIFO does not block on Linux.
    with pytest.raises(HomeRefused, match="not a regular file"):
        open_lock_file(tmp_path / "daemon.lock")


def test_peer_credentials_of_a_real_connection() -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with left, right:
        assert peer_credentials(left) == (os.getpid(), os.getuid(), os.getgid())
        assert is_same_user(left) is True


def test_is_same_user_fails_closed_on_non_unix_socket() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        assert is_same_user(sock) is False
