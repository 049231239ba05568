"""The per-session holder with real processes: lossless streaming, adoption, kill, refusal."""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import re
import select
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from coven.errors import HolderRefused, HolderUnavailable, InvalidRequest
from coven.pty import ExitStatus, PtyReader, SpawnError
from coven.pty import holder_protocol as wire
from coven.pty.holder import FORCE_EOF_SECONDS, LINGER_SECONDS
from coven.pty.holder_client import HolderIdentity, adopt_holder
from coven.pty.procfs import read_stat
from tests.fakes.fake_harness import flood_chunks
from tests.fakes.ptyio import flood_payload, pid_alive, wait_dead
from tests.support.hermetic import controlled_env
from tests.support.holders import Holders, read_to_end, read_until, rss_kib, wait_for

REPO = Path(__file__).resolve().parents[2]
FLOOD_BYTES = 64 * 1024 * 1024


@pytest.fixture
def holders(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Holders]:
    """Holders forked by a fork server; ``parametrize("holders", ["exec"], indirect=True)``
    starts each from a new interpreter instead."""
    hs = Holders(str(tmp_path), getattr(request, "param", "fork"))
    try:
        yield hs
    finally:
        hs.cleanup()


def flood_digest(total: int) -> str:
    digest = hashlib.sha256()
    for chunk in flood_chunks(total):
        digest.update(chunk)
    return digest.hexdigest()


def assert_flood(received: bytes, total: int) -> None:
    payload = flood_payload(received)
    assert len(payload) == total
    assert hashlib.sha256(payload).hexdigest() == flood_digest(total)


def finish(holders: Holders, handle: object) -> None:
    """Release a finished holder and check it exits and removes its socket."""
    from coven.pty.holder_client import HolderHandle

    assert isinstance(handle, HolderHandle)
    handle.release()
    assert wait_dead(handle.identity.holder_pid), "holder did not exit after RELEASE"
    assert not os.path.exists(handle.socket_path)


# -- streaming -------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("holders", ["fork", "exec"], indirect=True)
def test_a_64_mib_flood_arrives_byte_exact_through_the_holder(holders: Holders) -> None:
    handle = holders.spawn("flood", FAKE_BYTES=str(FLOOD_BYTES))
    started = time.monotonic()
    received = read_to_end(handle, timeout=90.0)
    elapsed = time.monotonic() - started
    assert_flood(received, FLOOD_BYTES)
    assert handle.offset == handle.final_offset == len(received)
    assert handle.poll_exit() == ExitStatus(code=0, signal=None)
    finish(holders, handle)
    print(f"\n[holder] 64 MiB through the holder: {len(received) / elapsed / 2**20:.0f} MiB/s")


@pytest.mark.slow
def test_reconnecting_mid_flood_resumes_at_the_last_ack_without_gap_or_duplicate(
    holders: Holders,
) -> None:
    handle = holders.spawn("flood", FAKE_BYTES=str(FLOOD_BYTES))
    committed = bytearray()
    for round_ in range(3):
        # Read a while, commit (acknowledge) only part of it, then drop the connection
        # as a crashing daemon would: what was read but not acknowledged comes again.
        target = len(committed) + 5 * 1024 * 1024
        unacked = b""
        deadline = time.monotonic() + 30
        while len(committed) < target:
            assert time.monotonic() < deadline, f"round {round_} stalled"
            select.select([handle.master_fd], [], [], 0.2)
            data = handle.read(1 << 20)
            assert data != b"", "the flood ended early"
            if data:
                committed += unacked
                unacked = data
                handle.ack(len(committed))
        handle.close()
        handle = holders.adopt(handle, resume_from=len(committed))
        # The holder kept at least everything not acknowledged before the drop.
        assert handle.base <= len(committed) <= handle.end_at_connect, f"round {round_}"
    committed += read_to_end(handle, timeout=90.0)
    assert_flood(bytes(committed), FLOOD_BYTES)
    assert handle.poll_exit() == ExitStatus(code=0, signal=None)
    finish(holders, handle)


def test_a_daemon_that_took_over_cuts_off_the_previous_connection(holders: Holders) -> None:
    first = holders.spawn("echo")
    read_until(first, b"ready")
    second = holders.adopt(first, resume_from=first.offset)
    wait_for(lambda: first.read() == b"", what="the first connection to end")
    assert first.lost is not None
    with pytest.raises(HolderUnavailable):
        first.poll_exit()
    second.write(b"still here\n")
    read_until(second, b"echo: still here")


@pytest.mark.parametrize("holders", ["fork", "exec"], indirect=True)
def test_harness_exit_while_no_daemon_is_connected_is_kept_for_adoption(
    holders: Holders,
) -> None:
    handle = holders.spawn("exit", FAKE_EXIT="7")
    handle.close()  # no daemon from here on
    assert wait_dead(handle.pid)
    time.sleep(0.5)
    # The harness is reaped (no zombie) while the holder keeps its status and output.
    assert read_stat(handle.pid) is None
    assert pid_alive(handle.identity.holder_pid)
    adopted = holders.adopt(handle, resume_from=0)
    output = read_to_end(adopted, timeout=10.0)
    assert b"FAKE[codex]" in output and output.endswith(b"ready\r\n")
    assert adopted.poll_exit() == ExitStatus(code=7, signal=None)
    assert adopted.final_offset == len(output)
    finish(holders, adopted)


def test_exit_status_is_sent_again_to_a_daemon_that_missed_the_release(holders: Holders) -> None:
    handle = holders.spawn("exit", FAKE_EXIT="3")
    output = read_to_end(handle, timeout=10.0)
    assert handle.poll_exit() == ExitStatus(code=3, signal=None)
    handle.close()  # crashed before recording the exit
    adopted = holders.adopt(handle, resume_from=len(output))
    assert read_to_end(adopted, timeout=10.0) == b""
    assert adopted.poll_exit() == ExitStatus(code=3, signal=None)
    finish(holders, adopted)


def test_release_before_exit_is_refused_and_the_holder_keeps_running(holders: Holders) -> None:
    handle = holders.spawn("echo")
    read_until(handle, b"ready")
    handle._send(wire.offset_frame(wire.RELEASE, handle.offset))
    wait_for(lambda: handle.read() == b"", what="the holder to refuse")
    assert handle.lost is not None and "release_refused" in handle.lost
    adopted = holders.adopt(handle, resume_from=handle.offset)
    adopted.write(b"exit\n")
    read_to_end(adopted)
    assert adopted.poll_exit() == ExitStatus(code=0, signal=None)
    finish(holders, adopted)


# -- backpressure ----------------------------------------------------------------------------
@pytest.mark.slow
def test_with_no_reader_the_harness_blocks_and_holder_memory_stays_bounded(
    holders: Holders,
) -> None:
    limit = 1024 * 1024
    handle = holders.spawn("flood", FAKE_BYTES=str(FLOOD_BYTES), buffer_limit=limit)
    handle.close()  # nobody reads
    holder_pid = handle.identity.holder_pid

    def held() -> int:
        probe = holders.adopt(handle, resume_from=0)
        probe.close()
        return probe.end_at_connect

    time.sleep(1.5)
    first = held()
    time.sleep(1.0)
    second = held()
    # Reading stopped at the limit (plus at most one read), and stays stopped.
    assert limit <= first <= limit + 64 * 1024
    assert second == first
    assert pid_alive(handle.pid), "the harness must block, not finish or die"
    assert rss_kib(holder_pid) < 40 * 1024
    # Nothing was dropped: a reader gets the whole flood.
    reader = holders.adopt(handle, resume_from=0)
    assert_flood(read_to_end(reader, timeout=90.0), FLOOD_BYTES)
    assert reader.poll_exit() == ExitStatus(code=0, signal=None)
    finish(holders, reader)


def test_a_harness_that_exits_while_its_holder_is_full_loses_nothing_and_kills_nothing(
    holders: Holders,
) -> None:
    """Its end of output is late because nobody reads, not because of a lingering
    descendant: the holder must not kill the session's other processes for it."""
    limit = 1024 * 1024
    # What is left once the holder is full must fit in the terminal. A Linux PTY takes
    # 12-19 KiB when empty, but buffers the holder read only partly still count against
    # it: with an 8 KiB tail the harness blocked for good now and then (seen in CI).
    tail = 2 * 1024
    script = (
        # A background process that does not hold the terminal and ignores the hang-up
        # the kernel sends the group when the session leader exits (ignored from its
        # fork on: a trap set by the child itself could come too late).
        "trap '' HUP; sleep 60 </dev/null >/dev/null 2>&1 & trap - HUP; echo bg $!;"
        f"python3 -c 'import sys; sys.stdout.write(\"x\" * {limit + tail})'; echo; echo done"
    )
    handle = holders.spawn("unused", argv=["/bin/sh", "-c", script], buffer_limit=limit)
    handle.close()  # nobody reads
    assert wait_dead(handle.pid, timeout=15), "the rest fits in the terminal"
    time.sleep(LINGER_SECONDS + FORCE_EOF_SECONDS + 1.0)
    adopted = holders.adopt(handle, resume_from=0)
    output = read_to_end(adopted, timeout=30.0)
    match = re.search(rb"bg (\d+)", output)
    assert match is not None
    assert pid_alive(int(match[1])), "a process not holding the terminal was killed"
    assert output.count(b"x") == limit + tail and output.endswith(b"done\r\n")
    assert adopted.poll_exit() == ExitStatus(code=0, signal=None)
    finish(holders, adopted)


# -- input, resize, signals ------------------------------------------------------------------
def test_input_and_resize_reach_the_harness(holders: Holders) -> None:
    echo = holders.spawn("echo")
    read_until(echo, b"ready")
    assert echo.write(b"hello holder\n") == len(b"hello holder\n")
    read_until(echo, b"echo: hello holder")
    winch = holders.spawn("winch")
    read_until(winch, b"ready")
    winch.resize(33, 101)
    read_until(winch, b"winch: 33 101")
    with pytest.raises(InvalidRequest):
        winch.resize(0, 80)


def test_input_window_limits_what_is_in_flight_and_reopens(holders: Holders) -> None:
    handle = holders.spawn("sleep")  # never reads its terminal
    read_until(handle, b"ready")
    big = b"x" * (wire.INPUT_WINDOW + 4096)
    accepted = handle.write(big)
    assert accepted == wire.INPUT_WINDOW
    assert handle.write(b"more") == 0
    assert handle.input_room == 0
    # Input the terminal can never take is counted as delivered once the harness is gone.
    handle.kill(grace=0.2)
    read_to_end(handle, timeout=10.0)
    assert handle.input_room == wire.INPUT_WINDOW


def test_signal_reaches_the_harness_through_the_holder(holders: Holders) -> None:
    handle = holders.spawn("ctty")
    read_until(handle, b"ready")
    handle.signal_group(signal.SIGINT)
    read_until(handle, b"SIGINT received")


def test_kill_escalates_to_sigkill_for_the_whole_group(holders: Holders) -> None:
    handle = holders.spawn("ignore-signals")
    out = read_until(handle, b"ready").decode()
    match = re.search(r"pids (\d+) (\d+)", out)
    assert match is not None
    grandchild = int(match[2])
    holders.pids.append((handle.identity.holder_pid, grandchild))
    started = time.monotonic()
    handle.kill(grace=0.3)
    read_to_end(handle, timeout=10.0)
    assert handle.poll_exit() == ExitStatus(code=None, signal=signal.SIGKILL)
    assert wait_dead(grandchild)
    assert time.monotonic() - started < 5.0
    finish(holders, handle)


def test_descendants_holding_the_terminal_are_ended_after_the_harness_exits(
    holders: Holders,
) -> None:
    handle = holders.spawn("linger")
    out = read_to_end(handle, timeout=15.0).decode()
    match = re.search(r"child (\d+) holds the terminal", out)
    assert match is not None and "parent done" in out
    assert handle.poll_exit() == ExitStatus(code=0, signal=None)
    assert wait_dead(int(match[1]))
    finish(holders, handle)


@pytest.mark.parametrize("holders", ["fork", "exec"], indirect=True)
def test_kill_9_of_the_holder_hangs_up_the_harness_and_its_group(holders: Holders) -> None:
    handle = holders.spawn("unused", argv=["/bin/sh", "-c", "sleep 300 & echo started $!; wait"])
    out = read_until(handle, b"started").decode()
    match = re.search(r"started (\d+)", out)
    assert match is not None
    background = int(match[1])
    assert read_stat(background) is not None
    assert read_stat(background).pgid == handle.pid  # type: ignore[union-attr]
    os.kill(handle.identity.holder_pid, signal.SIGKILL)
    assert wait_dead(handle.pid), "the harness survived its holder"
    assert wait_dead(background), "the harness's group survived its holder"
    wait_for(lambda: handle.read() == b"", what="the connection to end")
    with pytest.raises(HolderUnavailable):
        handle.poll_exit()
    # What remains of a dead holder is a stale socket that nobody answers.
    with pytest.raises(HolderUnavailable) as gone:
        adopt_holder(handle.socket_path, handle.identity, resume_from=0)
    assert gone.value.details is not None and gone.value.details["reason"] == "gone"


def test_removing_the_socket_makes_the_holder_end_its_harness_and_exit(
    holders: Holders,
) -> None:
    handle = holders.spawn("ignore-signals")
    read_until(handle, b"ready")
    os.unlink(handle.socket_path)
    assert wait_dead(handle.pid, timeout=10.0)
    assert wait_dead(handle.identity.holder_pid, timeout=10.0)


def test_an_abandoned_holder_whose_buffer_is_full_still_exits(holders: Holders) -> None:
    """Nobody reads (its daemon is gone), the harness exits, the socket is removed:
    the kept output can never be taken, so it must not keep the holder alive."""
    limit = 64 * 1024
    script = f"python3 -c 'import sys; sys.stdout.write(\"x\" * {4 * limit})'"
    handle = holders.spawn("unused", argv=["/bin/sh", "-c", script], buffer_limit=limit)
    handle.close()  # nobody reads: the holder fills up, the harness blocks
    time.sleep(0.5)
    assert pid_alive(handle.pid)
    os.unlink(handle.socket_path)
    assert wait_dead(handle.pid, timeout=10.0)
    assert wait_dead(handle.identity.holder_pid, timeout=15.0)


def test_the_holder_runs_on_the_standard_library_alone() -> None:
    """Holders start with ``python -I -S``: no site-packages. Anything the holder's
    imports pull in beyond the standard library (msgspec through coven.errors, say)
    would make every launch fail."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import coven.pty.holder_start;"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(REPO / "src")],
        capture_output=True,
        text=True,
        env={},
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    loaded = set(result.stdout.split())
    outside = loaded - set(sys.stdlib_module_names) - {"coven", "__main__"}
    assert outside == set()
    # Every cold start waits on the holders' fork server, which imports this once; these
    # would add ~15 ms to it (dataclasses with inspect and ast; secrets with hashlib).
    assert loaded.isdisjoint({"dataclasses", "inspect", "ast", "secrets", "hashlib"})


# -- identity and isolation ------------------------------------------------------------------
@pytest.mark.parametrize("holders", ["fork", "exec"], indirect=True)
def test_the_socket_is_private_and_the_holder_is_detached(holders: Holders) -> None:
    inherited_r, inherited_w = os.pipe()
    os.set_inheritable(inherited_w, True)
    try:
        handle = holders.spawn("echo")
    finally:
        os.close(inherited_r)
        os.close(inherited_w)
    mode = os.stat(handle.socket_path).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    holder = read_stat(handle.identity.holder_pid)
    assert holder is not None
    # A session of its own (led by the holder, or by the fork server's middle process
    # that already exited), not ours; no controlling terminal; nobody's child but init's.
    assert holder.sid == holder.pgid
    assert holder.sid != os.getsid(0) and holder.pgid != os.getpgrp()
    assert holder.ppid not in (os.getpid(), holders.forkserver and holders.forkserver.pid)
    with open(f"/proc/{holder.pid}/stat") as fh:
        assert fh.read().rsplit(")", 1)[1].split()[4] == "0"  # tty_nr
    read_until(handle, b"ready")  # past the setsid() of the harness's launch
    harness = read_stat(handle.pid)
    assert harness is not None and harness.ppid == holder.pid and harness.sid == handle.pid
    # Only what the holder opened itself: no pipe or fd leaked from the daemon.
    targets = sorted(
        os.readlink(f"/proc/{holder.pid}/fd/{fd}") for fd in os.listdir(f"/proc/{holder.pid}/fd")
    )
    assert not [t for t in targets if t.startswith("pipe:")], targets
    allowed = ("/dev/null", "/dev/ptmx", "socket:", "anon_inode:")
    assert all(t.startswith(allowed) for t in targets), targets
    assert targets.count("/dev/ptmx") == 1
    # The daemon's environment does not reach the holder's command line.
    with open(f"/proc/{holder.pid}/cmdline", "rb") as fh:
        assert b"FAKE_MODE" not in fh.read()


def test_an_impostor_on_the_socket_is_refused(holders: Holders, tmp_path: Path) -> None:
    handle = holders.spawn("echo", session_id="real")
    read_until(handle, b"ready")
    ident = handle.identity
    with pytest.raises(HolderRefused) as wrong_start:
        adopt_holder(
            handle.socket_path,
            HolderIdentity(ident.session_id, ident.holder_pid, ident.holder_start_time + 1),
            resume_from=0,
        )
    assert wrong_start.value.details is not None
    assert wrong_start.value.details["reason"] == "start_time"
    with pytest.raises(HolderRefused) as wrong_session:
        adopt_holder(
            handle.socket_path,
            HolderIdentity("other", ident.holder_pid, ident.holder_start_time),
            resume_from=0,
        )
    assert wrong_session.value.details is not None
    assert wrong_session.value.details["reason"] == "session_id"

    # Another process serving a perfect copy of the holder's greeting.
    fake_path = holders.path("impostor")
    hello = wire.encode_hello(
        wire.Hello(
            wire.VERSION,
            ident.holder_pid,
            ident.holder_start_time,
            handle.pid,
            0,
            0,
            0,
            0,
            0,
            "real",
        )
    )
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(fake_path)
    server.listen(1)

    def serve() -> None:
        with contextlib.suppress(OSError):
            conn, _ = server.accept()
            with conn:
                conn.sendall(hello)
                conn.recv(1)  # until the client hangs up

    impostor = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"],
        env=controlled_env(tmp_path / "home"),
    )
    try:
        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        with pytest.raises(HolderRefused) as wrong_pid:
            adopt_holder(fake_path, ident, resume_from=0)
        assert wrong_pid.value.details is not None
        assert wrong_pid.value.details["reason"] == "peer_pid"
    finally:
        impostor.kill()
        impostor.wait()
        server.close()
        thread.join(timeout=5)
    # The real holder is untouched by all of this.
    handle.write(b"after\n")
    read_until(handle, b"echo: after")


def test_resume_outside_what_the_holder_keeps_is_refused(holders: Holders) -> None:
    handle = holders.spawn("echo")
    read_until(handle, b"ready")  # acknowledges everything read
    with pytest.raises(HolderUnavailable) as behind:
        holders.adopt(handle, resume_from=0)
    assert behind.value.details is not None
    assert behind.value.details["reason"] == "resume_out_of_range"
    with pytest.raises(HolderUnavailable):
        holders.adopt(handle, resume_from=handle.offset + 10**6)


@pytest.mark.parametrize("holders", ["fork", "exec"], indirect=True)
def test_a_launch_failure_comes_back_and_leaves_nothing_running(holders: Holders) -> None:
    path = holders.path()
    with pytest.raises(SpawnError) as missing:
        holders.spawn("echo", argv=["no-such-harness-anywhere"], socket_path=path)
    assert missing.value.details is not None
    assert missing.value.details["reason"] == "executable_not_found"
    assert not os.path.exists(path)
    with pytest.raises(InvalidRequest):
        holders.spawn("echo", rows=0)

    def leftovers() -> list[int]:
        found = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                with contextlib.suppress(OSError), open(f"/proc/{name}/cmdline", "rb") as fh:
                    if holders.dir.encode() in fh.read():
                        found.append(int(name))
        return found

    # The holders that reported the failures exit right after reporting.
    wait_for(lambda: leftovers() == [], timeout=5.0, what="failed holders to exit")


def test_an_existing_socket_path_is_not_taken_over(holders: Holders) -> None:
    first = holders.spawn("echo")
    with pytest.raises(SpawnError) as exists:
        holders.spawn("echo", socket_path=first.socket_path)
    assert exists.value.details is not None
    assert exists.value.details["reason"] == "socket_exists"
    read_until(first, b"ready")


def test_the_fork_server_ends_when_closed_or_killed_and_its_holders_live_on(
    holders: Holders,
) -> None:
    forkserver = holders.forkserver
    assert forkserver is not None
    first = holders.spawn("echo")
    server_pid = forkserver.pid
    assert server_pid is not None and pid_alive(server_pid)
    forkserver.close()
    assert wait_dead(server_pid)
    first.write(b"still served\n")
    read_until(first, b"echo: still served")
    # The next launch starts a new server; a server that died is replaced too.
    second = holders.spawn("echo")
    assert forkserver.pid not in (None, server_pid)
    assert forkserver.pid is not None
    os.kill(forkserver.pid, signal.SIGKILL)
    assert wait_dead(forkserver.pid)
    third = holders.spawn("echo")
    for handle in (second, third):
        read_until(handle, b"ready")


# -- surviving the daemon --------------------------------------------------------------------
@pytest.mark.slow
def test_holders_survive_sigkill_of_the_daemons_process_group_mid_flood(
    holders: Holders,
) -> None:
    """Four sessions flood 64 MiB each; the "daemon" and its whole process group are
    SIGKILLed mid-flood; a new owner adopts every holder from what its store holds and
    ends up with every session's output byte-identical: nothing lost, nothing twice."""
    sessions = 4
    owner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.holder_owner",
            holders.dir,
            str(sessions),
            str(FLOOD_BYTES),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        env=controlled_env(Path(holders.dir) / "home"),
        start_new_session=True,
    )
    assert owner.stdout is not None
    identities: dict[int, tuple[HolderIdentity, int]] = {}
    for _ in range(sessions):
        fields = owner.stdout.readline().decode().split()
        assert fields and fields[0] == "identity", fields
        n, holder_pid, holder_start, harness_pid = map(int, fields[1:])
        identities[n] = (HolderIdentity(f"s{n}", holder_pid, holder_start), harness_pid)
        holders.pids.append((holder_pid, harness_pid))
    streaming, forkserver_pid = owner.stdout.readline().split()
    assert streaming == b"streaming"
    stores = [Path(holders.dir) / f"{n}.store" for n in range(sessions)]

    def stored() -> int:
        return sum(p.stat().st_size for p in stores if p.exists())

    wait_for(lambda: stored() > sessions * 8 * 1024 * 1024, timeout=60, what="the flood")
    os.killpg(owner.pid, signal.SIGKILL)  # the "daemon" and everything in its group
    owner.wait(timeout=10)
    owner.stdout.close()
    # The owner's fork server is not in its group, but ends with it (its stdin closed).
    assert wait_dead(int(forkserver_pid))
    adopted = []
    for n, (identity, harness_pid) in identities.items():
        assert pid_alive(identity.holder_pid) and pid_alive(harness_pid), f"session {n}"
        committed = stores[n].read_bytes()
        handle = holders.adopt_identity(
            os.path.join(holders.dir, f"{n}.sock"), identity, resume_from=len(committed)
        )
        adopted.append((handle, committed))
    for handle, committed in adopted:
        assert_flood(committed + read_to_end(handle, timeout=120.0), FLOOD_BYTES)
        assert handle.poll_exit() == ExitStatus(code=0, signal=None)
        finish(holders, handle)


# -- the daemon's reader thread ----------------------------------------------------------------
@pytest.mark.slow
def test_the_pty_reader_thread_drains_a_holder_like_a_pty_master(holders: Holders) -> None:
    """A small budget makes the reader stop and re-arm often: level-triggered readiness
    of the holder socket must never strand bytes or the end of output."""
    callbacks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
    parts: list[bytes] = []
    ended: list[bool] = []
    reader = PtyReader(callbacks.put, budget=64 * 1024)
    total = 16 * 1024 * 1024
    try:
        handle = holders.spawn("flood", FAKE_BYTES=str(total))

        def on_output(data: bytes) -> None:
            parts.append(data)
            handle.ack(sum(map(len, parts)))  # "committed"

        source = reader.add(handle.master_fd, on_output, lambda: ended.append(True), handle.read)
        deadline = time.monotonic() + 90
        while not ended:
            assert time.monotonic() < deadline, f"stalled after {sum(map(len, parts))} bytes"
            with contextlib.suppress(queue.Empty):
                callbacks.get(timeout=0.05)()
        source.detach()
        reader.forget(source)
    finally:
        reader.stop()
    assert reader.errors == 0
    assert_flood(b"".join(parts), total)
    assert handle.poll_exit() == ExitStatus(code=0, signal=None)
    finish(holders, handle)


def test_a_fork_server_started_early_serves_the_first_launch_or_is_replaced(
    holders: Holders,
) -> None:
    forkserver = holders.forkserver
    assert forkserver is not None
    early = forkserver.start()  # what the daemon does before its own imports
    assert early is not None and forkserver.start() is None  # one server at a time
    first = holders.spawn("echo")
    assert forkserver.pid == early  # the first launch waited for it, not for a new one
    read_until(first, b"ready")
    forkserver.close()
    assert wait_dead(early)
    # An early server that dies before anyone asked it for a holder is replaced.
    doomed = forkserver.start()
    assert doomed is not None
    os.kill(doomed, signal.SIGKILL)
    second = holders.spawn("echo")
    assert forkserver.pid not in (None, doomed)
    read_until(second, b"ready")


@pytest.mark.parametrize(
    ("text", "mask"),
    [
        ("22", 0o022),
        ("0027", 0o027),
        ("0", 0),
        (None, None),
        ("", None),
        ("8", None),
        ("-22", None),
        ("0o22", None),
        ("77777", None),
        (" 22", None),
    ],
)
def test_the_harness_umask_in_a_spec_is_octal_digits_or_ignored(
    text: str | None, mask: int | None
) -> None:
    from coven.pty.holder_start import _umask

    assert _umask(text) == mask
