"""The parts of attention that need no daemon: hook wiring, hook payloads, the state
machine's rules, notify.toml, notifications and the session list's marker."""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest

from coven.cli.doctor import check_notify
from coven.cli.hook_cmd import claude_report, codex_report, codex_user_notify
from coven.cli.render import sessions_overview, sessions_table, waiting_first
from coven.harness.hooks import claude_settings, codex_notify, hook_args, hook_command
from coven.redaction import Redactor
from coven.runtime.attention import AttentionChange, SessionAttention, idle_seconds_from
from coven.runtime.notify import Notice, Notifier
from coven.schema import AttentionSource, AttentionState, EventKind, SessionRecord
from coven.schema.notify import NotifyConfigError, parse_notify_config
from tests.support.recorders import recording_program

SID = "0f1e2d3c-0000-4000-8000-000000000001"


# -- wiring -------------------------------------------------------------------------------------
def test_claude_gets_notification_and_stop_hooks_running_coven_hook() -> None:
    args = hook_args("claude", SID, python="/opt/py thon/bin/python3")
    assert args[0] == "--settings"
    hooks = json.loads(args[1])["hooks"]
    assert set(hooks) == {"Notification", "Stop"}
    command = hooks["Stop"][0]["hooks"][0]["command"]
    assert shlex.split(command) == [
        "/opt/py thon/bin/python3", "-m", "coven.cli.hook_cmd", "claude", "--session", SID,
    ]  # fmt: skip


def test_codex_notify_override_is_a_toml_array_of_the_hook_argv() -> None:
    command = hook_command("codex", SID, python="/usr/bin/python3")
    assert hook_args("codex", SID, python="/usr/bin/python3") == ["-c", codex_notify(command)]
    assert tomllib.loads(codex_notify(command))["notify"] == command
    odd = ['/tmp/ü "q"/python', "-m", "x"]
    assert tomllib.loads(codex_notify(odd))["notify"] == odd


def test_other_harnesses_get_no_hooks() -> None:
    assert hook_args("my-agent", SID) == []
    assert json.loads(claude_settings(["x"]))["hooks"]["Notification"][0]["hooks"][0]["timeout"]


# -- hook payloads ------------------------------------------------------------------------------
def test_claude_permission_notification_is_awaiting_input_with_its_message() -> None:
    report = claude_report(
        {
            "hook_event_name": "Notification",
            "message": "Claude needs your permission to use Bash",
            "notification_type": "permission_prompt",
        }
    )
    assert report == {
        "state": AttentionState.AWAITING_INPUT,
        "reason": "Claude needs your permission to use Bash",
        "hook": "claude:Notification",
    }


def test_claude_idle_prompt_and_stop_are_idle_other_events_say_nothing() -> None:
    idle = claude_report({"hook_event_name": "Notification", "notification_type": "idle_prompt"})
    assert idle is not None and idle["state"] is AttentionState.IDLE
    stop = claude_report({"hook_event_name": "Stop", "stop_hook_active": False})
    assert stop is not None and stop["state"] is AttentionState.IDLE
    assert claude_report({"hook_event_name": "SessionStart"}) is None


def test_a_long_claude_message_is_cut_for_the_reason_and_kept_as_the_prompt() -> None:
    report = claude_report({"hook_event_name": "Notification", "message": "word " * 200})
    assert report is not None
    assert len(report["reason"]) == 300 and report["reason"].endswith("…")
    assert report["prompt"].startswith("word word")


def test_codex_turn_complete_is_idle_with_the_last_message_as_prompt() -> None:
    report = codex_report({"type": "agent-turn-complete", "last-assistant-message": "Done?"})
    assert report is not None
    assert (report["state"], report["prompt"]) == (AttentionState.IDLE, "Done?")
    assert codex_report({"type": "something-else"}) is None


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ('notify = ["/usr/bin/notify-me", "--loud"]\n', ["/usr/bin/notify-me", "--loud"]),
        ('model = "o3"\n', None),  # no notify of their own
        ("notify = []\n", None),
        ('notify = "/usr/bin/notify-me"\n', None),  # Codex wants an array
        ('notify = ["/usr/bin/notify-me", 3]\n', None),
        ('notify = [""]\n', None),
        ('notify = ["/py", "-m", "coven.cli.hook_cmd", "codex", "--session", "x"]\n', None),
        ("notify = [\n", None),  # not TOML
        (None, None),  # no config.toml at all
    ],
)
def test_the_users_codex_notify_is_found_in_their_config(
    tmp_path: Path, config: str | None, expected: list[str] | None
) -> None:
    codex_home = tmp_path / "codex-home"
    codex_home.mkdir()
    if config is not None:
        (codex_home / "config.toml").write_text(config)
    assert codex_user_notify({"CODEX_HOME": str(codex_home), "HOME": "/nowhere"}) == expected


def test_without_codex_home_the_config_is_under_home(tmp_path: Path) -> None:
    (tmp_path / ".codex").mkdir()
    (tmp_path / ".codex" / "config.toml").write_text('notify = ["/bin/true"]\n')
    assert codex_user_notify({"HOME": str(tmp_path)}) == ["/bin/true"]
    assert codex_user_notify({"HOME": str(tmp_path), "CODEX_HOME": str(tmp_path / "x")}) is None


# -- the state machine ---------------------------------------------------------------------------
class Recorded:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.changes: list[AttentionChange] = []

    def record(self, _sid: str, kind: EventKind, payload: dict[str, Any], _status: Any) -> None:
        assert kind is EventKind.ATTENTION
        self.events.append(payload)


def machine(loop: asyncio.AbstractEventLoop, seen: Recorded) -> SessionAttention:
    return SessionAttention(
        loop,
        SID,
        "fake",
        "title",
        record=seen.record,
        redactor=Redactor(),
        screen=lambda: None,
        on_change=seen.changes.append,
        idle_seconds=1.0,
    )


async def test_quiet_output_goes_idle_and_new_output_works_again() -> None:
    seen = Recorded()
    attention = machine(asyncio.get_running_loop(), seen)
    attention.start()
    attention.output()
    await asyncio.sleep(1.4)
    assert attention.state is AttentionState.IDLE and attention.source is AttentionSource.QUIET
    attention.output()
    assert attention.state is AttentionState.WORKING
    assert [e["state"] for e in seen.events] == ["idle", "working"]
    attention.close()
    assert attention.view is None


async def test_a_hook_question_survives_output_and_quiet_but_not_input() -> None:
    seen = Recorded()
    attention = machine(asyncio.get_running_loop(), seen)
    attention.start()
    attention.report(AttentionState.AWAITING_INPUT, "allow Bash?", None)
    attention.output()
    await asyncio.sleep(1.4)
    assert attention.state is AttentionState.AWAITING_INPUT
    attention.input()
    assert (attention.state, attention.source) == (AttentionState.WORKING, AttentionSource.INPUT)
    assert [c.state for c in seen.changes] == [
        AttentionState.AWAITING_INPUT,
        AttentionState.WORKING,
    ]
    attention.close()


async def test_nothing_is_recorded_once_the_session_ends() -> None:
    seen = Recorded()
    attention = machine(asyncio.get_running_loop(), seen)
    attention.start()
    attention.close()
    attention.report(AttentionState.IDLE, "late", None)
    attention.input()
    await asyncio.sleep(1.2)
    assert seen.events == []


def test_the_idle_delay_comes_from_the_daemon_environment_within_bounds() -> None:
    assert idle_seconds_from({"COVEN_ATTENTION_IDLE_SECONDS": "2.5"}) == 2.5
    assert idle_seconds_from({"COVEN_ATTENTION_IDLE_SECONDS": "0"}) == 5.0
    assert idle_seconds_from({"COVEN_ATTENTION_IDLE_SECONDS": "soon"}) == 5.0
    assert idle_seconds_from({}) == 5.0


# -- notify.toml and notifications ---------------------------------------------------------------
def test_notify_config_takes_one_http_url() -> None:
    assert parse_notify_config(b'url = "https://ntfy.sh/t"\n', "n.toml") == "https://ntfy.sh/t"
    for bad, why in [
        (b"url = ", "not valid TOML"),
        (b'url = "file:///etc/passwd"', "http(s) URL"),
        (b'url = "http://x"\ntoken = "y"', "unknown setting(s) token"),
        (b"\xff", "not valid TOML"),
    ]:
        with pytest.raises(
            NotifyConfigError, match=r"n\.toml: .*" + why.replace("(", r"\(").replace(")", r"\)")
        ):
            parse_notify_config(bad, "n.toml")


def test_doctor_reports_a_bad_notify_file_and_says_nothing_without_one(tmp_path: Path) -> None:
    assert check_notify(tmp_path) is None
    (tmp_path / "notify.toml").write_text("url = 3\n")
    found = check_notify(tmp_path)
    assert found is not None and found.status == "warn" and "`url` must be" in found.message
    (tmp_path / "notify.toml").write_text('url = "http://127.0.0.1:9/x"\n')
    ok = check_notify(tmp_path)
    assert ok is not None and ok.status == "pass"


def test_a_bad_notify_file_is_logged_and_the_desktop_still_notified(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tools = tmp_path / "bin"
    tools.mkdir()
    log = tmp_path / "sent"
    recording_program(tools / "notify-send", log)
    (tmp_path / "notify.toml").write_text("this is not toml\n")
    notifier = Notifier(tmp_path, {"PATH": str(tools)})
    notice = Notice(SID, "fix tests", "claude", AttentionState.AWAITING_INPUT, "allow Bash?")
    with caplog.at_level(logging.ERROR, logger="coven.notify"):
        notifier._deliver(notice)  # the worker's job, run here to see its effects
    assert "notify.toml: not valid TOML" in caplog.text
    assert log.read_text() == (
        "--app-name=Coven\nCoven: fix tests is waiting for you\n"
        f'session {SID} (claude) "fix tests" is awaiting_input: allow Bash?\n\n'
    )
    notifier.close()


# -- the session list ----------------------------------------------------------------------------
def _record(sid: str, attention: str | None, reason: str | None = None) -> SessionRecord:
    return SessionRecord(
        id=sid,
        project_root="/p",
        harness="codex",
        title=f"task {sid}",
        status="running" if attention else "completed",  # type: ignore[arg-type]
        exit_code=None,
        archived_at=None,
        created_at="2026-11-29T10:00:00Z",
        updated_at="2026-11-29T10:00:00Z",
        attention=attention,  # type: ignore[arg-type]
        attention_reason=reason,
    )


def test_waiting_sessions_sort_first_and_show_their_question() -> None:
    records = waiting_first(
        [
            _record("a", "working"),
            _record("b", None),
            _record("c", "awaiting_input", "Apply? (y/n)"),
        ]
    )
    assert [r.id for r in records] == ["c", "a", "b"]
    plain = sessions_table(records).splitlines()
    assert plain[0].split() == ["SESSION", "STATUS", "HARNESS", "STATE", "TITLE"]  # stable
    overview = sessions_overview(records).splitlines()
    assert "waiting" in overview[1] and overview[1].endswith("task c — Apply? (y/n)")
    assert "running (working)" in overview[2]


def test_the_hook_never_fails_the_agent(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from coven.cli.hook_cmd import hook_cmd

    runner = CliRunner()
    env = {"COVEN_HOME": str(tmp_path / "no-daemon")}
    stop = json.dumps({"hook_event_name": "Stop"})
    result = runner.invoke(hook_cmd, ["claude", "--session", SID], input=stop, env=env)
    assert result.exit_code == 0 and "could not report to the daemon" in result.output
    garbage = runner.invoke(hook_cmd, ["codex", "--session", SID, "[1, 2"], env=env)
    assert garbage.exit_code == 0 and "cannot read the codex hook payload" in garbage.output
