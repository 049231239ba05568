"""``COVEN_HOME/cockpit.json``: the running cockpit, so a second launch reuses it.

The file holds the server's pid, port and token; it is written 0600 (the token
is a secret) by an atomic rename, and removed by the server that wrote it when
it stops. A file whose pid is gone, or whose server does not answer a ping with
its token, is stale and is replaced. ``cockpit.lock`` serialises launches, so
two at once do not both start a server.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_NAME = "cockpit.json"
LOCK_NAME = "cockpit.lock"
PING_PATH = "/cockpit/ping"


@dataclass(frozen=True)
class CockpitState:
    pid: int
    port: int
    token: str
    started_at: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/?token={self.token}"


def read_state(home: Path) -> CockpitState | None:
    try:
        doc = json.loads((home / STATE_NAME).read_text())
        return CockpitState(
            int(doc["pid"]), int(doc["port"]), str(doc["token"]), str(doc["started_at"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(home: Path, state: CockpitState) -> None:
    tmp = home / f".{STATE_NAME}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(state), out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, home / STATE_NAME)


def remove_state(home: Path, pid: int) -> None:
    """Remove the state file if it still describes the server ``pid``."""
    current = read_state(home)
    if current is not None and current.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            (home / STATE_NAME).unlink()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def answers(state: CockpitState, timeout: float = 2.0) -> bool:
    """Whether a cockpit with this token answers on 127.0.0.1:``port``."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{state.port}{PING_PATH}",
        headers={"Authorization": f"Bearer {state.token}"},
    )
    # No proxies: a proxy configured in the environment must never see the token.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            doc = json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return False
    return isinstance(doc, dict) and doc.get("cockpit") is True and doc.get("pid") == state.pid


def running(home: Path) -> CockpitState | None:
    """The live cockpit of ``home``, or None when there is none (or only a stale file)."""
    state = read_state(home)
    if state is None or not pid_alive(state.pid) or not answers(state):
        return None
    return state


@contextlib.contextmanager
def launch_lock(home: Path) -> Iterator[None]:
    fd = os.open(home / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
