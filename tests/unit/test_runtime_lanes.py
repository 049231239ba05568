"""Lanes through the runtime's spawner seam: a spawn that fails leaves no lane behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from coven.errors import LaunchFailed
from coven.runtime import Runtime
from coven.schema import SessionStatus
from coven.schema.meta import DaemonIdentity
from coven.store import open_store
from tests.fakes.spawner import FakeSpawner
from tests.support.gitrepo import GitSandbox

FAKE_BIN = Path(__file__).resolve().parents[1] / "fakes" / "bin"


@pytest.fixture
async def failing(tmp_path: Path) -> AsyncIterator[tuple[Runtime, GitSandbox]]:
    sandbox = GitSandbox(tmp_path)
    home = sandbox.base / "coven-home"
    home.mkdir(mode=0o700)
    writer, reader = open_store(str(home / "coven.sqlite3"))
    env = {**sandbox.env, "PATH": f"{FAKE_BIN}:{sandbox.bin}"}
    rt = Runtime(
        asyncio.get_running_loop(),
        writer,
        reader,
        spawner=FakeSpawner(fail="exec failed"),
        home=home,
        env=env,
        instance_id="test-instance",
        daemon=DaemonIdentity(pid=1, startedAt="now", socket=str(home / "coven.sock")),
    )
    try:
        yield rt, sandbox
    finally:
        await asyncio.wait_for(rt.shutdown(), 5.0)
        writer.stop()
        reader.close()


async def test_a_failed_spawn_removes_the_lane_it_was_given(
    failing: tuple[Runtime, GitSandbox],
) -> None:
    rt, sandbox = failing
    repo = sandbox.repo()
    body = {"projectRoot": str(repo), "harness": "codex", "prompt": "x", "isolation": "worktree"}
    with pytest.raises(LaunchFailed) as refused:
        await rt.launcher.launch(body)
    row = await rt.ledger.session(refused.value.details["sessionId"])
    assert row.status == SessionStatus.FAILED
    assert row.git_root == str(repo) and row.worktree_path is None and row.branch is None
    worktrees = rt.home / "worktrees"
    assert not worktrees.exists() or not any(worktrees.iterdir())
    assert sandbox.run(repo, "branch", "--list", "coven/*") == ""
