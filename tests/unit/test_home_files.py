"""The CLI's home checks are the daemon's: every home one refuses, the other refuses too.

Also the lifecycle lock (``daemon.lock``) and the guarded removal of leftovers.
"""

from __future__ import annotations

import fcntl
import os
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from coven.authority import open_log_file
from coven.authority import prepare_home as daemon_prepare_home
from coven.cli import home_files
from coven.errors import HomeRefused


def _missing(tmp: Path) -> Path:
    return tmp / "a" / "b" / "home"


def _loose(tmp: Path) -> Path:
    home = tmp / "home"
    home.mkdir()
    home.chmod(0o755)
    return home


def _symlink(tmp: Path) -> Path:
    (tmp / "real").mkdir(mode=0o700)
    (tmp / "home").symlink_to(tmp / "real")
    return tmp / "home"


def _dangling(tmp: Path) -> Path:
    (tmp / "home").symlink_to(tmp / "nowhere")
    return tmp / "home"


def _file(tmp: Path) -> Path:
    (tmp / "home").write_text("")
    return tmp / "home"


def _under_file(tmp: Path) -> Path:
    (tmp / "file").write_text("")
    return tmp / "file" / "home"


def _foreign(tmp: Path) -> Path:
    home = tmp / "home"
    home.mkdir(mode=0o700)
    os.chown(home, 65534, 65534)
    return home


SHAPES: dict[str, Callable[[Path], Path]] = {
    "missing": _missing,
    "loose": _loose,
    "symlink": _symlink,
    "dangling-symlink": _dangling,
    "file": _file,
    "under-a-file": _under_file,
}
if os.geteuid() == 0:  # only root can plant a home owned by someone else
    SHAPES["foreign"] = _foreign


def _outcome(prepare: Callable[[Path], Path], home: Path) -> str:
    try:
        prepared = prepare(home)
    except (HomeRefused, home_files.HomeUnusable):
        return "refused"
    return f"ok {stat.S_IMODE(os.lstat(prepared).st_mode):04o}"


@pytest.mark.parametrize("shape", SHAPES)
def test_cli_and_daemon_accept_and_refuse_the_same_homes(tmp_path: Path, shape: str) -> None:
    make = SHAPES[shape]
    (tmp_path / "cli").mkdir()
    (tmp_path / "daemon").mkdir()
    cli = _outcome(home_files.prepare_home, make(tmp_path / "cli"))
    daemon = _outcome(daemon_prepare_home, make(tmp_path / "daemon"))
    assert cli == daemon
    expected = "ok 0700" if shape in ("missing", "loose") else "refused"
    assert cli == expected


def test_refusal_names_the_ancestor_that_is_not_a_directory(tmp_path: Path) -> None:
    home = _under_file(tmp_path)
    with pytest.raises(home_files.HomeUnusable) as info:
        home_files.prepare_home(home)
    assert (
        str(info.value)
        == f"cannot create Coven home {home}: {tmp_path / 'file'} is not a directory"
    )
    with pytest.raises(HomeRefused) as refused:
        daemon_prepare_home(home)
    assert refused.value.message.endswith(f"`{tmp_path / 'file'}` is not a directory")


def test_the_lifecycle_lock_waits_for_its_holder_then_gives_up(tmp_path: Path) -> None:
    holder = os.open(tmp_path / "daemon.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        started = time.monotonic()
        with (
            pytest.raises(home_files.LifecycleBusy, match="lifecycle lock"),
            home_files.lifecycle_lock(tmp_path, wait=0.3),
        ):
            pass
        assert time.monotonic() - started >= 0.3
        threading.Timer(0.2, fcntl.flock, (holder, fcntl.LOCK_UN)).start()
        with home_files.lifecycle_lock(tmp_path, wait=5), pytest.raises(BlockingIOError):
            fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(holder)


@pytest.mark.parametrize("name", ["daemon.lock", "daemon-serve.lock"])
def test_lock_files_are_never_opened_through_a_symlink(tmp_path: Path, name: str) -> None:
    target = tmp_path / "target"
    target.write_text("precious")
    (tmp_path / name).symlink_to(target)
    with pytest.raises(home_files.HomeUnusable):
        if name == "daemon.lock":
            with home_files.lifecycle_lock(tmp_path):
                pass
        else:
            with home_files.no_daemon_serving(tmp_path):
                pass
    assert target.read_text() == "precious"


def test_no_daemon_serving_is_false_while_the_serve_lock_is_held(tmp_path: Path) -> None:
    held = os.open(tmp_path / "daemon-serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        with home_files.no_daemon_serving(tmp_path) as free:
            assert free is False
    finally:
        os.close(held)
    with home_files.no_daemon_serving(tmp_path) as free:
        assert free is True


def test_remove_if_ours_removes_only_the_expected_kind(tmp_path: Path) -> None:
    sock_path = tmp_path / "coven.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
    status = tmp_path / "daemon.json"
    status.write_text("{}")
    assert home_files.remove_if_ours(sock_path, stat.S_IFREG) is False
    assert home_files.remove_if_ours(status, stat.S_IFSOCK) is False
    assert sock_path.exists() and status.exists()
    assert home_files.remove_if_ours(sock_path, stat.S_IFSOCK) is True
    assert home_files.remove_if_ours(status, stat.S_IFREG) is True
    assert not sock_path.exists() and not status.exists()
    assert home_files.remove_if_ours(status, stat.S_IFREG) is False


@pytest.mark.parametrize("plant", ["symlink", "hardlink", "directory"])
def test_the_daemon_log_refuses_planted_files(tmp_path: Path, plant: str) -> None:
    log = tmp_path / "daemon.log"
    target = tmp_path / "target"
    target.write_text("precious")
    if plant == "symlink":
        log.symlink_to(target)
    elif plant == "hardlink":
        os.link(target, log)
    else:
        log.mkdir()
    with pytest.raises(HomeRefused, match=r"daemon\.log"):
        os.close(open_log_file(log))
    assert target.read_text() == "precious"


def test_the_daemon_log_is_created_0600_and_appended(tmp_path: Path) -> None:
    log = tmp_path / "daemon.log"
    for line in (b"one\n", b"two\n"):
        fd = open_log_file(log)
        os.write(fd, line)
        os.close(fd)
    assert log.read_bytes() == b"one\ntwo\n"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
