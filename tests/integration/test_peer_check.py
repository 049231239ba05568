"""The daemon checks the connecting peer's uid itself (SO_PEERCRED), not only file modes."""

from __future__ import annotations

import os
import socket

import pytest

from tests.support.daemon import Daemon


def request_as_uid(home_fd: int, uid: int) -> bytes:
    """Fork, become ``uid``, send a health request through the home dir fd; return the reply."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: no pytest machinery from here on
        code = 1
        try:
            os.close(read_end)
            os.setgid(uid)
            os.setuid(uid)
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(10)
                # The /proc magic link skips the private parent dirs of the test's tmp home.
                sock.connect(f"/proc/self/fd/{home_fd}/coven.sock")
                sock.sendall(
                    b"GET /api/v1/health HTTP/1.1\r\nHost: coven\r\nContent-Length: 0\r\n\r\n"
                )
                sock.shutdown(socket.SHUT_WR)
                while chunk := sock.recv(65536):
                    os.write(write_end, chunk)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    data = b""
    while chunk := os.read(read_end, 65536):
        data += chunk
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, data
    return data


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another uid")
def test_a_different_uid_is_refused_even_if_the_socket_is_opened_up(daemon: Daemon) -> None:
    # Loosen the modes on purpose (as a careless admin might): the uid check must still hold.
    os.chmod(daemon.home, 0o711)
    os.chmod(daemon.socket, 0o666)
    home_fd = os.open(daemon.home, os.O_PATH)
    try:
        reply = request_as_uid(home_fd, 1000)
    finally:
        os.close(home_fd)
        os.chmod(daemon.socket, 0o600)
        os.chmod(daemon.home, 0o700)
    assert reply.split(b"\r\n", 1)[0].split()[1] == b"403", reply
    assert b'"code":"forbidden"' in reply
    assert daemon.call("GET", "/api/v1/health").status == 200  # the owner is still served
