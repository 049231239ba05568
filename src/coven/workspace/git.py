"""How Coven runs git: a subprocess, never a shell, always a deadline, a controlled environment.

Every git command of the workspace layer goes through ``Git.run``. What a caller may
rely on:

- argv only (no shell); stdin is closed unless ``input`` is given;
- the environment is rebuilt from an allowlist: the daemon's ``GIT_DIR``,
  ``GIT_INDEX_FILE``, ``GIT_WORK_TREE`` and friends never leak in, ``LC_ALL=C`` keeps
  messages stable, no prompt, pager or editor can block (``GIT_TERMINAL_PROMPT=0``,
  ``GIT_EDITOR=:``), and read commands run with ``GIT_OPTIONAL_LOCKS=0`` so ``git
  status`` never refreshes (writes) the index of the user's checkout;
- user hooks, fsmonitor programs, automatic gc and commit signing are switched off
  with ``-c`` for every command, so nothing of the user's configuration can run a
  program, detach a background job or wait for a passphrase;
- each command runs in its own process group; when it passes its deadline the whole
  group is killed (a hook or filter it started cannot keep the pipes open) and
  ``GitTimeout`` is raised;
- a status outside ``ok`` raises ``GitFailed`` with the command, exit code and the
  tail of stderr; a missing executable raises ``GitUnavailable``.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path

import msgspec

from coven.errors import GitFailed, GitTimeout, GitUnavailable

# Variables copied from the daemon's environment. Identity and config location are the
# user's; everything else git reads from the environment (GIT_DIR, GIT_INDEX_FILE,
# GIT_CONFIG_PARAMETERS, …) would point commands at the wrong repository or config.
PASSTHROUGH_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "TMPDIR",
    "XDG_CONFIG_HOME",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_NOSYSTEM",
    "GIT_EXEC_PATH",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
    "EMAIL",
)

FIXED_ENV = {
    "LC_ALL": "C",
    "LANG": "C",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "PAGER": "cat",
    "GIT_EDITOR": ":",
    "GIT_SEQUENCE_EDITOR": ":",
    "GIT_MERGE_AUTOEDIT": "no",
}

# Applied to every command: no user program may run, detach or prompt on our behalf.
SAFE_CONFIG = (
    "core.hooksPath=/dev/null",
    "core.fsmonitor=false",
    "gc.auto=0",
    "maintenance.auto=false",
    "commit.gpgSign=false",
    "tag.gpgSign=false",
    "color.ui=false",
    "core.pager=cat",
)

READ_TIMEOUT = 15.0
WRITE_TIMEOUT = 60.0
STDERR_KEEP = 4096
_READ_CHUNK = 65536


class GitResult(msgspec.Struct, frozen=True):
    """What a finished command produced. ``stdout`` is empty when a sink consumed it."""

    returncode: int
    stdout: bytes
    stderr: str


class Git:
    """A configured way to run git. Thread-safe: holds no per-command state.

    ``env`` is the environment to take the allowlisted variables from (default: the
    daemon's own ``os.environ``). Timeouts are seconds per command. ``umask`` is git's
    file-creation mask (``None``: this process's own): git writes the user's files (a
    lane's checkout, a merge into their checkout), so the daemon passes the user's
    mask, not its private one.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, str] | None = None,
        read_timeout: float = READ_TIMEOUT,
        write_timeout: float = WRITE_TIMEOUT,
        umask: int | None = None,
    ) -> None:
        source = os.environ if env is None else env
        self._base_env = {k: source[k] for k in PASSTHROUGH_ENV if k in source}
        self._base_env.update(FIXED_ENV)
        self.read_timeout = read_timeout
        self.write_timeout = write_timeout
        self.umask = umask

    def executable(self) -> str:
        """The git executable on this environment's PATH, or ``GitUnavailable``."""
        found = shutil.which("git", path=self._base_env.get("PATH", os.defpath))
        if found is None:
            raise GitUnavailable("git was not found on the daemon's PATH")
        return found

    def run(
        self,
        args: Sequence[str],
        *,
        cwd: str | Path,
        write: bool = False,
        ok: Collection[int] = (0,),
        timeout: float | None = None,
        extra_env: Mapping[str, str] | None = None,
        input: bytes | None = None,
        sink: Callable[[bytes], None] | None = None,
    ) -> GitResult:
        """Run ``git <args>`` in ``cwd`` and return its result.

        ``write`` says the command may change a repository (it then gets the longer
        write timeout and optional locks stay on). With ``sink``, stdout is handed over
        chunk by chunk instead of collected, so a caller can bound what it keeps.
        """
        env = dict(self._base_env)
        if not write:
            env["GIT_OPTIONAL_LOCKS"] = "0"
        if extra_env:
            env.update(extra_env)
        argv = [self.executable()]
        for item in SAFE_CONFIG:
            argv += ["-c", item]
        argv += list(args)
        limit = (
            timeout if timeout is not None else (self.write_timeout if write else self.read_timeout)
        )
        collected = bytearray()
        result = _execute(
            argv, str(cwd), env, limit, input, sink or collected.extend, args, self.umask
        )
        if result.returncode not in ok:
            raise _failure(args, result)
        return GitResult(result.returncode, bytes(collected), result.stderr)

    def version(self, *, cwd: str | Path = "/") -> tuple[int, ...]:
        """git's version as numbers, e.g. ``(2, 39, 5)``."""
        out = self.run(["version"], cwd=cwd).stdout.decode("ascii", "replace")
        match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
        if match is None:
            raise GitFailed(f"cannot read git's version from {out.strip()!r}")
        return tuple(int(part) for part in match.groups() if part is not None)


def _execute(
    argv: list[str],
    cwd: str,
    env: dict[str, str],
    limit: float,
    data: bytes | None,
    sink: Callable[[bytes], None],
    shown: Sequence[str],
    umask: int | None = None,
) -> GitResult:
    """Run argv with a deadline, feeding ``data`` and streaming stdout into ``sink``."""
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own group: a timeout kills hooks and filters too
            umask=-1 if umask is None else umask,
        )
    except FileNotFoundError as exc:
        # cwd missing, or the executable vanished between which() and exec.
        raise GitFailed(
            f"cannot run git in {cwd}: {exc.strerror}", {"command": _describe(shown)}
        ) from exc
    deadline = time.monotonic() + limit
    err = bytearray()
    pending = memoryview(data) if data is not None else None
    assert proc.stdout is not None and proc.stderr is not None
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ, "out")
        sel.register(proc.stderr, selectors.EVENT_READ, "err")
        if proc.stdin is not None:
            os.set_blocking(proc.stdin.fileno(), False)
            sel.register(proc.stdin, selectors.EVENT_WRITE, "in")
        try:
            while sel.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    _kill_group(proc)
                    raise GitTimeout(
                        f"git {_describe(shown)} did not finish within {limit:g} s",
                        {"command": _describe(shown), "timeoutSeconds": limit},
                    )
                for key, _ in sel.select(remaining):
                    if key.data == "in":
                        assert pending is not None and proc.stdin is not None
                        try:
                            written = os.write(proc.stdin.fileno(), pending[:_READ_CHUNK])
                        except BrokenPipeError:
                            written = len(pending)  # git stopped reading; its status says why
                        pending = pending[written:]
                        if not pending:
                            sel.unregister(proc.stdin)
                            proc.stdin.close()
                        continue
                    chunk = os.read(key.fd, _READ_CHUNK)
                    if not chunk:
                        sel.unregister(key.fileobj)
                    elif key.data == "out":
                        sink(chunk)
                    else:
                        err += chunk
                        del err[:-STDERR_KEEP]
            returncode = proc.wait(max(0.0, deadline - time.monotonic()) + 1.0)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise GitTimeout(
                f"git {_describe(shown)} did not exit within {limit:g} s",
                {"command": _describe(shown), "timeoutSeconds": limit},
            ) from None
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
    return GitResult(returncode, b"", err.decode("utf-8", "replace"))


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5.0)


def _describe(args: Sequence[str]) -> str:
    text = " ".join(args)
    return text if len(text) <= 200 else text[:197] + "..."


def _failure(args: Sequence[str], result: GitResult) -> GitFailed:
    tail = result.stderr.strip()
    lines = tail.splitlines()
    # git's own verdict ("fatal: ...", "error: ...") says more than its closing advice.
    verdicts = [line for line in lines if line.startswith(("fatal:", "error:"))]
    reason = (verdicts or lines or [f"exit status {result.returncode}"])[0]
    return GitFailed(
        f"git {_describe(args)} failed: {reason}",
        {"command": _describe(args), "exitCode": result.returncode, "stderr": tail},
    )
