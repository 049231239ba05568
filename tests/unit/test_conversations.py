"""Harness conversations: the argv that starts or resumes one, and reading Codex's thread id."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

from coven.errors import InvalidRequest
from coven.harness import LaunchOptions, build_argv
from coven.harness.builtins import CLAUDE, CODEX
from coven.runtime.conversations import codex_rollouts, codex_sessions_dir, find_codex_thread
from coven.store import SCHEMA_VERSION, open_store
from coven.store.database import _MIGRATIONS


def test_claude_starts_under_an_id_and_resumes_by_flag() -> None:
    start = build_argv(CLAUDE, LaunchOptions(prompt="hi", conversation_id="c-1"))
    assert start.argv == ["claude", "--session-id", "c-1", "--", "hi"]
    resume = build_argv(CLAUDE, LaunchOptions(prompt="go", resume_id="c-1", mode="nonInteractive"))
    assert resume.argv == ["claude", "--resume", "c-1", "--print", "--", "go"]


def test_codex_resumes_by_subcommand_after_the_mode_prefix() -> None:
    assert build_argv(CODEX, LaunchOptions(prompt="go", resume_id="t-9")).argv == [
        "codex", "resume", "t-9", "--", "go",
    ]  # fmt: skip
    headless = build_argv(CODEX, LaunchOptions(prompt="go", resume_id="t-9", mode="nonInteractive"))
    assert headless.argv[1:] == [
        "exec", "--skip-git-repo-check", "--color", "never", "resume", "t-9", "--", "go",
    ]  # fmt: skip
    # Codex cannot be told an id to start under: nothing is added, nothing is claimed.
    assert build_argv(CODEX, LaunchOptions(prompt="go", conversation_id="x")).argv == [
        "codex", "--", "go",
    ]  # fmt: skip


@pytest.mark.parametrize("bad", ["-rf", "--resume", ".hidden", ""])
def test_an_id_that_could_read_as_an_option_is_refused(bad: str) -> None:
    with pytest.raises(InvalidRequest):
        build_argv(CLAUDE, LaunchOptions(prompt="x", resume_id=bad))


def _rollout(folder: Path, thread: str, cwd: str, age: float = 0.0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"rollout-{thread}.jsonl"
    meta = {"type": "session_meta", "payload": {"id": thread, "cwd": cwd}}
    path.write_text(json.dumps(meta) + "\n" + json.dumps({"type": "event"}) + "\n")
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def test_find_codex_thread_matches_cwd_and_time_and_skips_claimed(tmp_path: Path) -> None:
    day = tmp_path / "sessions" / time.strftime("%Y/%m/%d")
    since = time.time() - 5
    _rollout(day, "old", "/repo", age=3600)
    _rollout(day, "elsewhere", "/other")
    (day / "broken.jsonl").write_text("{not json\n")
    (day / "list.jsonl").write_text("[1, 2]\n")
    assert find_codex_thread(tmp_path / "sessions", "/repo", since) is None
    _rollout(day, "mine", "/repo")
    assert find_codex_thread(tmp_path / "sessions", "/repo", since) == "mine"
    assert find_codex_thread(tmp_path / "sessions", "/repo", since, frozenset({"mine"})) is None
    assert find_codex_thread(tmp_path / "missing", "/repo", since) is None


def test_rollouts_of_days_before_the_start_are_not_read(tmp_path: Path) -> None:
    # A long Codex history is never walked: only the days around the session's start.
    sessions = tmp_path / "sessions"
    since = time.time() - 5
    _rollout(sessions / "2020" / "01" / "01", "ancient", "/repo")  # fresh file, old day
    last_year = str(int(time.strftime("%Y")) - 1)
    _rollout(sessions / last_year / "12" / "30", "last-year", "/repo")  # >= 2 days before
    _rollout(sessions / "imported", "undated", "/repo")  # not a date: walked
    found = {r.thread for r in codex_rollouts(sessions, since)}
    assert found == {"undated"}
    _rollout(sessions / time.strftime("%Y/%m/%d"), "today", "/repo")
    assert {r.thread for r in codex_rollouts(sessions, since)} == {"undated", "today"}


def test_codex_home_wins_over_home() -> None:
    assert codex_sessions_dir({"HOME": "/h"}) == Path("/h/.codex/sessions")
    assert codex_sessions_dir({"HOME": "/h", "CODEX_HOME": "/c"}) == Path("/c/sessions")
    assert codex_sessions_dir({}) is None


def test_a_version_1_store_migrates_and_keeps_its_rows(tmp_path: Path) -> None:
    path = str(tmp_path / "coven.sqlite3")
    conn = sqlite3.connect(path)
    conn.executescript(_MIGRATIONS[1] + "PRAGMA user_version = 1;")
    conn.execute(
        "INSERT INTO sessions (id, project_root, harness, title, status, created_at, updated_at)"
        " VALUES ('s1', '/p', 'codex', 't', 'completed', 'a', 'a')"
    )
    conn.commit()
    conn.close()
    writer, reader = open_store(path)
    try:
        row = reader.get_session("s1")
        assert row is not None and row.title == "t"
        assert row.git_root is None and row.worktree_path is None and row.continues is None
        assert row.review_state == "unreviewed"
    finally:
        writer.stop(timeout=5.0)
        reader.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    check.close()
