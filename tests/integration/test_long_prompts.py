"""Prompts longer than one command-line argument (Linux: 128 KiB) launch, or are refused with 400.

Before: any prompt over ~128 KiB failed with 500 ``launch_failed`` "Argument list
too long", in both modes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import error_of, session_count
from tests.support.daemon import Daemon, running_daemon

ARG_LIMIT = 128 * 1024 - 1  # the longest exec argument, without its NUL


def _prompt(size: int) -> str:
    """Exactly ``size`` UTF-8 bytes of text with a head and tail, so a cut is noticed."""
    head, tail = b"BEGIN-PROMPT ", b" END-PROMPT"
    room = size - len(head) - len(tail)
    body = ("lorem ipsum \u00e9 " * (room // 10 + 1)).encode()[:room]
    text = (head + body.decode("utf-8", "ignore").encode()).ljust(size - len(tail), b".") + tail
    assert len(text) == size
    return text.decode()


def _digest_line(prompt: str) -> str:
    data = prompt.encode()
    return f"stdin bytes={len(data)} sha256={hashlib.sha256(data).hexdigest()}"


def _argv_of(output: str, harness: str) -> list[str]:
    match = re.search(rf"FAKE\[{harness}\] argv=(\[.*?\])\r?\n", output)
    assert match is not None, output[:500]
    argv: list[str] = json.loads(match.group(1))
    return argv


def _launch(daemon: Daemon, body: dict[str, Any]) -> Any:
    full = {"projectRoot": daemon.env["COVEN_TEST_PROJECT"], **body}
    raw = json.dumps(full, ensure_ascii=False).encode()
    return daemon.call("POST", "/api/v1/sessions", raw, timeout=30.0)


def _prompt_files(daemon: Daemon) -> list[str]:
    prompts = daemon.home / "prompts"
    return sorted(os.listdir(prompts)) if prompts.exists() else []


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    tmp = tmp_path_factory.mktemp("long-prompts")
    manifest = tmp / "adapters.json"
    manifest.write_text(
        json.dumps(
            {
                "adapters": [
                    {
                        "id": "argv-only",
                        "label": "Argv only",
                        "executable": "fake-harness",
                        "interactive_prompt_prefix_args": [],
                        "non_interactive_prompt_prefix_args": ["run"],
                        "install_hint": "tests only",
                    },
                    {
                        "id": "piped",
                        "label": "Piped",
                        "executable": "fake-harness",
                        "interactive_prompt_prefix_args": [],
                        "non_interactive_prompt_prefix_args": ["run"],
                        "stdin_prompt_args": ["--from-stdin"],
                        "install_hint": "tests only",
                    },
                ]
            }
        )
    )
    extra = {"FAKE_MODE": "stdin-digest", "COVEN_HARNESS_ADAPTER_MANIFEST": str(manifest)}
    with running_daemon(tmp, extra_env=extra) as handle:
        yield handle


CODEX_STDIN = ["exec", "--skip-git-repo-check", "--color", "never", "--", "-"]


@pytest.mark.parametrize(
    ("harness", "size", "argv"),
    [
        ("codex", 200 * 1024, CODEX_STDIN),
        # Claude starts under the conversation id Coven records (see test_lanes).
        ("claude", 200 * 1024, ["--session-id", "<conversation_id>", "--print"]),
        ("piped", 200 * 1024, ["run", "--from-stdin"]),
        # Up to the request body's own 4 MiB limit (the prompt limit used to be 1 MiB).
        ("codex", 3 * 1024 * 1024 + 512 * 1024, CODEX_STDIN),
    ],
)
def test_a_prompt_too_long_for_argv_reaches_a_non_interactive_harness_on_stdin(
    daemon: Daemon, harness: str, size: int, argv: list[str]
) -> None:
    prompt = _prompt(size)
    reply = _launch(daemon, {"harness": harness, "prompt": prompt, "launchMode": "nonInteractive"})
    assert reply.status == 201, reply.body[:500]
    session_id = reply.json()["id"]
    record = daemon.wait_status(session_id, {"completed", "failed"}, timeout=30.0)
    output = daemon.output(session_id)
    assert _digest_line(prompt) in output, output[-500:]
    expected = [record["conversation_id"] if a == "<conversation_id>" else a for a in argv]
    assert _argv_of(output, "fake-harness" if harness == "piped" else harness) == expected
    assert record["status"] == "completed"
    # The prompt file was unlinked before the harness started: nothing is left behind.
    assert _prompt_files(daemon) == []
    assert (daemon.home / "prompts").stat().st_mode & 0o777 == 0o700


def test_a_prompt_that_fits_argv_still_goes_on_the_command_line(daemon: Daemon) -> None:
    prompt = _prompt(ARG_LIMIT)
    reply = _launch(daemon, {"harness": "codex", "prompt": prompt, "launchMode": "nonInteractive"})
    assert reply.status == 201, reply.body[:500]
    session_id = reply.json()["id"]
    daemon.wait_status(session_id, {"completed", "failed"}, timeout=30.0)
    output = daemon.output(session_id)
    assert _argv_of(output, "codex")[-2:] == ["--", prompt]
    assert "stdin is a terminal" in output


@pytest.mark.parametrize(
    ("harness", "mode", "needle"),
    [
        ("codex", "interactive", "launchMode `nonInteractive`"),
        ("claude", "interactive", "launchMode `nonInteractive`"),
        ("argv-only", "nonInteractive", "stdin_prompt_args"),
        ("argv-only", "interactive", "stdin_prompt_args"),
    ],
)
def test_a_prompt_that_cannot_be_passed_is_a_400_naming_the_limit(
    daemon: Daemon, harness: str, mode: str, needle: str
) -> None:
    before = session_count(daemon)
    prompt = _prompt(ARG_LIMIT + 1)
    reply = _launch(daemon, {"harness": harness, "prompt": prompt, "launchMode": mode})
    assert reply.status == 400, reply.body[:500]
    error = error_of(reply)
    assert error["code"] == "invalid_request"
    assert error["details"]["reason"] == "prompt_too_long_for_command_line"
    assert error["details"]["limitBytes"] == ARG_LIMIT
    assert error["details"]["promptBytes"] == ARG_LIMIT + 1
    assert str(ARG_LIMIT) in error["message"] and needle in error["message"]
    assert session_count(daemon) == before


def test_an_unpaired_surrogate_in_the_prompt_is_a_400(daemon: Daemon) -> None:
    root = json.dumps(daemon.env["COVEN_TEST_PROJECT"])
    body = ('{"projectRoot": ' + root + ', "harness": "codex", "prompt": "hi \\ud800"}').encode()
    reply = daemon.call("POST", "/api/v1/sessions", body)
    assert reply.status == 400, reply.body
    assert "unpaired surrogate" in error_of(reply)["message"]


def test_leftover_prompt_files_are_removed_when_the_daemon_starts(tmp_path: Path) -> None:
    prompts = tmp_path / "home" / "prompts"
    prompts.mkdir(parents=True, mode=0o700)
    (tmp_path / "home").chmod(0o700)
    (prompts / "prompt-0123abcd").write_text("a prompt a crash left behind")
    (prompts / "keep-me").write_text("not ours")
    with running_daemon(tmp_path):
        assert sorted(os.listdir(prompts)) == ["keep-me"]
