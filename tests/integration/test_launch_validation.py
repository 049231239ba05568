"""Launch: the 201 record, and every bad input refused with no row written and no process."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import error_of, harness_pids, session_count, shared_daemon
from tests.support.daemon import Daemon, wait_for_output
from tests.support.hermetic import controlled_path

RECORD_KEYS = [
    "id",
    "project_root",
    "harness",
    "title",
    "status",
    "exit_code",
    "archived_at",
    "created_at",
    "updated_at",
    "conversation_id",
    "familiar_id",
    "execution_binding",
    "labels",
    "visibility",
    "external",
    "transcript_path",
]
# Additive fields of ours, after the reference's 16 (advertised in health): where the
# session started in git and its lane, null outside a repository.
OUR_KEYS = ["git_root", "base_commit", "base_branch", "worktree_path", "branch", "continues"]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: Any) -> Iterator[Daemon]:
    with shared_daemon(tmp_path_factory, "launch") as d:
        yield d


@pytest.fixture(scope="module")
def layout(daemon: Daemon, tmp_path_factory: Any) -> dict[str, Path]:
    """A project with a sub dir, a file, a symlink out, and a sibling with a shared prefix."""
    project = Path(daemon.env["COVEN_TEST_PROJECT"])
    base = tmp_path_factory.mktemp("layout")
    (project / "sub").mkdir(exist_ok=True)
    (project / "afile").write_text("x")
    outside = base / "outside"
    outside.mkdir()
    link = project / "escape"
    if not link.is_symlink():
        link.symlink_to(outside)
    sibling = project.parent / (project.name + "2")
    sibling.mkdir(exist_ok=True)
    plain_file = base / "plain.txt"
    plain_file.write_text("x")
    return {"project": project, "outside": outside, "sibling": sibling, "file": plain_file}


def test_launch_returns_201_record_with_16_keys_in_order(daemon: Daemon) -> None:
    project = daemon.env["COVEN_TEST_PROJECT"]
    reply = daemon.call(
        "POST", "/api/v1/sessions", {"projectRoot": project, "harness": "codex", "prompt": " hi "}
    )
    assert reply.status == 201, reply.body
    record = reply.json()
    assert list(record)[:16] == RECORD_KEYS
    assert set(list(record)[16:]) >= set(OUR_KEYS)
    assert all(record[key] is None for key in OUR_KEYS)  # the project is no repository
    assert record["status"] == "running" and record["exit_code"] is None
    assert uuid.UUID(record["id"]).version == 4 and record["id"] == record["id"].lower()
    assert record["project_root"] == str(Path(project).resolve())
    assert record["title"] == "hi"
    assert record["created_at"] == record["updated_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", record["created_at"])
    assert (record["external"], record["visibility"], record["labels"]) == (False, "private", [])
    daemon.wait_status(record["id"], {"running", "completed"})
    daemon.call("POST", f"/api/v1/sessions/{record['id']}/kill", {})


def _base(daemon: Daemon) -> dict[str, Any]:
    return {"projectRoot": daemon.env["COVEN_TEST_PROJECT"], "harness": "codex", "prompt": "hi"}


def _assert_refused(daemon: Daemon, body: Any, needle: str | None = None) -> dict[str, Any]:
    rows_before = session_count(daemon)
    pids_before = harness_pids(daemon.home)
    reply = daemon.call("POST", "/api/v1/sessions", body)
    assert reply.status == 400, reply.body
    error = error_of(reply)
    assert error["code"] == "invalid_request"
    if needle is not None:
        assert needle in error["message"], error
    assert session_count(daemon) == rows_before
    assert harness_pids(daemon.home) <= pids_before
    return error


BAD_ROOTS: list[tuple[str, Any]] = [
    ("missing", None),
    ("blank", "   "),
    ("relative", "project"),
    ("tilde", "~/project"),
    ("number", 42),
    ("list", ["/tmp"]),
    ("nonexistent", "/nonexistent/coven/project"),
    ("filesystem-root", "/"),
]


@pytest.mark.parametrize(("case", "root"), BAD_ROOTS, ids=[c for c, _ in BAD_ROOTS])
def test_bad_project_root_is_refused_without_side_effects(
    daemon: Daemon, case: str, root: Any
) -> None:
    body = _base(daemon)
    if root is None:
        del body["projectRoot"]
    else:
        body["projectRoot"] = root
    _assert_refused(daemon, body)


def test_project_root_that_is_a_file_is_refused(daemon: Daemon, layout: dict[str, Path]) -> None:
    _assert_refused(daemon, {**_base(daemon), "projectRoot": str(layout["file"])})


def test_project_root_inside_coven_home_is_refused(daemon: Daemon) -> None:
    inside = daemon.home / "work"
    inside.mkdir(exist_ok=True)
    _assert_refused(daemon, {**_base(daemon), "projectRoot": str(inside)})
    _assert_refused(daemon, {**_base(daemon), "projectRoot": str(daemon.home)})


@pytest.mark.parametrize(
    "cwd_of",
    [
        lambda lay: "../",
        lambda lay: str(lay["project"] / "sub" / ".." / ".."),
        lambda lay: "escape",
        lambda lay: str(lay["project"] / "escape"),
        lambda lay: str(lay["sibling"]),
        lambda lay: "afile",
        lambda lay: "does-not-exist",
        lambda lay: 7,
    ],
    ids=[
        "dotdot",
        "abs-dotdot",
        "symlink-rel",
        "symlink-abs",
        "sibling-prefix",
        "file",
        "missing",
        "number",
    ],
)
def test_bad_cwd_is_refused_without_side_effects(
    daemon: Daemon, layout: dict[str, Path], cwd_of: Any
) -> None:
    _assert_refused(daemon, {**_base(daemon), "cwd": cwd_of(layout)})


def test_unknown_harness_is_refused(daemon: Daemon) -> None:
    error = _assert_refused(daemon, {**_base(daemon), "harness": "warlock"})
    assert "warlock" in error["message"]


@pytest.mark.parametrize("harness", [None, "", "  ", 3])
def test_missing_or_blank_harness_is_refused(daemon: Daemon, harness: Any) -> None:
    body = _base(daemon)
    if harness is None:
        del body["harness"]
    else:
        body["harness"] = harness
    _assert_refused(daemon, body)


@pytest.mark.parametrize("mode", ["bogus", "INTERACTIVE", 5])
def test_bad_launch_mode_is_refused(daemon: Daemon, mode: Any) -> None:
    _assert_refused(daemon, {**_base(daemon), "launchMode": mode})


@pytest.mark.parametrize(
    "body",
    [[1, 2], "string", 42, b"{not json", b'{"projectRoot": "/a", "projectRoot": "/b"}'],
    ids=["array", "string", "number", "malformed", "duplicate-keys"],
)
def test_non_object_malformed_or_duplicate_key_bodies_are_refused(
    daemon: Daemon, body: Any
) -> None:
    _assert_refused(daemon, body)


@pytest.mark.parametrize("member", ["executionBinding", "requestAdoption"])
def test_reserved_binding_members_are_refused(daemon: Daemon, member: str) -> None:
    rows_before = session_count(daemon)
    reply = daemon.call("POST", "/api/v1/sessions", {**_base(daemon), member: None})
    assert reply.status == 400
    assert error_of(reply)["details"]["fields"] == ["executionBinding"]
    assert session_count(daemon) == rows_before


@pytest.mark.parametrize("prompt", [12, ["hi"]])
def test_a_non_string_prompt_is_refused(daemon: Daemon, prompt: Any) -> None:
    _assert_refused(daemon, {**_base(daemon), "prompt": prompt}, "prompt")


@pytest.mark.parametrize("prompt", [None, "missing"])
def test_a_missing_prompt_is_refused_for_a_one_shot_launch(daemon: Daemon, prompt: Any) -> None:
    body = {**_base(daemon), "prompt": prompt, "launchMode": "nonInteractive"}
    if prompt == "missing":
        del body["prompt"]
    _assert_refused(daemon, body, "requires string field `prompt`")


@pytest.mark.parametrize("prompt", ["", "   \n"])
def test_blank_prompt_is_refused_for_a_one_shot_launch(daemon: Daemon, prompt: str) -> None:
    body = {**_base(daemon), "prompt": prompt, "launchMode": "nonInteractive"}
    _assert_refused(daemon, body, "requires string field `prompt`")


def test_blank_interactive_prompt_starts_the_agent_without_one(daemon: Daemon) -> None:
    reply = daemon.call("POST", "/api/v1/sessions", {**_base(daemon), "prompt": "  "})
    assert reply.status == 201, reply.body
    record = reply.json()
    assert record["title"] == "codex"
    try:
        output = wait_for_output(daemon.home / "coven.sock", record["id"], "ready")
        assert "FAKE[codex] argv=[]" in output
    finally:
        daemon.call("POST", f"/api/v1/sessions/{record['id']}/kill")


def test_prompt_over_one_mib_is_refused(daemon: Daemon) -> None:
    _assert_refused(daemon, {**_base(daemon), "prompt": "x" * (1024 * 1024 + 1)}, "prompt")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", 5),
        ("conversationId", 9),
        ("model", ["m"]),
        ("rows", "24"),
        ("cols", 0),
        ("rows", 100000),
    ],
)
def test_wrong_json_types_are_refused(daemon: Daemon, field: str, value: Any) -> None:
    _assert_refused(daemon, {**_base(daemon), field: value})


def test_configured_harness_without_executable_is_refused_with_install_hint(
    tmp_path: Path,
) -> None:
    from tests.support.daemon import running_daemon

    # No fake harnesses on PATH, and the controlled PATH never reaches an installed claude.
    with running_daemon(tmp_path, extra_env={"PATH": controlled_path()}) as daemon:
        error = _assert_refused(daemon, {**_base(daemon), "harness": "claude"})
        assert "claude" in error["message"] and "not available" in error["message"]
        assert len(error["message"]) > len("harness `claude` is not available. ")
        assert session_count(daemon) == 0
