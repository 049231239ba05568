"""The daemon's side of a launch handed over at start-up (``coven.daemon.handover``)."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import time
from typing import Any

import msgspec
import pytest

from coven.authority.body import MAX_BODY
from coven.daemon import handover
from coven.errors import HarnessNotFound


class _Record(msgspec.Struct):
    id: str


class _Launcher:
    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome
        self.bodies: list[object] = []

    async def launch(self, body: object) -> Any:
        self.bodies.append(body)
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class _Runtime:
    def __init__(self, outcome: Any) -> None:
        self.launcher = _Launcher(outcome)


def _launch(outcome: Any, raw: bytes) -> tuple[int, dict[str, Any], _Runtime]:
    runtime = _Runtime(outcome)
    status, body, session_id = asyncio.run(handover.launch(runtime, raw))  # type: ignore[arg-type]
    assert b"\n" not in body  # it travels as one line
    # The session to preview: the one launched, and none when the launch was refused.
    assert session_id == (outcome.id if status == 201 else None)
    return status, json.loads(body), runtime


def test_a_launch_answers_201_with_the_record() -> None:
    status, body, runtime = _launch(_Record(id="s1"), b'{"harness": "codex"}')
    assert (status, body) == (201, {"id": "s1"})
    assert runtime.launcher.bodies == [{"harness": "codex"}]


def test_a_refusal_answers_in_the_apis_words() -> None:
    status, body, _ = _launch(HarnessNotFound("no harness `x`"), b"{}")
    assert status == HarnessNotFound.status
    assert body["error"]["code"] == HarnessNotFound.code


def test_a_failure_inside_answers_500_and_the_daemon_goes_on() -> None:
    status, body, _ = _launch(RuntimeError("boom"), b"{}")
    assert status == 500
    assert "RuntimeError: boom" in json.dumps(body)


def test_an_oversized_body_is_refused_unread_by_the_launcher() -> None:
    status, _, runtime = _launch(_Record(id="s1"), b" " * (MAX_BODY + 1))
    assert status == 413
    assert runtime.launcher.bodies == []


def test_reading_stops_at_eof_or_the_deadline_and_closes_the_pipe() -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b'{"a": 1}')
    os.close(write_fd)
    assert handover.read_request(read_fd) == b'{"a": 1}'
    with pytest.raises(OSError):
        os.fstat(read_fd)
    read_fd, write_fd = os.pipe()
    os.close(write_fd)
    assert handover.read_request(read_fd) is None  # closed unwritten: no launch
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b'{"half": ')  # never closed: not taken
    began = time.monotonic()
    assert handover.read_request(read_fd, wait=0.2) is None
    assert 0.2 <= time.monotonic() - began < 5.0
    with pytest.raises(OSError):
        os.fstat(read_fd)
    os.close(write_fd)


def test_a_preview_frame_is_written_only_while_the_last_word_still_fits() -> None:
    read_fd, write_fd = os.pipe()
    try:
        capacity = fcntl.fcntl(write_fd, fcntl.F_GETPIPE_SZ)
        assert handover._room(write_fd, 1000)
        fill = capacity - handover.LAST_WORD_ROOM - 100
        os.write(write_fd, b"x" * fill)  # the starter has not read these yet
        assert handover._room(write_fd, 100)
        assert not handover._room(write_fd, 101)
        os.read(read_fd, fill)  # it reads: room again
        assert handover._room(write_fd, 1000)
    finally:
        os.close(read_fd)
        os.close(write_fd)
    with open(os.devnull, "wb") as devnull:  # not a pipe: no preview at all
        assert not handover._room(devnull.fileno(), 1)


def test_a_failing_preview_is_logged_and_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    """The daemon awaits the preview before it says ``ready``: a failure in it must not
    stop the daemon (the starter attaches over the API all the same)."""

    class _Attach:
        async def open(self, *args: object) -> object:
            raise RuntimeError("boom")

    class _Broken:
        attach = _Attach()

    preview = handover.Preview(_Broken(), "s1", -1)  # type: ignore[arg-type]
    asyncio.run(preview.run())
    assert preview.sent == 0
    assert "the preview of the launch handed over failed" in caplog.text
