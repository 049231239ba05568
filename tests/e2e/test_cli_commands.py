"""Non-TTY paths of the `coven` CLI: plain subprocesses against a real daemon."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import COVEN, Cli, cli, daemon_pids

__all__ = ["cli"]

pytestmark = pytest.mark.timeout(90)


# ------------------------------------------------------------------ run


def test_run_streams_output_and_passes_the_harness_exit_code(cli: Cli) -> None:
    proc = cli.run(
        "run", "codex", "fix", "the", "tests", env={"FAKE_MODE": "exit", "FAKE_EXIT": "3"}
    )
    assert proc.returncode == 3
    assert "FAKE[codex] argv=" in proc.stdout and '"fix the tests"' in proc.stdout
    assert f"cwd={cli.project}" in proc.stdout
    assert "size=24 80" in proc.stdout  # no terminal, no LINES/COLUMNS
    assert proc.stderr.startswith("Coven daemon: started (pid ")
    assert "Coven session created\n  id:      " in proc.stderr
    assert "  title:   fix the tests\n" in proc.stderr
    assert proc.stderr.rstrip().endswith("[coven session failed (exit code 3)]")
    assert "Coven session" not in proc.stdout  # the header stays off the data stream


def test_run_completed_exits_0_and_honours_lines_columns_cwd_title(cli: Cli) -> None:
    (cli.project / "sub").mkdir()
    proc = cli.run(
        "run",
        "codex",
        "hi",
        "--cwd",
        "sub",
        "--title",
        "My Title",
        env={"FAKE_MODE": "exit", "LINES": "50", "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "size=50 200" in proc.stdout
    assert f"cwd={cli.project / 'sub'}" in proc.stdout
    assert "[coven session completed (exit code 0)]" in proc.stderr
    records = cli.json("sessions", "--json")["sessions"]
    assert [(r["title"], r["status"]) for r in records] == [("My Title", "completed")]


def test_run_passes_model_permission_and_labels(cli: Cli) -> None:
    proc = cli.run(
        "run",
        "codex",
        "go",
        "--model",
        "openai/gpt-5",
        "--permission",
        "read-only",
        "--labels",
        "a, b,",
        env={"FAKE_MODE": "exit"},
    )
    assert proc.returncode == 0, proc.stderr
    argv_line = next(line for line in proc.stdout.splitlines() if line.startswith("FAKE[codex]"))
    argv = json.loads(argv_line.split("argv=", 1)[1])
    assert "gpt-5" in argv and "openai/gpt-5" not in argv
    assert argv[-1] == "go"
    records = cli.json("sessions", "--json")["sessions"]
    assert records[0]["labels"] == ["a", "b"]


def test_run_detach_starts_the_harness_and_returns_the_id(cli: Cli) -> None:
    proc = cli.run("run", "codex", "--detach", "background", "work", ok=True)
    session_id = proc.stdout.strip()
    assert len(session_id) == 36
    assert f"coven attach {session_id[:8]}" in proc.stderr
    cli.wait_output(session_id, "ready")
    assert cli.session(session_id)["status"] == "running"


def test_run_errors_before_launch_come_from_the_daemon(cli: Cli) -> None:
    proc = cli.run("run", "gemini", "hello")
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1].startswith("Error: unsupported harness `gemini`")
    proc = cli.run("run", "codex", "hello", "--cwd", "/")
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == (
        f"Error: `--cwd /` is outside the project root {cli.project}"
    )
    assert cli.json("sessions", "--json") == {"sessions": []}


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (("--cwd", "packages/nope"), "no such directory: packages/nope"),
        (("--cwd", "../.."), "`--cwd ../..` is outside the project root {project}"),
        (("--cwd", "notes.txt"), "`--cwd notes.txt` is not a directory"),
        (("--add-dir", "extra/nope"), "no such directory: extra/nope (--add-dir)"),
    ],
)
def test_path_errors_name_the_option_and_path_as_typed(
    cli: Cli, args: tuple[str, ...], sentence: str
) -> None:
    (cli.project / "notes.txt").write_text("x")
    proc = cli.run("run", "codex", "--detach", *args, "hello")
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[-1] == "Error: " + sentence.format(project=cli.project)
    assert cli.json("sessions", "--json") == {"sessions": []}


def test_run_without_a_prompt_starts_the_agents_own_ui(cli: Cli) -> None:
    proc = cli.run("run", "codex", "--detach", "  ", ok=True)
    session_id = proc.stdout.strip()
    assert "(interactive)" in proc.stderr
    assert "FAKE[codex] argv=[]" in cli.wait_output(session_id, "ready")
    assert cli.session(session_id)["title"] == "codex"


def test_print_runs_one_shot_and_needs_a_prompt(cli: Cli) -> None:
    proc = cli.run("run", "codex", "--print")
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: --print needs a prompt")
    assert daemon_pids(cli.home) == []  # refused before anything was started
    proc = cli.run("run", "codex", "--non-interactive", "--detach", "fix", ok=True)
    assert "(one-shot (--print))" in proc.stderr
    output = cli.wait_output(proc.stdout.strip(), "ready")
    assert '"exec", "--skip-git-repo-check"' in output
    proc = cli.run("run", "codex", "--print", "--", "--fake-mode=exit")
    assert proc.returncode == 0, proc.stderr
    assert "  mode:    one-shot (--print); stdin is not a terminal" in proc.stderr


def test_detach_runs_the_interactive_agent(cli: Cli) -> None:
    proc = cli.run("run", "codex", "--detach", "fix", ok=True)
    assert "(interactive)" in proc.stderr
    output = cli.wait_output(proc.stdout.strip(), "ready")
    assert 'FAKE[codex] argv=["--", "fix"]' in output


# ------------------------------------------------------------------ usage errors


@pytest.mark.parametrize(
    "args",
    [
        ("run",),
        ("run", "codex", "x", "--permission", "bogus"),
        ("sessions", "--json", "--plain"),
        ("sessions", "events", "abc", "--limit", "0"),
        ("frobnicate",),
        ("daemon", "explode"),
        ("daemon", "start", "--bogus"),
        ("adapter", "install", "nope"),
        ("completions", "tcsh"),
        ("completion", "tcsh"),
        ("attach", "x", "--detach-keys", "ctrl-["),
        ("run", "codex", "--detach-keys", "alt-x", "hi"),
        ("sacrifice",),
    ],
)
def test_usage_errors_exit_2(cli: Cli, args: tuple[str, ...]) -> None:
    proc = cli.run(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Usage:" in proc.stderr or "Error:" in proc.stderr
    # A refused command line starts nothing (a cold `run` starts the daemon early only
    # for command lines click accepts).
    assert daemon_pids(cli.home) == []
    assert not (cli.home / "coven.sock").exists()


def test_a_cold_run_hands_the_lifecycle_lock_over_while_it_stays_attached(cli: Cli) -> None:
    """The daemon a cold `run` starts before the CLI loads holds `daemon.lock` only until
    it answers: a `daemon stop` from another terminal is not kept waiting by the run."""
    run = subprocess.Popen(
        [*COVEN, "run", "codex", "hello"],
        cwd=cli.project,
        env=cli.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert run.stdout is not None
        seen = b""
        while b"ready" not in seen:
            line = run.stdout.readline()
            assert line, seen
            seen += line
        assert len(daemon_pids(cli.home)) == 1
        stop = cli.run("daemon", "stop", "--yes", timeout=30)
        assert stop.returncode == 0, stop.stderr
        assert "lifecycle lock" not in stop.stderr
        _, err = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert err.decode().count("Coven daemon: started") == 1
    assert daemon_pids(cli.home) == []


def test_commands_without_a_daemon_say_so(cli: Cli) -> None:
    for args in (("sessions", "--plain"), ("attach", "abc"), ("kill", "abc")):
        proc = cli.run(*args)
        assert proc.returncode == 1
        assert proc.stderr.startswith("Error: the Coven daemon is not running"), proc.stderr
        assert "coven daemon start" in proc.stderr


# ------------------------------------------------------------------ sessions


def test_sessions_empty_store_messages(cli: Cli) -> None:
    cli.run("daemon", "start", ok=True)
    proc = cli.run("sessions", "--plain", ok=True)
    assert proc.stdout == "No active Coven sessions yet.\n"
    assert "coven doctor" in proc.stderr
    proc = cli.run("sessions", "--all", ok=True)
    assert proc.stdout == "No Coven sessions yet — active or archived.\n"
    assert cli.json("sessions", "--json") == {"sessions": []}


def test_sessions_plain_table_and_rituals_hint(cli: Cli) -> None:
    first = cli.detached("one")
    second = cli.detached("two")
    proc = cli.run("sessions", "--plain", ok=True)
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["SESSION", "STATUS", "HARNESS", "STATE", "TITLE"]
    assert lines[2].startswith(f"{second} running    codex    active   two")
    assert lines[3].startswith(f"{first} running")
    assert "Rituals:" in proc.stderr and "Rituals" not in proc.stdout
    records = cli.json("sessions", "--json")["sessions"]
    assert [r["id"] for r in records] == [second, first]
    assert list(records[0])[:3] == ["id", "project_root", "harness"]


def test_sessions_show_events_log(cli: Cli) -> None:
    proc = cli.run("run", "codex", "hello", env={"FAKE_MODE": "exit"})
    session_id = proc.stderr.split("id:      ", 1)[1].split()[0]
    show = cli.run("sessions", "show", session_id[:6], ok=True).stdout
    assert show.startswith(f"Session {session_id}\n") and "status:     completed" in show
    record = cli.json("sessions", "show", session_id, "--json")
    assert list(record) == sorted(record) and record["exit_code"] == 0
    page = cli.json("sessions", "events", session_id, "--json")
    assert page["events"][-1]["kind"] == "exit" and page["hasMore"] is False
    table = cli.run("sessions", "events", session_id, "--limit", "1", ok=True).stdout
    assert table.splitlines()[0].split() == ["SEQ", "CREATED", "KIND", "PAYLOAD"]
    assert "1 event(s) · more: --after-seq " in table
    log = cli.run("sessions", "log", session_id, ok=True)
    assert log.stdout.startswith("FAKE[codex] argv=") and "\nready\n" in log.stdout
    assert "completed, exit code 0]" in log.stderr
    assert "[info] exit: " in cli.run("sessions", "log", session_id, "--events", ok=True).stdout
    assert json.loads(cli.run("sessions", "log", session_id, "--json", ok=True).stdout)[0]["level"]


def test_sessions_events_follow_streams_until_exit(cli: Cli) -> None:
    session_id = cli.detached("--fake-mode=exit")
    cli.wait_status(session_id, {"completed"})
    proc = cli.run("sessions", "events", session_id, "--follow", "--json", ok=True)
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[-1]["kind"] == "exit"
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs))


def test_unknown_and_ambiguous_session_refs(cli: Cli) -> None:
    cli.run("daemon", "start", ok=True)
    for sid in ("abc-1", "abc-2"):
        reply = cli.api(
            "POST",
            "/api/v1/sessions/external",
            {"id": sid, "projectRoot": str(cli.project), "harness": "codex"},
        )
        assert reply.status == 201, reply.body
    proc = cli.run("attach", "abc")
    assert proc.returncode == 1
    assert proc.stderr == "Error: session id prefix `abc` is ambiguous; it matches: abc-1, abc-2\n"
    proc = cli.run("sessions", "show", "zzz")
    assert proc.returncode == 1
    assert proc.stderr == (
        "Error: session `zzz` not found; run `coven sessions --all` to list session ids\n"
    )
    assert cli.json("sessions", "show", "abc-1", "--json")["id"] == "abc-1"  # exact wins


# ------------------------------------------------------------------ rituals


def test_kill_a_running_session_then_refuse_a_second_kill(cli: Cli) -> None:
    session_id = cli.detached("--fake-mode=sleep")
    proc = cli.run("kill", session_id[:8], ok=True)
    assert proc.stdout == f"killed session {session_id}\n"
    assert cli.wait_status(session_id, {"killed"})["status"] == "killed"
    proc = cli.run("kill", session_id)
    assert proc.returncode == 1
    assert "is not running (status: killed)" in proc.stderr


def test_archive_and_summon(cli: Cli) -> None:
    session_id = cli.detached("--fake-mode=exit")
    cli.wait_status(session_id, {"completed"})
    assert cli.run("archive", session_id[:8], ok=True).stdout == "archived session\n"
    assert cli.run("archive", session_id, ok=True).stdout == (
        "session was already archived; nothing to do\n"
    )
    assert cli.run("sessions", "--plain", ok=True).stdout == "No active Coven sessions yet.\n"
    assert " archived " in cli.run("sessions", "--all", "--plain", ok=True).stdout
    proc = cli.run("summon", session_id[:8], ok=True)
    assert "summoned session from the archive" in proc.stderr
    assert "FAKE[codex]" in proc.stdout  # then the attach flow replays the output
    assert "[coven session completed (exit code 0)]" in proc.stderr
    assert cli.session(session_id)["archived_at"] is None


def test_archive_refuses_a_live_session(cli: Cli) -> None:
    session_id = cli.detached("--fake-mode=sleep")
    proc = cli.run("archive", session_id)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"Error: session `{session_id}` is still running")


def test_sacrifice_refusals_then_success(cli: Cli) -> None:
    live = cli.detached("--fake-mode=sleep")
    proc = cli.run("sacrifice", live, "--yes")
    assert proc.returncode == 1 and "still running" in proc.stderr
    done = cli.detached("--fake-mode=exit")
    cli.wait_status(done, {"completed"})
    proc = cli.run("sacrifice", done)
    assert proc.returncode == 1 and "rerun with --yes" in proc.stderr
    proc = cli.run("sacrifice", done[:8], "--yes")
    assert proc.returncode == 1
    assert f"`coven sacrifice {done} --yes`" in proc.stderr  # tells the full id
    assert cli.session(done)["id"] == done  # nothing deleted yet
    proc = cli.run("sacrifice", done, "--yes", ok=True)
    assert proc.stdout == "sacrificed session; its event log was permanently deleted\n"
    assert cli.run("sessions", "show", done).returncode == 1


# ------------------------------------------------------------------ attach (non-TTY)


def test_attach_finished_session_replays_and_exits_0(cli: Cli) -> None:
    session_id = cli.detached("--fake-mode=exit")
    cli.wait_status(session_id, {"completed"})
    proc = cli.run("attach", session_id[:8], ok=True)
    assert "FAKE[codex]" in proc.stdout and "ready" in proc.stdout
    assert proc.stderr.startswith(f"attached to session {session_id} (codex, ")
    assert "session is not running; replaying" in proc.stderr


# ------------------------------------------------------------------ adapters, completions, version


def test_adapter_install_demo_then_already_installed(cli: Cli) -> None:
    proc = cli.run("adapter", "install", "demo", ok=True)
    target = cli.home / "adapters" / "demo.json"
    assert proc.stdout == f"installed adapter `demo` at {target}\n"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    proc = cli.run("adapter", "install", "demo", ok=True)
    assert "already installed" in proc.stdout
    target.write_text("{}")
    proc = cli.run("adapter", "install", "demo")
    assert proc.returncode == 1 and "different content" in proc.stderr
    assert target.read_text() == "{}"


def test_adapter_list(cli: Cli) -> None:
    rows = cli.json("adapter", "list", "--json")["adapters"]
    codex = next(r for r in rows if r["id"] == "codex")
    assert codex["available"] is True and codex["executablePath"].endswith("tests/fakes/bin/codex")
    table = cli.run("adapter", "list", ok=True).stdout
    assert table.splitlines()[0].split() == ["HARNESS", "SOURCE", "AVAILABLE", "EXECUTABLE"]


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(cli: Cli, shell: str) -> None:
    script = cli.run("completion", shell, ok=True).stdout
    assert "_COVEN_COMPLETE" in script
    assert cli.run("completions", shell, ok=True).stdout == script  # the former name


def complete(cli: Cli, words: str) -> list[str]:
    """What bash's completion function gets back for ``words`` (the cursor at the end)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {"_COVEN_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    proc = cli.run(env=env)
    assert proc.returncode == 0, proc.stderr
    return [line.split(",", 1)[1] for line in proc.stdout.splitlines() if line]


def test_completion_of_session_and_harness_ids(cli: Cli) -> None:
    assert complete(cli, "coven attach ") == []  # no daemon: nothing, and none is started
    assert cli.daemon_pid() is None
    session_id = cli.detached("hello")
    assert complete(cli, f"coven attach {session_id[:3]}") == [session_id]
    assert complete(cli, "coven kill ") == [session_id]
    assert complete(cli, "coven run co") == ["codex"]
    assert complete(cli, "coven run ") == ["codex", "claude"]


def test_version(cli: Cli) -> None:
    version = cli.run("--version", ok=True).stdout
    assert version.startswith("coven v")
    assert cli.run("version", ok=True).stdout == version


def _commands(group: object, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    import click

    assert isinstance(group, click.Command)
    found: list[tuple[tuple[str, ...], object]] = [(path, group)]
    if isinstance(group, click.Group):
        for name, command in group.commands.items():
            if not command.hidden:
                found += _commands(command, (*path, name))
    return found


def test_every_command_and_option_has_help_without_backticks_or_cuts() -> None:
    import click

    from coven.cli.main import cli as root

    for path, command in _commands(root):
        assert isinstance(command, click.Command)
        name = f"coven {' '.join(path)}"
        assert command.help, f"{name} has no help"
        assert "`" not in command.help, f"{name}: {command.help!r}"
        # Rendered as a user sees it on an 80-column terminal: nothing cut off with "...".
        ctx = click.Context(command, info_name=name, terminal_width=80, max_content_width=80)
        text = command.get_help(ctx)
        for usage in ("[ARGS]...", "[PROMPT]..."):
            text = text.replace(usage, "")
        assert "..." not in text, text
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert param.help, f"coven {' '.join(path)} {param.opts} has no help"
                assert "`" not in param.help, f"coven {' '.join(path)} {param.opts}"


def test_ls_ps_and_the_sessions_table(cli: Cli) -> None:
    (cli.project / "sub").mkdir()
    first = cli.detached("one")
    proc = cli.run("run", "codex", "--detach", "--labels", "red,blue", "two", ok=True)
    second = proc.stdout.strip()
    for command in ("ls", "ps", "sessions"):
        out = cli.run(command, ok=True)
        header, *rows = out.stdout.splitlines()
        assert header.split() == ["ID", "STATUS", "HARNESS", "PROJECT", "AGE", "LABELS", "TITLE"]
        assert rows[0].split()[:2] == [second[:8], "running"]
        assert "red,blue" in rows[0] and rows[0].rstrip().endswith("two")
        assert rows[1].startswith(first[:8])
        assert "coven attach <id>" in out.stderr and "coven kill <id>" in out.stderr
    assert cli.run("ls", "--plain", ok=True).stdout.splitlines()[2].startswith(second)


def test_sessions_project_filter(cli: Cli, tmp_path: Path) -> None:
    first = cli.detached("one")
    other = tmp_path / "other"
    other.mkdir()
    proc = cli.run("run", "codex", "--detach", "elsewhere", env={}, ok=True)
    assert proc.stdout.strip() != first
    moved = subprocess.run(
        [*COVEN, "run", "codex", "--detach", "there"],
        cwd=other,
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert moved.returncode == 0, moved.stderr
    there = moved.stdout.strip()
    mine = cli.json("sessions", "--json", "--project", ".")["sessions"]
    assert there not in [r["id"] for r in mine] and first in [r["id"] for r in mine]
    theirs = cli.json("ls", "--json", "--project", str(other))["sessions"]
    assert [r["id"] for r in theirs] == [there]
    proc = cli.run("ls", "--project", "nope")
    assert proc.returncode == 2 and "no such directory: nope" in proc.stderr


def test_doctor_is_wired_in(cli: Cli) -> None:
    proc = cli.run("doctor", "--json")
    assert proc.returncode in (0, 1)
    assert isinstance(json.loads(proc.stdout), dict)


def test_cli_never_imports_the_daemon_side() -> None:
    import ast
    from pathlib import Path

    import coven.cli

    forbidden = ("coven.runtime", "coven.store", "coven.api")
    for path in Path(coven.cli.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"


def test_screen_prints_the_live_screen_then_the_final_one(cli: Cli) -> None:
    session_id = cli.detached("--fake-mode=screen")
    cli.wait_output(session_id, "status: ready")
    lines = cli.run("screen", session_id[:8], ok=True).stdout.split("\n")
    assert lines[0] == "FAKE SCREEN"
    assert lines[2] == "status: ready"
    assert "\x1b" not in "\n".join(lines)
    coloured = cli.run("screen", session_id, "--ansi", ok=True).stdout
    assert "\x1b[" in coloured and "FAKE SCREEN" in coloured
    cli.run("kill", session_id, ok=True)
    cli.wait_status(session_id, {"killed"})
    assert cli.run("screen", session_id, ok=True).stdout.split("\n")[:3] == lines[:3]
    proc = cli.run("screen", session_id, "--history", "-1")
    assert proc.returncode == 2 and "--history" in proc.stderr


def test_sessions_log_reads_an_agent_that_draws_its_screen(cli: Cli) -> None:
    proc = cli.run("run", "codex", "hi", env={"FAKE_MODE": "drawn", "FAKE_DRAWN_LINES": "3"})
    session_id = proc.stderr.split("id:      ", 1)[1].split()[0]
    log = cli.run("sessions", "log", session_id[:8], ok=True)
    lines = log.stdout.split("\n")
    assert lines[0] == "Welcome to Fake Code" and lines[3] == "  boxed"
    assert lines[5:8] == ["line 0", "line 1", "line 2"]
    assert "\x1b" not in log.stdout
    assert f"[coven session {session_id[:8]} completed, exit code 0]" in log.stderr
    events = cli.run("sessions", "log", session_id, "--events", ok=True).stdout
    assert "[info] exit: " in events and "[info] FAKE[codex]" in events  # one line per event
