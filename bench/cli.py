"""Whole-process timings of the ``coven`` commands people type, ours beside the reference's.

    .venv/bin/python bench/cli.py [--runs 20] [--starts 10] [--no-reference] [--out DIR]

Every figure is a fresh process timed from ``exec`` to exit (or to the moment
named), measured alternately for both implementations in one run, beside the
ceiling of a bare ``python -c pass`` measured in the same run. Wall time is what
a user feels; CPU time (user + system of the child) shows the work when the
machine is shared and wall time is noisy. Each row gives p50 and the p10-p90
spread. The fake codex of ``tests/fakes`` is the harness; nothing installed on
the machine is found.

First it compiles our package and its dependencies to bytecode, as an installer
does (a checkout run with ``PYTHONDONTWRITEBYTECODE`` never caches it, and then
every start recompiles everything and measures the compiler, not Coven).

Figures: ``--version``, ``--help``, ``sessions`` (table, not a terminal),
``sessions --json``, ``daemon status``, ``attach`` start-up (to the session's
screen on a real terminal), ``run`` with no daemon running (to the harness's
first output on the terminal), daemon start → health (``python -m coven.daemon``
directly and via ``coven daemon start``) and the idle daemon's RSS, with what
the interpreter and the daemon's libraries alone take, and the harness alone (its
own start to its first output on a terminal: the part of ``run`` no launcher saves).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import pty
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FAKES = REPO / "tests" / "fakes" / "bin"
REF_BIN = Path(os.environ.get("PEER_DIR", "/tmp/coven-reference")) / "coven"
PY = sys.executable
OURS = str(Path(PY).parent / "coven")
HEALTH = b"GET /api/v1/health HTTP/1.1\r\nHost: coven\r\nConnection: close\r\n\r\n"

Sample = tuple[float, float]  # (wall ms, cpu ms)


def log(msg: str) -> None:
    sys.stderr.write(f"[cli-bench {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def compile_bytecode() -> None:
    for tree in (REPO / "src", Path(sysconfig.get_paths()["purelib"])):
        compileall.compile_dir(str(tree), quiet=2, workers=0)


def timed(run: Callable[[], None]) -> Sample:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    run()
    wall = (time.perf_counter() - t0) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def command(argv: list[str], env: dict[str, str], cwd: str) -> Callable[[], None]:
    def run() -> None:
        subprocess.run(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )

    return run


def health_answers(sock_path: str) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(sock_path)
            sock.sendall(HEALTH)
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def wait_health(sock_path: str, budget: float = 30.0) -> None:
    deadline = time.monotonic() + budget
    while not health_answers(sock_path):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no health on {sock_path}")
        time.sleep(0.001)


def on_terminal_until(argv: list[str], env: dict[str, str], cwd: str, needle: bytes) -> Sample:
    """Run ``argv`` on a new pseudo-terminal; (wall, cpu) ms until ``needle`` appears on it."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the program
        os.chdir(cwd)
        os.execve(argv[0], argv, env)
    t0 = time.perf_counter()
    seen = b""
    wall = float("nan")
    try:
        while time.perf_counter() - t0 < 30:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if needle in seen:
                wall = (time.perf_counter() - t0) * 1000
                break
    finally:
        os.kill(pid, signal.SIGKILL)
        _, _, usage = os.wait4(pid, 0)
        os.close(fd)
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


class Impl:
    def __init__(self, name: str, binary: str | list[str], root: Path, env: dict[str, str]) -> None:
        self.name = name
        self.prefix = [binary] if isinstance(binary, str) else binary
        self.home = root / f"h-{name}"
        self.env = {**env, "COVEN_HOME": str(self.home)}
        self.sock = str(self.home / "coven.sock")

    def argv(self, *args: str) -> list[str]:
        return [*self.prefix, *args]

    def start(self, cwd: str) -> None:
        self.home.mkdir(mode=0o700, exist_ok=True)
        subprocess.run(
            self.argv("daemon", "start"),
            env=self.env,
            cwd=cwd,
            check=True,
            capture_output=True,
            timeout=60,
        )
        wait_health(self.sock)

    def stop(self, cwd: str) -> None:
        words = ["daemon", "stop", "--yes"] if self.name == "ours" else ["daemon", "stop"]
        subprocess.run(
            self.argv(*words),
            env=self.env,
            cwd=cwd,
            capture_output=True,
            timeout=60,
            check=False,
        )

    def launch(self, project: str, prompt: str) -> str:
        body = json.dumps({"projectRoot": project, "harness": "codex", "prompt": prompt}).encode()
        head = (
            f"POST /api/v1/sessions HTTP/1.1\r\nHost: coven\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(self.sock)
            sock.sendall(head + body)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        doc = json.loads(data.partition(b"\r\n\r\n")[2])
        record = doc.get("session", doc) if isinstance(doc, dict) else {}
        return str(record["id"])

    def daemon_pid(self) -> int:
        return int(json.loads((self.home / "daemon.json").read_text())["pid"])


def cpu_ms(pid: int) -> float:
    """CPU time (user + system) process ``pid`` has used so far, in ms (10 ms resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def import_rss(code: str, env: dict[str, str]) -> float:
    """RSS (MiB) of a python that ran ``code`` and then reports its own VmRSS."""
    probe = (
        code + "\nimport pathlib\nprint([l for l in pathlib.Path('/proc/self/status')"
        ".read_text().splitlines() if l.startswith('VmRSS:')][0].split()[1])"
    )
    out = subprocess.run([PY, "-c", probe], env=env, capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


def summary(samples: list[Sample]) -> dict[str, float]:
    def pick(index: int) -> dict[str, float]:
        values = sorted(s[index] for s in samples if s[index] == s[index])
        if not values:
            return {"p50": float("nan"), "p10": float("nan"), "p90": float("nan")}
        q = (
            statistics.quantiles(values, n=10, method="inclusive")
            if len(values) > 1
            else [values[0]] * 9
        )
        return {"p50": statistics.median(values), "p10": q[0], "p90": q[-1]}

    wall, cpu = pick(0), pick(1)
    return {
        "n": len(samples),
        **{f"wall_{k}": v for k, v in wall.items()},
        **{f"cpu_{k}": v for k, v in cpu.items()},
    }


def cell(stats: dict[str, float] | None, kind: str = "wall") -> str:
    if stats is None:
        return "n/a"
    p50, p10, p90 = stats[f"{kind}_p50"], stats[f"{kind}_p10"], stats[f"{kind}_p90"]
    if p50 != p50:
        return "n/a"
    return f"{p50:.1f} ({p10:.1f}-{p90:.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument(
        "--before",
        metavar="REV",
        help="also time the CLI and daemon of git revision REV (its src/ on PYTHONPATH)",
    )
    parser.add_argument("--out", default=str(HERE / "results"))
    args = parser.parse_args()
    with_ref = not args.no_reference and os.access(REF_BIN, os.X_OK)
    log("compiling bytecode")
    compile_bytecode()
    root = Path(tempfile.mkdtemp(prefix="cb-", dir="/tmp"))
    project = root / "p"
    project.mkdir()
    base_env = {
        "PATH": f"{FAKES}:{Path(PY).parent}:/usr/bin:/bin",
        "HOME": str(root),
        "LANG": "C.UTF-8",
        "FAKE_MODE": "echo",
        "TERM": "xterm",
    }
    impls = [Impl("ours", OURS, root, base_env)]
    before: Impl | None = None
    if args.before:
        old = root / "before"
        old.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(REPO), "archive", args.before, "src"], capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
        compileall.compile_dir(str(old / "src"), quiet=2, workers=0)
        before = Impl(
            "before",
            [
                PY,
                "-c",
                "import sys; from coven.cli.main import main; sys.argv[0] = 'coven'; main()",
            ],
            root,
            {**base_env, "PYTHONPATH": str(old / "src")},
        )
        before.home = impls[0].home  # the same daemon as ours: only the CLI differs
        before.env["COVEN_HOME"] = str(before.home)
        before.sock = impls[0].sock
    if with_ref:
        impls.append(Impl("ref", str(REF_BIN), root, base_env))
    clis = [*impls[:1], *([before] if before else []), *impls[1:]]
    results: dict[str, dict[str, dict[str, float] | None]] = {}
    cwd = str(project)

    def measure(label: str, runs: dict[str, Callable[[], Sample]], n: int) -> None:
        samples: dict[str, list[Sample]] = {name: [] for name in runs}
        for _ in range(n):
            for name, run in runs.items():  # alternating, so load hits both alike
                samples[name].append(run())
        results[label] = {name: summary(s) for name, s in samples.items()}
        log(f"{label}: " + ", ".join(f"{k} {cell(v)}" for k, v in results[label].items()))

    bare = {"bare": lambda: timed(command([PY, "-c", "pass"], base_env, cwd))}
    measure("bare `python -c pass`", bare, args.runs)
    # The floors under the slow figures: what importing the libraries alone costs, the
    # way the daemon imports them (aiohttp without the system CA store, which it does
    # not use: coven.trust_store; the cyclic collector off: coven.daemon.frozen); and
    # what attach's first screen imports (the standard library's socket, json, select
    # and termios modules: coven.cli.attach_prelude).
    no_cas = {**base_env, "SSL_CERT_FILE": os.devnull, "SSL_CERT_DIR": os.devnull}
    for label, code in (
        (
            "ceiling: import the daemon's libraries",
            "import gc; gc.disable(); import aiohttp.web, msgspec, uvloop, sqlite3",
        ),
        (
            "ceiling: import attach's first-screen modules",
            "import socket, json, select, termios, tty, signal, re, base64, hashlib, enum",
        ),
    ):
        imports = {"bare": lambda code=code: timed(command([PY, "-c", code], no_cas, cwd))}
        measure(label, imports, args.runs)
    try:
        for impl in impls:
            impl.start(cwd)
            for i in range(3):
                impl.launch(cwd, f"bench session {i}")
        for label, words in (
            ("--version", ["--version"]),
            ("--help", ["--help"]),
            ("sessions (table)", ["sessions"]),
            ("sessions --json", ["sessions", "--json"]),
            ("daemon status", ["daemon", "status"]),
        ):
            runs = {
                impl.name: (
                    lambda impl=impl, words=words: timed(command(impl.argv(*words), impl.env, cwd))
                )
                for impl in clis
            }
            measure(label, runs, args.runs)
        ours = impls[0]
        session = ours.launch(cwd, "attach target")
        time.sleep(0.5)
        measure(
            "attach start-up (to the screen)",
            {
                impl.name: lambda impl=impl: on_terminal_until(  # type: ignore[misc]
                    impl.argv("attach", session, "--read-only"), impl.env, cwd, b"ready"
                )
                for impl in clis
                if impl.name != "ref"
            },
            args.runs,
        )
        rss: dict[str, float] = {}
        for impl in impls:
            impl.stop(cwd)
            impl.start(cwd)
            time.sleep(1.0)
            rss[impl.name] = rss_mib(impl.daemon_pid())
            impl.stop(cwd)
        rss["python, nothing imported"] = import_rss("pass", base_env)
        rss["python + aiohttp.web, msgspec, uvloop, sqlite3"] = import_rss(
            "import aiohttp.web, msgspec, uvloop, sqlite3", base_env
        )
        # The API too: the daemon imports it last (after a handed-over launch).
        rss["python + the daemon's modules (imported, not serving)"] = import_rss(
            "from coven.trust_store import no_trust_store\n"
            "with no_trust_store(): import coven.daemon.serve, coven.api.app, uvloop",
            base_env,
        )
        starts: dict[str, Callable[[], Sample]] = {}

        def fresh(impl: Impl) -> Impl:
            shutil.rmtree(impl.home, ignore_errors=True)
            impl.home.mkdir(mode=0o700)
            return impl

        def direct_start(env: dict[str, str]) -> Sample:
            impl = fresh(ours)
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [PY, "-m", "coven.daemon", "--home", str(impl.home)],
                env={**env, "COVEN_HOME": str(impl.home)},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            wait_health(impl.sock)
            wall = (time.perf_counter() - t0) * 1000
            cpu = cpu_ms(proc.pid)
            proc.terminate()
            proc.wait()
            return wall, cpu

        def cli_start(impl: Impl) -> Sample:
            fresh(impl)
            t0 = time.perf_counter()
            subprocess.run(
                impl.argv("daemon", "start"),
                env=impl.env,
                cwd=cwd,
                capture_output=True,
                check=True,
                timeout=60,
            )
            wait_health(impl.sock)
            wall = (time.perf_counter() - t0) * 1000
            cpu = cpu_ms(impl.daemon_pid())  # the daemon's own, not the starting command's
            impl.stop(cwd)
            return wall, cpu

        starts["ours (python -m coven.daemon)"] = lambda: direct_start(ours.env)
        if before is not None:
            starts["before (python -m coven.daemon)"] = lambda: direct_start(before.env)
        for impl in impls:
            starts[f"{impl.name} (coven daemon start)"] = lambda impl=impl: cli_start(impl)
        measure("daemon start -> health", starts, args.starts)

        def run_cold() -> Sample:
            impl = fresh(ours)
            sample = on_terminal_until(
                impl.argv("run", "codex", "--", "hello"), impl.env, cwd, b"FAKE[codex]"
            )
            impl.stop(cwd)
            return sample

        measure("run, no daemon -> first output", {"ours": run_cold}, args.starts)
        # What no launcher can save: the harness's own start to its first output, on a
        # terminal of its own (the same fake codex, as the daemon would exec it).
        codex = [str(FAKES / "codex"), "--", "hello"]
        alone = {"bare": lambda: on_terminal_until(codex, base_env, cwd, b"FAKE[codex]")}
        measure("ceiling: the harness alone, exec -> first output", alone, args.starts)
    finally:
        for impl in impls:
            impl.stop(cwd)
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    doc = {
        "commit": commit,
        "nproc": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "runs": args.runs,
        "starts": args.starts,
        "results": results,
        "rss_mib": rss,
    }
    out = Path(args.out) / "raw"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"{stamp}-cli.json").write_text(json.dumps(doc, indent=2))
    print(render(doc))
    return 0


def render(doc: dict[str, object]) -> str:
    results = doc["results"]
    assert isinstance(results, dict)
    bare = results["bare `python -c pass`"]["bare"]
    lines = [
        f"`python bench/cli.py --runs {doc['runs']} --starts {doc['starts']}` - commit "
        f"{doc['commit']}, nproc={doc['nproc']}, loadavg {doc['loadavg'][0]:.2f} "
        f"(at the end). Whole process, ms: p50 (p10-p90). Bare `python -c pass` in the same "
        f"run: wall {cell(bare)}, CPU {cell(bare, 'cpu')}.",
        "",
        "| figure | ours wall | ours CPU | before wall | before CPU | reference wall "
        "| reference CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, row in results.items():
        if label.startswith("bare"):
            continue
        if label.startswith("ceiling"):
            floor = row["bare"]
            lines.append(f"| {label} | {cell(floor)} | {cell(floor, 'cpu')} |  |  |  |  |")
            continue
        if label == "daemon start -> health":
            for name, stats in row.items():
                cells = {"ours": " | ", "before": " | ", "ref": " | "}
                cells[name.split()[0]] = f"{cell(stats)} | {cell(stats, 'cpu')}"
                lines.append(
                    f"| start -> health, {name} (CPU: the daemon's) | {cells['ours']} | "
                    f"{cells['before']} | {cells['ref']} |"
                )
            continue
        ours, old, ref = row.get("ours"), row.get("before"), row.get("ref")
        lines.append(
            f"| {label} | {cell(ours)} | {cell(ours, 'cpu')} | {cell(old)} | {cell(old, 'cpu')} "
            f"| {cell(ref)} | {cell(ref, 'cpu')} |"
        )
    rss = doc["rss_mib"]
    assert isinstance(rss, dict)
    lines += ["", "| idle RSS [MiB] | value |", "|---|---|"]
    lines += [f"| {name} | {value:.1f} |" for name, value in rss.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
