"""``coven doctor``: read-only diagnostics of the home, daemon, harnesses and manifests.

Doctor never starts the daemon, never creates or repairs files, never runs a
harness and never reads a harness's credentials: harness availability is a
PATH lookup for an executable file, made by the daemon's offline ``adapters``
command with doctor's environment (the one a daemon started here would get). Each finding is a ``Check`` with a status:

* ``pass`` (prose ``[OK]``), ``warn`` (``[--]``, advisory), ``fail`` (``[!!]``, blocking).

The exit status is 1 exactly when some check fails: an unsafe home or socket,
a stale or incompatible daemon, a broken adapter manifest, or no harness at all.
A stopped daemon and individual missing harnesses are warnings.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

import msgspec

from coven.cli.daemonctl import DaemonControlError, daemon_tool
from coven.cli.doctor_findings import Check, DoctorReport, Section, Status
from coven.client import (
    ApiVersionMismatch,
    CovenClient,
    CovenClientError,
    DaemonNotRunning,
    DaemonUnsafe,
    TransportError,
    UnixTransport,
)
from coven.schema.adapters import AdapterReport, AdapterStatus
from coven.schema.home import HomePaths, default_home
from coven.schema.notify import NOTIFY_FILE, NotifyConfigError, parse_notify_config

_MARKS: dict[Status, str] = {"pass": "[OK]", "warn": "[--]", "fail": "[!!]"}
_SECTION_TITLES: dict[Section, str] = {
    "store": "Store home:",
    "daemon": "Daemon:",
    "harnesses": "Harnesses:",
    "manifests": "Adapter manifests:",
    "project": "Project:",
}
_SAMPLE_TASK = '"explain this repo in 5 bullets"'
_HEALTH_TIMEOUT = 2.0
_BUILTIN_ORDER = ("codex", "claude")
_DEMO = "demo"  # the bundled adapter `coven adapter install` offers


# ----------------------------------------------------------------------------- entry point


def run_doctor(
    json_output: bool,
    *,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
) -> int:
    """Print the doctor report (prose, or JSON with ``json_output``) and return the exit status.

    ``env`` defaults to ``os.environ`` (it supplies ``PATH``, ``COVEN_HOME`` and
    the manifest variables); ``home`` defaults to the home ``env`` names. The
    return value is 1 when something blocks, else 0. Nothing is written to disk.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    store = Path(os.path.abspath(home)) if home is not None else default_home(environ)
    report = diagnose(store, environ)
    stream = sys.stdout if out is None else out
    stream.write(render_json(report) if json_output else render_prose(report))
    stream.flush()
    return 1 if report.blocking else 0


def diagnose(store: Path, env: Mapping[str, str]) -> DoctorReport:
    """Run every check against ``store`` and ``env``; no side effects."""
    report = DoctorReport(store=store, project=_project())
    paths = HomePaths(store)
    home = check_home(store)
    report.checks.append(home)
    if home.status == "fail" and (os.path.islink(store) or not os.path.isdir(store)):
        # Nothing can be served from a home that is not a real directory: say so once.
        report.checks.append(
            Check("socket", "warn", "not checked: the Coven home is unusable", "daemon")
        )
        daemon = Check(
            "daemon",
            "warn",
            "not running (no daemon can serve an unusable home)",
            "daemon",
            hint="fix the Coven home named above",
        )
    else:
        report.checks.append(check_socket(paths.socket))
        daemon = check_daemon(paths)
    report.checks.append(daemon)
    adapters = adapter_report(store, env)
    statuses = adapters.adapters
    report.checks.extend(check_harnesses(statuses))
    report.checks.extend(check_manifests(adapters))
    report.checks.append(
        Check("project", "pass", str(report.project), "project")
        if report.project is not None
        else Check(
            "project",
            "warn",
            "the current directory is unavailable (was it deleted?)",
            "project",
            hint="cd into your project before running `coven run`",
        )
    )
    notify = check_notify(store)
    if notify is not None:
        report.checks.append(notify)
    report.next_steps = next_steps(statuses, daemon)
    return report


# ----------------------------------------------------------------------------- checks


def check_notify(home: Path) -> Check | None:
    """``notify.toml`` (only when present): a usable webhook URL, or why notifications
    go to the desktop only."""
    path = home / NOTIFY_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Check("notify", "warn", f"{path} cannot be read: {_os_reason(path, exc)}", "daemon")
    try:
        parse_notify_config(data, str(path))
    except NotifyConfigError as exc:
        return Check(
            "notify",
            "warn",
            str(exc),
            "daemon",
            hint="webhook notifications are off until it is fixed; desktop ones still work",
        )
    return Check("notify", "pass", f"webhook notifications configured in {path}", "daemon")


def check_home(home: Path) -> Check:
    """The home must be a real directory, ours, mode 0700. Missing is fine (made on first use)."""
    try:
        st = os.lstat(home)
    except FileNotFoundError:
        return Check(
            "store",
            "warn",
            f"{home} does not exist yet; it is created (0700) on first use",
            "store",
        )
    except OSError as exc:
        return Check(
            "store",
            "fail",
            f"{home} cannot be used: {_os_reason(home, exc)}",
            "store",
            hint="point COVEN_HOME at a directory you own",
        )
    problem: str | None = None
    hint: str | None = None
    if stat.S_ISLNK(st.st_mode):
        problem = f"{home} is a symlink; Coven refuses a symlinked home"
        hint = "point COVEN_HOME at a real directory"
    elif not stat.S_ISDIR(st.st_mode):
        problem = f"{home} is not a directory"
        hint = "remove it or point COVEN_HOME elsewhere"
    elif st.st_uid != os.geteuid():
        problem = f"{home} is owned by uid {st.st_uid}, not by you (uid {os.geteuid()})"
        hint = "point COVEN_HOME at a directory you own"
    elif stat.S_IMODE(st.st_mode) != 0o700:
        problem = (
            f"{home} has mode {stat.S_IMODE(st.st_mode):04o}; it must be 0700 (private to you)"
        )
        hint = f"run: chmod 700 {home}"
    if problem is not None:
        return Check("store", "fail", problem, "store", hint=hint)
    return Check("store", "pass", f"{home} is private (0700, owned by you)", "store")


def _os_reason(path: Path, exc: OSError) -> str:
    """Why ``path`` cannot be looked at, naming an ancestor that is not a directory."""
    if exc.errno == errno.ENOTDIR:
        for parent in path.parents:
            if os.path.lexists(parent) and not os.path.isdir(parent):
                return f"{parent} is not a directory"
    return exc.strerror or str(exc)


def check_socket(socket_path: Path) -> Check:
    """A present socket must be a socket, ours, without group/other bits."""
    try:
        st = os.lstat(socket_path)
    except FileNotFoundError:
        return Check("socket", "warn", f"no socket at {socket_path}", "daemon")
    except OSError as exc:
        return Check("socket", "fail", f"cannot inspect {socket_path}: {exc.strerror}", "daemon")
    hint = f"stop the daemon and remove {socket_path}"
    if stat.S_ISLNK(st.st_mode):
        return Check("socket", "fail", f"{socket_path} is a symlink", "daemon", hint=hint)
    if not stat.S_ISSOCK(st.st_mode):
        return Check("socket", "fail", f"{socket_path} is not a socket", "daemon", hint=hint)
    if st.st_uid != os.geteuid():
        return Check(
            "socket", "fail", f"{socket_path} is owned by uid {st.st_uid}", "daemon", hint=hint
        )
    if stat.S_IMODE(st.st_mode) & 0o077:
        mode = stat.S_IMODE(st.st_mode)
        return Check(
            "socket",
            "fail",
            f"{socket_path} has mode {mode:04o}; expected 0600",
            "daemon",
            hint=hint,
        )
    return Check("socket", "pass", f"{socket_path} is private (0600)", "daemon")


def check_daemon(paths: HomePaths) -> Check:
    """Running (health answers), not running, or stale (recorded pid alive, no answer)."""
    recorded_pid = _recorded_pid(paths.status_file)
    client = CovenClient(UnixTransport(paths.socket, timeout=_HEALTH_TIMEOUT))
    try:
        health = client.handshake()
    except (DaemonNotRunning, TransportError) as exc:
        reason = str(exc)
    except DaemonUnsafe as exc:
        return Check(
            "daemon",
            "fail",
            f"refusing to talk to the daemon: {exc}",
            "daemon",
            hint="fix the permissions named above, then run: coven daemon restart",
        )
    except ApiVersionMismatch as exc:
        return Check(
            "daemon",
            "fail",
            f"the daemon on {paths.socket} is not compatible: {exc}",
            "daemon",
            hint="run: coven daemon restart",
        )
    except CovenClientError as exc:
        reason = str(exc)
    else:
        info = health.daemon or {}
        pid = info.get("pid", recorded_pid)
        return Check("daemon", "pass", f"running (pid {pid}, socket {paths.socket})", "daemon")
    if recorded_pid is not None and _pid_alive(recorded_pid):
        return Check(
            "daemon",
            "fail",
            f"stale daemon record (pid {recorded_pid} is alive, socket {paths.socket} "
            "does not answer)",
            "daemon",
            hint="run: coven daemon restart",
        )
    del reason  # the exact socket error adds nothing for "not running"
    return Check(
        "daemon", "warn", "not running", "daemon", hint="run: coven daemon start (optional)"
    )


def adapter_report(store: Path, env: Mapping[str, str]) -> AdapterReport:
    """The harness registry as a daemon started with ``env`` would see it.

    Asked of the daemon's offline ``adapters`` command (no daemon needs to run);
    if even that cannot run, the report says so as a manifest problem.
    """
    try:
        _status, raw = daemon_tool(["adapters"], store, dict(env))
        return msgspec.json.decode(raw, type=AdapterReport)
    except (DaemonControlError, msgspec.DecodeError) as exc:
        return AdapterReport([], [], [f"cannot list adapters: {exc}"], 0)


def check_harnesses(statuses: list[AdapterStatus]) -> list[Check]:
    """One check per configured harness, then the overall ``harnesses`` check."""
    checks: list[Check] = []
    for status in statuses:
        origin = (
            "built-in adapter"
            if status.source == "builtin"
            else f"adapter manifest {status.manifestPath}"
        )
        if status.available:
            checks.append(
                Check(
                    f"harness:{status.id}",
                    "pass",
                    f"`{status.executable}` executable is available ({origin})",
                    "harnesses",
                    label=status.label,
                )
            )
        else:
            checks.append(
                Check(
                    f"harness:{status.id}",
                    "warn",
                    f"`{status.executable}` is missing ({origin})",
                    "harnesses",
                    hint=status.installHint,
                    label=status.label,
                )
            )
    available = sum(1 for status in statuses if status.available)
    if available:
        checks.append(
            Check(
                "harnesses",
                "pass",
                f"{available} of {len(statuses)} configured harness executables available",
                "harnesses",
            )
        )
    else:
        checks.append(
            Check(
                "harnesses",
                "fail",
                "no harness is available",
                "harnesses",
                hint="install codex or claude, or try the demo with "
                "`coven adapter install demo`, then rerun coven doctor",
            )
        )
    return checks


def check_manifests(adapters: AdapterReport) -> list[Check]:
    """Every manifest problem blocks (it names file and field); registry warnings advise."""
    checks = [
        Check(
            f"manifest:{problem.fileName}",
            "fail",
            problem.message,
            "manifests",
            hint="fix or remove the manifest, then rerun coven doctor",
        )
        for problem in adapters.problems
    ]
    checks.extend(
        Check("manifests:warning", "warn", text, "manifests") for text in adapters.warnings
    )
    if not checks:
        declared = adapters.manifestAdapters
        message = (
            f"{declared} manifest adapter(s) loaded, all valid"
            if declared
            else "no adapter manifests configured"
        )
        checks.append(Check("manifests", "pass", message, "manifests"))
    return checks


def next_steps(statuses: list[AdapterStatus], daemon: Check) -> list[str]:
    """What to type next; the demo adapter is offered when neither codex nor claude exists."""
    steps: list[str] = []
    if daemon.status == "fail" and daemon.hint:
        steps.append(daemon.hint.removeprefix("run: "))
    available = {status.id for status in statuses if status.available}
    real = [harness for harness in _BUILTIN_ORDER if harness in available]
    if real:
        steps.append(f"coven run {real[0]} {_SAMPLE_TASK}")
    else:
        steps.append("No real harness (codex, claude) found; try Coven with the demo harness:")
        if _DEMO not in available:
            steps.append(f"coven adapter install {_DEMO}")
        steps.append(f"coven run {_DEMO} {_SAMPLE_TASK}")
    steps.append("coven sessions")
    return steps


# ----------------------------------------------------------------------------- rendering


def render_prose(report: DoctorReport) -> str:
    """The human report: sections of ``[OK]``/``[--]``/``[!!]`` lines, no ANSI codes."""
    lines = ["Coven doctor", f"Store: {report.store}"]
    lines.append(
        f"Project: {report.project}"
        if report.project is not None
        else "Project: not inside a project directory"
    )
    width = max((len(check.label) for check in report.checks), default=0)
    for section, title in _SECTION_TITLES.items():
        if section == "project":
            continue  # already in the header
        checks = [check for check in report.checks if check.section == section]
        if not checks:
            continue
        lines.append("")
        lines.append(title)
        for check in checks:
            label = f"{check.label:<{width}}  " if check.label else ""
            lines.append(f"  {_MARKS[check.status]} {label}{check.message}")
            if check.hint and check.status != "pass":
                lines.append(f"       {check.hint}")
    lines.append("")
    lines.append("Next steps:")
    lines.extend(f"  {step}" for step in report.next_steps)
    if report.blocking:
        lines.append("")
        lines.append("Doctor found problems; review the failing checks above.")
    return "".join(f"{_escape_controls(line)}\n" for line in lines)


def render_json(report: DoctorReport) -> str:
    """The ``--json`` document: sorted keys, 2-space indent, paths in messages as role tokens.

    The envelope's ``store`` and ``project`` carry the real paths; inside
    messages and hints they read ``<coven-home>``, ``<daemon-socket>`` and
    ``<project>`` so the checks can be shared without exposing the layout.
    """
    tokens = {
        str(HomePaths(report.store).socket): "<daemon-socket>",
        str(report.store): "<coven-home>",
    }
    if report.project is not None:
        tokens[str(report.project)] = "<project>"
    doc = {
        "blocking": report.blocking,
        "checks": [check.to_json(tokens) for check in report.checks],
        "nextSteps": report.next_steps,
        "ok": not report.blocking,
        "project": None if report.project is None else str(report.project),
        "store": str(report.store),
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


# ----------------------------------------------------------------------------- helpers


def _project() -> Path | None:
    try:
        return Path(os.path.realpath(os.getcwd()))
    except OSError:
        return None


def _recorded_pid(status_file: Path) -> int | None:
    """The pid in ``daemon.json``, or ``None`` when absent, unreadable or not ours."""
    try:
        st = os.lstat(status_file)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid():
            return None
        doc = json.loads(status_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pid = doc.get("pid") if isinstance(doc, dict) else None
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
        return None
    return pid


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, but belongs to someone else
    return True


def _escape_controls(text: str) -> str:
    """Control characters (from paths, manifests, env) as ``\\u{..}`` so they cannot drive the terminal."""
    return "".join(
        f"\\u{{{ord(ch):x}}}" if (ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0) else ch for ch in text
    )
