"""A cold ``coven run`` hands its launch to the daemon it starts (``coven.daemon.handover``):
the daemon launches before it loads its API, through the same checks, and answers what
``POST /sessions`` would have; anything it does not take goes over the API, once."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from coven.cli import daemon_spawn
from coven.daemon import handover
from tests.support.cli import Cli
from tests.support.daemon import cli_spawned_home, request

pytestmark = pytest.mark.timeout(60)

TOOK = "took the launch handed over"


def _log(home: Path) -> str:
    return (home / "daemon.log").read_text()


def _sessions(cli: Cli) -> list[dict[str, object]]:
    listed: list[dict[str, object]] = cli.json("sessions", "--json")["sessions"]
    return listed


def test_a_cold_run_hands_its_launch_to_the_daemon_it_starts(cli: Cli) -> None:
    proc = cli.run("run", "codex", "--detach", "--", "hello", ok=True)
    session_id = proc.stdout.strip()
    assert "Coven daemon: started" in proc.stderr
    assert _log(cli.home).count(TOOK) == 1
    assert [s["id"] for s in _sessions(cli)] == [session_id]  # launched once, not twice
    assert "argv=" in cli.wait_output(session_id, "ready")
    # A warm run goes over the API as before.
    second = cli.run("run", "codex", "--detach", "--", "again", ok=True).stdout.strip()
    assert second != session_id
    assert _log(cli.home).count(TOOK) == 1
    assert len(_sessions(cli)) == 2


@pytest.mark.parametrize(
    "words",
    [
        ["run", "nosuch-harness", "--detach"],  # unknown harness: refused by the daemon
        ["run", "codex", "--detach", "--cwd", "/"],  # a cwd outside the project root
    ],
)
def test_a_refusal_reads_the_same_whether_the_launch_was_handed_over_or_not(
    cli: Cli, words: list[str]
) -> None:
    cold = cli.run(*words)
    assert cold.returncode != 0
    assert _log(cli.home).count(TOOK) == 1  # it was the daemon's refusal, handed back
    assert cli.api("GET", "/api/v1/health").status == 200  # the daemon serves on
    warm = cli.run(*words)
    started = [line for line in cold.stderr.splitlines() if line.startswith("Coven daemon:")]
    assert len(started) == 1
    assert (cold.returncode, cold.stderr.replace(started[0] + "\n", "")) == (
        warm.returncode,
        warm.stderr,
    )
    assert _sessions(cli) == []  # nothing was recorded for either


def test_continue_needs_the_api_so_its_launch_is_not_handed_over(cli: Cli) -> None:
    proc = cli.run("run", "codex", "--detach", "--continue", "no-such-session")
    assert proc.returncode != 0
    assert "no-such-session" in proc.stderr
    assert TOOK not in _log(cli.home)


# -- the daemon's side, through the CLI's spawn helper ----------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    with cli_spawned_home(tmp_path, monkeypatch) as home:
        yield home


def _body(home: Path, **extra: object) -> bytes:
    project = home.parent / "project"
    doc = {"projectRoot": str(project), "harness": "codex", "prompt": "hi", **extra}
    return json.dumps(doc).encode()


def test_the_answer_is_what_post_sessions_answers(home: Path) -> None:
    spawned = daemon_spawn.spawn(home, launch_soon=True)
    spawned.hand_launch(_body(home))
    line, _stderr = spawned.wait(15.0)
    assert line == "ready"
    assert spawned.answer is not None
    status, body = spawned.answer
    record = json.loads(body)
    assert status == 201
    reply = request(home / "coven.sock", "GET", f"/api/v1/sessions/{record['id']}")
    assert reply.status == 200
    assert reply.json()["id"] == record["id"]
    assert reply.json()["harness"] == "codex"


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "invalid_request"),
        (b'{"projectRoot": "/", "projectRoot": "/tmp"}', 400, "invalid_request"),
        (b"[]", 400, "invalid_request"),
        (b" " * (4 * 1024 * 1024 + 1), 413, "payload_too_large"),
    ],
    ids=["broken", "duplicate-key", "not-an-object", "too-large"],
)
def test_a_bad_body_is_refused_in_the_apis_words_and_the_daemon_serves_on(
    home: Path, raw: bytes, status: int, code: str
) -> None:
    spawned = daemon_spawn.spawn(home, launch_soon=True)
    spawned.hand_launch(raw)
    line, _stderr = spawned.wait(15.0)
    assert line == "ready"
    assert spawned.answer is not None
    assert spawned.answer[0] == status
    assert json.loads(spawned.answer[1])["error"]["code"] == code
    assert request(home / "coven.sock", "GET", "/api/v1/sessions").json() == []


def test_nothing_handed_over_means_no_answer(home: Path) -> None:
    spawned = daemon_spawn.spawn(home, launch_soon=True)
    line, _stderr = spawned.wait(15.0)  # closes the launch pipe unwritten
    assert (line, spawned.answer) == ("ready", None)
    assert TOOK not in _log(home)


def test_a_launch_handed_over_too_late_is_not_taken_and_says_so(home: Path) -> None:
    """The daemon stops waiting after WAIT_SECONDS; a launch written after that is not
    taken (no answer), so the command sends it over the API instead: never twice."""
    began = time.monotonic()
    spawned = daemon_spawn.spawn(home, launch_soon=True)
    while not (home / "daemon.json").exists():  # serving: it gave up on the pipe
        assert time.monotonic() < began + 15.0
        time.sleep(0.02)
    assert time.monotonic() - began >= handover.WAIT_SECONDS  # it did wait for it
    spawned.hand_launch(_body(home))  # EPIPE, swallowed
    line, _stderr = spawned.wait(15.0)
    assert (line, spawned.answer) == ("ready", None)
    assert request(home / "coven.sock", "GET", "/api/v1/sessions").json() == []


def test_a_garbled_answer_is_an_error_not_a_second_launch(home: Path) -> None:
    read_fd, write_fd = os.pipe()
    os.write(write_fd, b"launched twohundred {}\nready\n")
    os.close(write_fd)
    err_read, err_write = os.pipe()
    os.close(err_write)
    with subprocess.Popen(["true"]) as process:
        spawned = daemon_spawn.Spawned(home, process, read_fd, err_read)
        with pytest.raises(daemon_spawn.DaemonControlError, match="unreadably"):
            spawned.wait(5.0)
