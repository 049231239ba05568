"""How the CLI spawns the daemon (``coven.cli.daemon_spawn``): detached, from ``/``, with
/dev/null for stdin and stdout, and none of the CLI's file descriptors but its pipes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from coven.cli import daemon_spawn
from tests.support.daemon import cli_spawned_home

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with cli_spawned_home(tmp_path, monkeypatch) as home:
        yield home


def _fd_targets(pid: int) -> dict[int, str]:
    fds = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            fds[int(name)] = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
    return fds


def test_the_daemon_is_detached_and_gets_nothing_of_ours_it_should_not(home: Path) -> None:
    inherited_r, inherited_w = os.pipe()  # as a make jobserver's pipe would be
    os.set_inheritable(inherited_r, True)
    os.set_inheritable(inherited_w, True)
    leaked = {os.readlink(f"/proc/self/fd/{fd}") for fd in (inherited_r, inherited_w)}
    try:
        spawned = daemon_spawn.spawn(home, launch_soon=True)
    finally:
        os.close(inherited_r)
        os.close(inherited_w)
    line, stderr = spawned.wait(15.0)
    assert (line, stderr) == ("ready", b"")
    pid = spawned.process.pid
    assert spawned.process.poll() is None  # serving
    assert os.getsid(pid) == pid  # a session of its own: no terminal's hangup reaches it
    assert os.readlink(f"/proc/{pid}/cwd") == "/"  # holds no user directory
    targets = _fd_targets(pid)
    assert targets[0] == targets[1] == "/dev/null"
    assert not leaked & set(targets.values())


def test_a_daemon_that_cannot_start_says_why_and_its_status_is_known(home: Path) -> None:
    (home / "coven.sock").mkdir()  # something planted where its socket goes
    spawned = daemon_spawn.spawn(home)
    line, _stderr = spawned.wait(15.0)
    assert line.startswith("error:") and "coven.sock" in line
    assert spawned.process.wait(5.0) == 1
