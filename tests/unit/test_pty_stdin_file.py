"""A prompt handed to a harness on stdin lives in a private file that is already deleted."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from coven.pty import discard_leftovers, stdin_file


def test_the_file_is_private_unlinked_and_holds_the_prompt(tmp_path: Path) -> None:
    directory = tmp_path / "prompts"
    data = "a long prompt é\n".encode() * 20000
    fd = stdin_file(data, str(directory))
    try:
        info = os.fstat(fd)
        assert stat.S_ISREG(info.st_mode)
        assert stat.S_IMODE(info.st_mode) == 0o600
        assert info.st_uid == os.getuid()
        assert info.st_nlink == 0  # no name anywhere: nothing to clean up, nothing to find
        assert os.listdir(directory) == []
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        # Read-only, positioned at the start, close-on-exec (only the harness's stdin gets it).
        assert os.read(fd, len(data) + 1) == data
        with pytest.raises(OSError):
            os.write(fd, b"x")
        assert not os.get_inheritable(fd)
    finally:
        os.close(fd)


def test_a_symlink_in_place_of_the_directory_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    link = tmp_path / "prompts"
    link.symlink_to(target)
    with pytest.raises(OSError):
        stdin_file(b"secret prompt", str(link))
    assert os.listdir(target) == []


def test_a_directory_others_can_read_is_refused(tmp_path: Path) -> None:
    directory = tmp_path / "prompts"
    directory.mkdir()
    directory.chmod(0o755)
    with pytest.raises(PermissionError, match="0700"):
        stdin_file(b"secret prompt", str(directory))
    assert os.listdir(directory) == []


def test_leftovers_of_a_crash_are_discarded_and_nothing_else(tmp_path: Path) -> None:
    directory = tmp_path / "prompts"
    directory.mkdir(mode=0o700)
    (directory / "prompt-0011aabb").write_text("left behind")
    (directory / "notes.txt").write_text("not ours")
    (directory / "prompt-dir").mkdir()
    assert discard_leftovers(str(directory)) == 1
    assert sorted(os.listdir(directory)) == ["notes.txt", "prompt-dir"]
    assert discard_leftovers(str(tmp_path / "missing")) == 0
