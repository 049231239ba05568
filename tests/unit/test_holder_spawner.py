"""``HolderSpawner``: sessions started under holders, recorded in the home, found and adopted."""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterator

import pytest

from coven.pty import kill_session_tree
from coven.pty.holder_spawner import HolderProcess, HolderSpawner
from tests.fakes.ptyio import fake_env, wait_dead
from tests.support.holders import read_to_end, read_until


@pytest.fixture
def spawner() -> Iterator[HolderSpawner]:
    # A short home: holder sockets live in it (at most 107 bytes per path).
    home = tempfile.mkdtemp(prefix="cvs-")
    prompts = os.path.join(home, "prompts")
    made = HolderSpawner(home, stdin_dir=prompts)
    yield made
    made.close()
    for path in os.listdir(made.dir) if os.path.isdir(made.dir) else []:
        os.unlink(os.path.join(made.dir, path))  # abandoned holders end their sessions


def _env(mode: str) -> tuple[str, dict[str, str]]:
    session_id = str(uuid.uuid4())
    return session_id, fake_env(mode, COVEN_SESSION_ID=session_id)


@pytest.mark.timeout(30)
def test_a_session_is_recorded_found_and_adopted_where_the_store_left_off(
    spawner: HolderSpawner,
) -> None:
    session_id, env = _env("echo")
    process = spawner.spawn(["codex"], cwd="/", env=env, rows=30, cols=100)
    assert isinstance(process, HolderProcess)
    try:
        got = read_until(process.handle, b"ready")
        process.acknowledge(7, len(got))
        process.resize(40, 120)
        process.detach()  # as a daemon that stops keeping its sessions
        record = spawner.find(session_id)
        assert record is not None
        assert record.identity.holder_pid == process.holder_pid
        assert (record.committed_seq, record.committed_offset) == (7, len(got))
        assert (record.rows, record.cols) == (40, 120)
        again = spawner.adopt(record, record.committed_offset)
        assert again.write(b"hello\n") == 6
        assert b"echo: hello" in read_until(again.handle, b"echo: hello")
        again.kill(0.5)
        read_to_end(again.handle)
        assert again.poll_exit() is not None
        again.release()
        again.close()
        assert wait_dead(again.holder_pid)
        assert spawner.find(session_id) is None and not os.listdir(spawner.dir)
    finally:
        kill_session_tree(process.pid, grace=0.0)


@pytest.mark.timeout(30)
def test_a_prompt_for_stdin_reaches_a_held_harness(spawner: HolderSpawner) -> None:
    _session_id, env = _env("stdin-digest")
    prompt = "ünïcode prompt " * 20_000
    process = spawner.spawn(["codex"], cwd="/", env=env, rows=24, cols=80, stdin=prompt.encode())
    assert isinstance(process, HolderProcess)
    try:
        out = read_to_end(process.handle)
        data = prompt.encode()
        assert f"stdin bytes={len(data)} sha256={hashlib.sha256(data).hexdigest()}".encode() in out
        # The reserved variables never reach the harness.
        assert b"COVEN_HOLDER" not in out
        process.release()
        process.close()
        assert wait_dead(process.holder_pid)
    finally:
        kill_session_tree(process.pid, grace=0.0)
