"""`coven --host`: the real OpenSSH client, a real SSH server, a real daemon in another home.

The server (``tests.support.sshd``) plays the other machine: its exec requests
run with that machine's ``COVEN_HOME`` and PATH, and it relays Unix-socket
forwards to that machine's daemon. The local ``coven`` has its own, different
``COVEN_HOME``, which must stay untouched: everything happens over ssh.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pexpect
import pytest

from tests.support.cli import COVEN
from tests.support.daemon import daemon_env, request, session_output
from tests.support.ssh import HOST_ALIAS, SshWorld, require_ssh

pytestmark = pytest.mark.timeout(150)


@dataclass
class Remote:
    """The local side: a ``coven`` with its own home that reaches ``world`` over ssh."""

    world: SshWorld
    home: Path
    cwd: Path
    env: dict[str, str]

    def run(
        self, *args: str, host: str | None = None, ok: bool | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        argv = [*COVEN, "--host", host or self.world.url, *args]
        proc = subprocess.run(
            argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        if ok is True:
            assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr)
        return proc

    def local(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``coven ARGS`` without a host (this machine)."""
        return subprocess.run(
            [*COVEN, *args],
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )

    @property
    def remote_socket(self) -> Path:
        return self.world.remote_home / "coven.sock"

    def remote_record(self, session_id: str) -> dict[str, Any]:
        reply = request(self.remote_socket, "GET", f"/api/v1/sessions/{session_id}")
        assert reply.status == 200, reply.body
        record: dict[str, Any] = reply.json()
        return record


def _world(tmp_path: Path, **kwargs: Any) -> Iterator[Remote]:
    world = SshWorld(tmp_path / "ssh", **kwargs)
    home = tmp_path / "local-home"
    cwd = tmp_path / "local-cwd"
    cwd.mkdir()
    try:
        world.start()
        env = world.local_env(daemon_env(home, cwd))
        env.pop("FAKE_MODE", None)
        yield Remote(world, home, cwd, env)
    finally:
        world.stop()


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Remote]:
    yield from _world(tmp_path)


def _processes_mentioning(word: str) -> list[int]:
    """Pids whose command line contains ``word`` (read from /proc, no tools needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if word.encode() in argv:
                found.append(int(entry.name))
    return found


def _start_remote_daemon(remote: Remote) -> None:
    proc = remote.run("daemon", "start", ok=True)
    assert f"socket {remote.remote_socket}" in proc.stdout


def test_daemon_start_sessions_run_attach_kill_all_reach_the_other_machine(remote: Remote) -> None:
    """The whole remote workflow, with one ssh login for all of it and nothing local."""
    proc = remote.run("daemon", "status", ok=True)
    assert "not running" in proc.stdout
    _start_remote_daemon(remote)
    assert remote.remote_socket.exists()

    proc = remote.run("sessions", "--plain", ok=True)
    assert "No active Coven sessions yet." in proc.stdout

    project = str(remote.world.remote_project)
    proc = remote.run(
        "run", "codex", "--detach", "--root", project, "--", "hello", "there", ok=True
    )
    session_id = proc.stdout.strip()
    assert len(session_id) == 36, proc.stdout
    record = remote.remote_record(session_id)
    assert record["project_root"] == project
    assert record["status"] == "running"

    proc = remote.run("sessions", "--plain", ok=True)
    assert session_id in proc.stdout

    child = pexpect.spawn(
        COVEN[0],
        [*COVEN[1:], "--host", remote.world.url, "attach", session_id[:8]],
        cwd=str(remote.cwd),
        env=remote.env,
        dimensions=(30, 100),
        timeout=20,
    )
    child.expect(f"attached to session {session_id}")
    child.expect("ready")  # replayed from the other machine's store
    child.send("over-ssh\r")
    child.expect("echo: over-ssh")  # typed here, echoed there, streamed back
    child.send("\x1d")
    child.expect("detached from session")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert "echo: over-ssh" in session_output(remote.remote_socket, session_id)

    proc = remote.run("kill", session_id[:8], ok=True)
    assert f"killed session {session_id}" in proc.stdout
    deadline = time.monotonic() + 10
    while remote.remote_record(session_id)["status"] != "killed":
        assert time.monotonic() < deadline
        time.sleep(0.05)

    # One login served every command; the remote socket path was asked once.
    assert len(remote.world.log_lines("connect")) == 1, remote.world.log.read_text()
    status_asks = [x for x in remote.world.log_lines("exec") if "status" in x]
    assert len(status_asks) == 2, status_asks  # `daemon status` (shown) + the forward's question
    # This machine's home was never used: no daemon, no database, no socket here.
    assert not (remote.home / "coven.sock").exists()
    assert not (remote.home / "coven.sqlite3").exists()


def test_run_on_another_machine_does_not_send_this_shells_environment(remote: Remote) -> None:
    """Locally `coven run` sends its environment; this machine's PATH means nothing there."""
    _start_remote_daemon(remote)
    remote.env["COVEN_TEST_LOCAL_ONLY"] = "from-the-local-shell"
    project = str(remote.world.remote_project)
    proc = remote.run("run", "codex", "--detach", "--root", project, "--", "hi", ok=True)
    session_id = proc.stdout.strip()
    assert remote.remote_record(session_id)["status"] == "running"
    wanted = f"COVEN_SESSION_ID={session_id}".encode()
    environs = []
    for entry in Path("/proc").iterdir():
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in environ:
            environs.append(environ)
    assert environs, "the remote harness was not found"
    for environ in environs:
        assert b"COVEN_TEST_LOCAL_ONLY=from-the-local-shell" not in environ
        assert f"COVEN_HOME={remote.world.remote_home}".encode() in environ
    remote.run("kill", session_id[:8], ok=True)


def test_a_stopped_remote_daemon_is_named_with_the_start_command(remote: Remote) -> None:
    proc = remote.run("sessions")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"Error: the Coven daemon on {remote.world.url} is not running; start it with "
        f"`coven --host {remote.world.url} daemon start`"
    )
    assert not (remote.home / "coven.sock").exists()  # no local daemon was started instead


def test_run_without_a_remote_root_is_refused_before_anything_launches(remote: Remote) -> None:
    _start_remote_daemon(remote)
    proc = remote.run("run", "codex", "--detach", "hello")
    assert proc.returncode == 1
    assert "name the project root on" in proc.stderr and "--root /absolute/path" in proc.stderr
    proc = remote.run("run", "codex", "--detach", "--root", "relative/dir", "hello")
    assert proc.returncode == 1
    assert "--root /absolute/path" in proc.stderr
    assert request(remote.remote_socket, "GET", "/api/v1/sessions").json() == []


def test_a_restarted_remote_daemon_is_found_again(remote: Remote) -> None:
    """The kept forward points at a daemon that went away: the next command re-forwards."""
    _start_remote_daemon(remote)
    remote.run("sessions", ok=True)
    pid = json.loads((remote.world.remote_home / "daemon.json").read_text())["pid"]
    proc = remote.run("daemon", "restart", ok=True)
    assert "restarted" in proc.stdout
    new_pid = json.loads((remote.world.remote_home / "daemon.json").read_text())["pid"]
    assert new_pid != pid
    proc = remote.run("sessions", "--plain", ok=True)
    assert "No active Coven sessions yet." in proc.stdout


def test_commands_started_together_share_one_login_and_one_forward(remote: Remote) -> None:
    _start_remote_daemon(remote)
    remote.local("hosts", "disconnect", remote.world.url).check_returncode()
    before = len(remote.world.log_lines("connect"))
    procs = [
        subprocess.Popen(
            [*COVEN, "--host", remote.world.url, "sessions", "--json"],
            cwd=remote.cwd,
            env=remote.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert json.loads(out)["sessions"] == []
    assert len(remote.world.log_lines("connect")) == before + 1


def test_doctor_and_adapter_list_describe_the_other_machine(remote: Remote) -> None:
    proc = remote.run("doctor", "--json")
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report["store"] == str(remote.world.remote_home)
    proc = remote.run("adapter", "list", "--json", ok=True)
    paths = {a["id"]: a["executablePath"] for a in json.loads(proc.stdout)["adapters"]}
    assert paths["codex"].endswith("tests/fakes/bin/codex")


def test_a_named_host_and_COVEN_HOST_reach_it_and_disconnect_ends_the_connection(
    remote: Remote,
) -> None:
    _start_remote_daemon(remote)
    remote.local("hosts", "add", "box", remote.world.url).check_returncode()
    proc = remote.run("sessions", "--plain", host="box", ok=True)
    assert "No active Coven sessions yet." in proc.stdout
    env = {**remote.env, "COVEN_HOST": "box"}
    proc = subprocess.run(
        [*COVEN, "sessions", "--plain"],
        env=env,
        cwd=remote.cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "No active Coven sessions yet." in proc.stdout

    controls = list(remote.world.runtime.rglob("ctl"))
    assert len(controls) == 1
    state = controls[0].parent
    assert os.stat(state).st_mode & 0o777 == 0o700
    assert os.stat(state / "coven.sock").st_mode & 0o777 == 0o600
    assert _processes_mentioning(f"ControlPath={state}/ctl")  # the master, kept up
    proc = remote.local("hosts", "disconnect", "box")
    assert proc.returncode == 0, proc.stderr
    assert "closed the ssh connection to box" in proc.stdout
    assert not (state / "ctl").exists() and not (state / "coven.sock").exists()
    proc = remote.local("hosts", "disconnect", "box")
    assert "no ssh connection to box was open" in proc.stdout
    # The master process itself is gone, not just its socket.
    deadline = time.monotonic() + 5
    while _processes_mentioning(f"ControlPath={state}/ctl"):
        assert time.monotonic() < deadline, "the ssh master outlived disconnect"
        time.sleep(0.05)


def test_a_refused_login_says_ssh_could_not_log_in(remote: Remote) -> None:
    config = remote.world.write_config("stranger_config", remote.world.stranger_key)
    remote.env["COVEN_SSH_COMMAND"] = f"{remote.world.ssh} -F {config}"
    proc = remote.run("sessions")
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"Error: ssh could not log in to {remote.world.url}: ")
    assert "Permission denied" in proc.stderr
    proc = remote.run("daemon", "start")
    assert proc.returncode == 1
    assert "could not log in" in proc.stderr
    assert not remote.remote_socket.exists()


def test_an_unreachable_or_malformed_host_is_refused_in_plain_words(remote: Remote) -> None:
    closed = remote.world.write_config("closed_config", remote.world.client_key, port=1)
    proc = remote.run("sessions", host=f"ssh://tester@{HOST_ALIAS}:1")
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"Error: cannot reach ssh://tester@{HOST_ALIAS}:1 over ssh: ")
    assert "Connection refused" in proc.stderr
    remote.env["COVEN_SSH_COMMAND"] = f"{remote.world.ssh} -F {closed}"
    assert "Connection refused" in remote.run("doctor").stderr

    proc = remote.run("sessions", host="ssh://-oProxyCommand=touch")
    assert proc.returncode == 1
    assert "is not a host target; expected ssh://[user@]host[:port]" in proc.stderr
    proc = remote.run("sessions", host="tester@box")
    assert "write it as ssh://tester@box" in proc.stderr
    proc = remote.run("sessions", host="nosuch")
    assert proc.returncode == 1
    assert "no host named `nosuch`" in proc.stderr
    assert "coven hosts add nosuch" in proc.stderr


@pytest.mark.parametrize("ssh_command", [None, "no-such-ssh -F config"])
def test_missing_ssh_client_says_to_install_openssh(
    tmp_path: Path, ssh_command: str | None
) -> None:
    # The tests' PATH holds no ssh: exactly a machine without the OpenSSH client.
    env = daemon_env(tmp_path / "home", tmp_path)
    if ssh_command is not None:
        env["COVEN_SSH_COMMAND"] = ssh_command
    env["XDG_RUNTIME_DIR"] = str(tmp_path)
    for args in (("sessions",), ("daemon", "start")):
        proc = subprocess.run(
            [*COVEN, "--host", "ssh://me@box.example", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 1
        assert "ssh client is not installed or not on PATH" in proc.stderr
        assert "apt-get install openssh-client" in proc.stderr
        assert ssh_command is None or "no-such-ssh -F config" in proc.stderr


@pytest.fixture
def remote_without_coven(tmp_path: Path) -> Iterator[Remote]:
    yield from _world(tmp_path, with_coven=False)


def test_a_machine_without_coven_says_so_and_how_to_name_its_path(
    remote_without_coven: Remote,
) -> None:
    proc = remote_without_coven.run("sessions")
    assert proc.returncode == 1
    assert "`coven` was not found on" in proc.stderr
    assert "--command /path/to/coven" in proc.stderr
    proc = remote_without_coven.run("daemon", "start")
    assert proc.returncode == 1
    assert "`coven` was not found on" in proc.stderr


def test_the_remote_command_of_a_named_host_is_used(remote_without_coven: Remote) -> None:
    """coven installed off the ssh PATH (e.g. ~/.local/bin) is reached by its --command path."""
    from tests.support.ssh import VENV_BIN

    remote = remote_without_coven
    remote.local("hosts", "add", "box", remote.world.url, "--command", str(VENV_BIN / "coven"))
    proc = remote.run("daemon", "start", host="box", ok=True)
    assert "Coven daemon: running" in proc.stdout
    # The daemon there has no harness on its PATH, but it answers through the forward.
    proc = remote.run("sessions", "--plain", host="box", ok=True)
    assert "No active Coven sessions yet." in proc.stdout


def test_ssh_is_required_by_these_tests() -> None:
    # The install (openssh-client) guarantees it; if it is missing this fails, never skips.
    assert re.search(r"ssh$", require_ssh())
