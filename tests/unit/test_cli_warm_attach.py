"""``coven run`` starting a daemon imports the attach client meanwhile, and only that.

Run in a fresh interpreter: the test process has long imported the client.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

PROBE = """
import json, os, sys
from coven.cli import daemonctl, run_cmd

class Status:
    state, pid, socket = "stopped", 0, ""

calls = []

def start_launching(home, body, **_):
    calls.append(("start", "coven.client.attach_stream" in sys.modules))
    started = Status()
    started.state, started.pid, started.socket = "running", 4242, "/tmp/x.sock"
    return started, None

daemonctl.probe = lambda home: Status()
daemonctl.start_launching = start_launching
run_cmd.is_remote = lambda: False
run_cmd.hint = lambda line: calls.append(("hint", line))
before = dict(os.environ)
run_cmd.ensure_daemon(warm_attach=sys.argv[1] == "warm")
print(json.dumps({
    "calls": calls,
    "attach": "coven.client.attach_stream" in sys.modules,
    "environ_unchanged": dict(os.environ) == before,
}))
"""


def _probe(mode: str, tmp_path: Path) -> dict[str, object]:
    env = {"PYTHONPATH": str(SRC), "HOME": str(tmp_path), "COVEN_HOME": str(tmp_path / "h")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_starting_a_daemon_to_attach_to_loads_the_attach_client_meanwhile(tmp_path: Path) -> None:
    warm = _probe("warm", tmp_path)
    assert warm["attach"] is True  # loaded (and joined) by the time ensure_daemon returns
    assert warm["environ_unchanged"] is True  # the session's environment is taken after
    assert warm["calls"][-1] == ["hint", "Coven daemon: started (pid 4242, socket /tmp/x.sock)"]


def test_other_commands_do_not_load_it(tmp_path: Path) -> None:
    cold = _probe("cold", tmp_path)
    assert cold["attach"] is False
    assert cold["calls"][0] == ["start", False]
