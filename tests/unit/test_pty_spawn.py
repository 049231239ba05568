"""coven.pty.spawn and PtyChild against real PTYs and real fake-harness processes."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import pytest

import coven.pty
from coven.errors import InvalidRequest, LaunchFailed
from coven.pty import ExitStatus, SpawnError, proc_start_time, signal_session, spawn
from tests.fakes.ptyio import (
    FAKE_BIN,
    Spawner,
    children_of,
    fake_env,
    read_to_eof,
    read_until,
    wait_exit,
)
from tests.support.hermetic import controlled_path


def header_field(output: bytes, pattern: str) -> re.Match[str]:
    match = re.search(pattern, output.decode(errors="replace"))
    assert match is not None, f"{pattern!r} not in {output!r}"
    return match


def test_harness_is_session_and_group_leader(spawner: Spawner) -> None:
    child = spawner("sleep")
    out = read_until(child, b"ready")
    ids = header_field(out, r"ids pid=(\d+) pgid=(\d+) sid=(\d+)")
    assert int(ids[1]) == child.pid
    assert int(ids[2]) == child.pid
    assert int(ids[3]) == child.pid
    assert child.pgid == child.pid
    assert os.getsid(child.pid) == child.pid
    assert os.getpgid(child.pid) == child.pid


def test_pty_is_the_controlling_terminal(spawner: Spawner) -> None:
    child = spawner("ctty")
    out = read_until(child, b"ready")
    assert b"hello via /dev/tty" in out
    fg = header_field(out, r"tcgetpgrp=(\d+) pgid=(\d+)")
    assert int(fg[1]) == int(fg[2]) == child.pid
    assert b"isatty=1" in out
    assert b"noflsh=1" in out  # ^C never makes the kernel discard pending output
    assert re.search(rb"tty=/dev/pts/\d+", out)


def test_ctrl_c_through_the_line_discipline_delivers_sigint(spawner: Spawner) -> None:
    """The harness's reply to ^C is never flushed away by the line discipline (NOFLSH)."""
    child = spawner("ctty")
    read_until(child, b"ready")
    for _ in range(30):
        assert child.write(b"\x03") == 1
        read_until(child, b"SIGINT received")
    # Still alive and reading after the handled signal.
    child.write(b"after\n")
    read_until(child, b"echo: after")


def test_ctrl_c_kills_a_harness_without_a_handler(spawner: Spawner) -> None:
    child = spawner("sleep")
    read_until(child, b"ready")
    child.write(b"\x03")
    status = wait_exit(child)
    # Python turns SIGINT into KeyboardInterrupt, re-raised as death by SIGINT.
    assert status == ExitStatus(code=None, signal=signal.SIGINT)


def test_argv_cwd_env_and_size_are_honoured(spawner: Spawner, tmp_path: Path) -> None:
    workdir = tmp_path / "work dir"
    workdir.mkdir()
    env = fake_env("exit", FAKE_PRINT_ENV="COVEN_X,HOME,ABSENT", COVEN_X="va lue=1")
    child = spawner("exit", "--flag", "two words", "", cwd=str(workdir), env=env, rows=41, cols=133)
    out = read_to_eof(child)
    argv = json.loads(header_field(out, r"FAKE\[codex\] argv=(.*)\r\n")[1])
    assert argv == ["--flag", "two words", ""]
    assert header_field(out, r"cwd=(.*)\r\n")[1] == str(workdir)
    assert b"env COVEN_X=va lue=1\r\n" in out
    assert b"env HOME=<unset>\r\n" in out  # env is the complete environment, nothing inherited
    assert b"size=41 133\r\n" in out
    assert wait_exit(child) == ExitStatus(code=0, signal=None)


def test_other_harness_names_resolve_on_path(spawner: Spawner) -> None:
    child = spawner("exit", name="claude")
    assert b"FAKE[claude] argv=[]" in read_to_eof(child)


def test_argv0_with_a_slash_is_resolved_against_cwd(spawner: Spawner) -> None:
    child = spawner("exit", name="./bin/codex", cwd=str(FAKE_BIN.parent))
    assert b"FAKE[codex]" in read_to_eof(child)


def test_resize_sends_sigwinch_with_the_new_size(spawner: Spawner) -> None:
    child = spawner("winch", rows=24, cols=80)
    read_until(child, b"ready")
    child.resize(50, 200)
    read_until(child, b"winch: 50 200")
    child.resize(10, 20)
    read_until(child, b"winch: 10 20")


@pytest.mark.parametrize(("rows", "cols"), [(0, 80), (24, 0), (-1, 80), (24, 70000), (True, 80)])
def test_resize_rejects_bad_sizes(spawner: Spawner, rows: int, cols: int) -> None:
    child = spawner("sleep")
    with pytest.raises(InvalidRequest):
        child.resize(rows, cols)


def test_normal_exit_gives_eof_then_code_zero(spawner: Spawner) -> None:
    child = spawner("exit")
    out = read_to_eof(child)
    assert out.endswith(b"ready\r\n")
    assert child.read() == b""  # EOF is sticky
    assert wait_exit(child) == ExitStatus(code=0, signal=None)
    assert child.poll_exit() == ExitStatus(code=0, signal=None)  # cached, not re-reaped


def test_non_zero_exit_code(spawner: Spawner) -> None:
    child = spawner("exit", FAKE_EXIT="7")
    read_to_eof(child)
    assert wait_exit(child) == ExitStatus(code=7, signal=None)


def test_signal_death_is_reported_as_signal(spawner: Spawner) -> None:
    child = spawner("sleep")
    read_until(child, b"ready")
    assert child.poll_exit() is None
    os.kill(child.pid, signal.SIGTERM)
    assert wait_exit(child) == ExitStatus(code=None, signal=signal.SIGTERM)


def test_echo_round_trip_and_exit(spawner: Spawner) -> None:
    child = spawner("echo")
    read_until(child, b"ready")
    child.write(b"hello\n")
    read_until(child, b"echo: hello")
    child.write(b"exit\n")
    read_to_eof(child)
    assert wait_exit(child) == ExitStatus(code=0, signal=None)


def test_raw_mode_harness_receives_every_byte(spawner: Spawner) -> None:
    child = spawner("raw")
    out = read_until(child, b"ready")
    child.write(b"\x03\x1b[A")
    out += read_until(child, b"5b41")
    child.write(b"q")
    out += read_to_eof(child)
    hexes = "".join(re.findall(r"raw: ([0-9a-f]+)", out.decode()))
    # No line discipline in raw mode: ^C and the escape sequence arrive as bytes.
    assert hexes == "031b5b4171"
    assert wait_exit(child) == ExitStatus(code=0, signal=None)


def test_read_returns_none_when_nothing_is_pending(spawner: Spawner) -> None:
    child = spawner("sleep")
    read_until(child, b"ready")
    assert child.read() is None


def test_read_rejects_non_positive_size(spawner: Spawner) -> None:
    child = spawner("sleep")
    with pytest.raises(InvalidRequest):
        child.read(0)


def test_write_returns_zero_when_the_terminal_buffer_is_full(spawner: Spawner) -> None:
    child = spawner("sleep")  # never reads its stdin
    read_until(child, b"ready")
    total = 0
    for _ in range(10_000):
        written = child.write(b"x" * 4096)
        if written == 0:
            break
        total += written
    else:
        pytest.fail("write never reported a full buffer")
    assert total > 0
    assert child.write(b"") == 0


def test_close_is_idempotent_and_later_io_is_refused(spawner: Spawner) -> None:
    child = spawner("sleep")
    read_until(child, b"ready")
    child.close()
    child.close()
    assert child.closed
    assert child.read() == b""
    with pytest.raises(OSError):
        child.write(b"x")
    with pytest.raises(OSError):
        child.resize(10, 10)


def test_start_time_matches_proc(spawner: Spawner) -> None:
    child = spawner("sleep")
    assert child.start_time is not None
    assert child.start_time == proc_start_time(child.pid)


def test_master_fd_and_pidfd_are_not_inherited(spawner: Spawner) -> None:
    child = spawner("sleep")
    assert not os.get_inheritable(child.master_fd)
    assert not os.get_inheritable(child.pidfd)
    assert not os.get_blocking(child.master_fd)


def _no_new_children(before: set[int]) -> None:
    assert set(children_of(os.getpid())) <= before


def test_missing_executable_is_a_spawn_error_and_no_process(tmp_path: Path) -> None:
    before = set(children_of(os.getpid()))
    with pytest.raises(SpawnError) as info:
        spawn(["no-such-harness-xyz"], cwd=str(tmp_path), env=fake_env("exit"), rows=24, cols=80)
    assert info.value.details == {
        "reason": "executable_not_found",
        "executable": "no-such-harness-xyz",
    }
    assert isinstance(info.value, LaunchFailed)
    assert info.value.code == "launch_failed"
    _no_new_children(before)


def test_executable_missing_from_the_given_path_only(tmp_path: Path) -> None:
    # `codex` exists in tests/fakes/bin (and may be installed on the machine), but not
    # on the PATH the caller passed: the spawner searches that PATH and nothing else.
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    with pytest.raises(SpawnError):
        spawn(["codex"], cwd=str(tmp_path), env={"PATH": str(empty)}, rows=24, cols=80)
    with pytest.raises(SpawnError):
        spawn(["codex"], cwd=str(tmp_path), env={"PATH": controlled_path()}, rows=24, cols=80)


def test_non_executable_file_is_a_spawn_error(tmp_path: Path) -> None:
    script = tmp_path / "plain"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)
    with pytest.raises(SpawnError):
        spawn([str(script)], cwd=str(tmp_path), env=fake_env("exit"), rows=24, cols=80)


@pytest.mark.parametrize("kind", ["missing", "file", "relative"])
def test_bad_cwd_is_a_spawn_error_and_no_process(tmp_path: Path, kind: str) -> None:
    cwd = {
        "missing": str(tmp_path / "nope"),
        "file": str(tmp_path / "afile"),
        "relative": "relative/dir",
    }[kind]
    (tmp_path / "afile").write_text("")
    before = set(children_of(os.getpid()))
    with pytest.raises(SpawnError) as info:
        spawn(["codex"], cwd=cwd, env=fake_env("exit"), rows=24, cols=80)
    assert info.value.details is not None
    assert info.value.details["reason"] == "cwd_not_directory"
    _no_new_children(before)


@pytest.mark.parametrize(
    "argv",
    [[], [""], ["codex", "a\0b"], ["co\0dex"], "codex", [b"codex"]],
)
def test_bad_argv_is_invalid_request(tmp_path: Path, argv: object) -> None:
    with pytest.raises(InvalidRequest):
        spawn(argv, cwd=str(tmp_path), env=fake_env("exit"), rows=24, cols=80)  # type: ignore[arg-type]


@pytest.mark.parametrize("env_extra", [{"": "x"}, {"A=B": "x"}, {"A": "x\0y"}, {"A\0": "x"}])
def test_bad_env_is_invalid_request(tmp_path: Path, env_extra: dict[str, str]) -> None:
    env = fake_env("exit")
    env.update(env_extra)
    with pytest.raises(InvalidRequest):
        spawn(["codex"], cwd=str(tmp_path), env=env, rows=24, cols=80)


@pytest.mark.parametrize(("rows", "cols"), [(0, 80), (24, 0), (65536, 80), (24, 1.5)])
def test_bad_window_size_is_invalid_request(tmp_path: Path, rows: int, cols: int) -> None:
    with pytest.raises(InvalidRequest):
        spawn(["codex"], cwd=str(tmp_path), env=fake_env("exit"), rows=rows, cols=cols)


def test_no_fd_leaks_across_spawns(spawner: Spawner) -> None:
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    first = spawner("exit")
    read_to_eof(first)
    wait_exit(first)
    first.close()
    baseline = open_fds()
    for _ in range(5):
        child = spawner("exit")
        read_to_eof(child)
        wait_exit(child)
        child.close()
    with pytest.raises(SpawnError):
        spawner("exit", cwd="/nonexistent-dir-for-test")
    assert open_fds() == baseline


def test_signal_right_after_spawn_reaches_the_harness(spawner: Spawner) -> None:
    """The leader may not have called setsid() yet when spawn returns: it is still reached."""
    for _ in range(5):
        child = spawner("sleep")
        assert signal_session(child.pid, signal.SIGKILL) == 1
        assert wait_exit(child) == ExitStatus(code=None, signal=signal.SIGKILL)


def test_write_after_exit_is_accepted_and_exit_is_seen_by_poll(spawner: Spawner) -> None:
    child = spawner("exit")
    read_to_eof(child)
    wait_exit(child)
    assert child.write(b"late input") == len(b"late input")
    assert child.poll_exit() == ExitStatus(code=0, signal=None)


def test_pty_imports_nothing_from_coven_but_errors() -> None:
    """Layer rule: pty never imports store, harness, api, runtime or cli."""
    package = Path(coven.pty.__file__).parent
    for source in package.glob("*.py"):
        for line in source.read_text().splitlines():
            found = re.match(r"\s*(?:from|import)\s+(coven(?:\.\w+)*)", line)
            if found:
                module = found[1]
                assert module == "coven.errors" or module.startswith("coven.pty"), (
                    f"{source.name} imports {module}"
                )


def test_missing_setsid_helper_is_a_spawn_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import coven.pty.child as child_module

    monkeypatch.setattr(child_module, "_SETSID_FALLBACK_PATH", str(tmp_path))
    before = set(children_of(os.getpid()))
    with pytest.raises(SpawnError) as info:
        spawn(["codex"], cwd=str(tmp_path), env=fake_env("exit"), rows=24, cols=80)
    assert info.value.details == {"reason": "setsid_missing"}
    _no_new_children(before)
