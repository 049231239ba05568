"""The CLI's side of a cold run's preview: reading the frames on the daemon's ready pipe
(``daemon_spawn``) and skipping what the terminal shows already (``attaching._Shown``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from coven.cli import daemon_spawn
from coven.cli.attaching import _Shown


def _spawned(tmp_path: Path, said: bytes) -> daemon_spawn.Spawned:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, said)
    os.close(write_fd)
    err_read, err_write = os.pipe()
    os.close(err_write)
    process = subprocess.Popen(["true"])
    process.wait()
    return daemon_spawn.Spawned(tmp_path, process, read_fd, err_read)  # type: ignore[arg-type]


def test_frames_after_the_answer_go_to_the_sink_in_order_until_the_word(tmp_path: Path) -> None:
    said = b'launched 201 {"id":"s"}\noutput 5\nhel\nooutput 0\noutput 3\n!\n\nready\n'
    spawned = _spawned(tmp_path, said)
    got: list[bytes] = []
    answers: list[tuple[int, bytes]] = []

    def on_answer(answer: tuple[int, bytes]) -> daemon_spawn.OutputSink:
        answers.append(answer)
        return got.append

    line, _ = spawned.wait(5.0, on_answer)
    assert line == "ready"
    assert answers == [(201, b'{"id":"s"}')] == [spawned.answer]
    assert got == [b"hel\no", b"!\n\n"]  # bytes, newlines and all; empty frames dropped


def test_frames_are_read_and_dropped_when_nobody_shows_them(tmp_path: Path) -> None:
    spawned = _spawned(tmp_path, b'launched 201 {"id":"s"}\noutput 2\nhiready\n')
    assert spawned.wait(5.0)[0] == "ready"
    spawned = _spawned(tmp_path, b'launched 201 {"id":"s"}\noutput 2\nhiready\n')
    assert spawned.wait(5.0, lambda answer: None)[0] == "ready"


def test_a_frame_cut_short_leaves_no_word(tmp_path: Path) -> None:
    spawned = _spawned(tmp_path, b'launched 201 {"id":"s"}\noutput 10\nonly')
    got: list[bytes] = []
    line, _ = spawned.wait(5.0, lambda answer: got.append)
    assert (line, got) == ("", [])  # then `_ready` reports the daemon's end


def test_an_unreadable_frame_is_an_error(tmp_path: Path) -> None:
    spawned = _spawned(tmp_path, b'launched 201 {"id":"s"}\noutput many\nready\n')
    with pytest.raises(daemon_spawn.DaemonControlError, match="unreadable output"):
        spawned.wait(5.0, lambda answer: None)


def test_the_stream_shows_only_what_follows_the_preview() -> None:
    shown = _Shown(b"hello world")
    assert shown.skip(b"hel") == b""
    assert shown.left == 8
    assert shown.skip(b"lo wor") == b""
    assert shown.skip(b"ld and more") == b" and more"
    assert shown.left == 0
    assert shown.skip(b"rest") == b"rest"


def test_a_stream_that_differs_from_the_preview_is_shown_from_the_first_difference() -> None:
    """Stored output is redacted, the preview was not: nothing of the stream is lost."""
    shown = _Shown(b"key sk-secret-123\r\nnext")
    assert shown.skip(b"key [REDACTED]\r\nnext line") == b"[REDACTED]\r\nnext line"
    assert shown.left == 0
    assert shown.skip(b"more") == b"more"
