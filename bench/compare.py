"""Side-by-side benchmark: our daemon vs the reference Rust implementation.

    .venv/bin/python bench/compare.py [--quick] [--repeat N] [--out DIR]

For each of N repetitions, alternating which daemon goes first, it runs our
API driver ``bench/driver.py`` (as a subprocess) against both daemons, then our extra measurements (attach-stream keystroke echo, CLI
latency) on a fresh daemon of each, with the PTY ceilings (``bench/limits.py``)
between reps; after the reps, ``bench/cli.py`` (commands, daemon start-up and idle
RSS beside their ceilings; ``--no-cli`` skips it). It writes ``DIR/raw/*.json`` (every run),
``DIR/latest.json`` (aggregates) and ``DIR/latest.md`` (the comparison table).

``--bench-tool PATH`` (or ``COVEN_BENCH_TOOL``) swaps in another driver with
the same interface. The reference is installed with ``bench/install-reference.sh``
when ``/tmp/coven-reference/coven`` is missing. For a quick look at our daemon
alone, use ``bench/quick.py``. See bench/README.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
INSTALL_REF = HERE / "install-reference.sh"
DRIVER = HERE / "driver.py"
REF_BIN = Path(os.environ.get("PEER_DIR", "/tmp/coven-reference")) / "coven"

sys.path.insert(0, str(HERE))
import extras  # noqa: E402
import limits  # noqa: E402
import report  # noqa: E402

LIMIT_MIB = 64
LIMIT_NAMES = {
    "pty_minimal": "limit: PTY drain, minimal blocking reader, nothing stored [MiB/s]",
    "recorder": "limit: minimal lossless recorder (reader thread + SQLite) [MiB/s]",
    "recorder4": "limit: minimal lossless recorder, 4 sessions at once (aggregate) [MiB/s]",
    "relayed4": "limit: the same, 4 sessions, each through a relay process (the holders' hop) "
    "[MiB/s]",
}


@dataclass(frozen=True)
class Impl:
    """How to start, stop and query one daemon implementation."""

    name: str
    start: str
    stop: str
    cli_sessions: list[str]


def log(msg: str) -> None:
    sys.stderr.write(f"[compare {time.strftime('%H:%M:%S')}] {msg}\n")
    sys.stderr.flush()


def daemon_python() -> str:
    """The python that runs our daemon: this one if it can import coven, else the repo venv's."""
    probe = subprocess.run(
        [sys.executable, "-c", "import coven.daemon"], capture_output=True, check=False
    )
    if probe.returncode == 0:
        return sys.executable
    return str(REPO / ".venv" / "bin" / "python")


def our_impl(args: argparse.Namespace) -> Impl:
    py = daemon_python()
    coven = str(Path(py).parent / "coven")
    stop_by_pid = f"{shlex.quote(py)} -c " + shlex.quote(
        "import json,os,signal;"
        "os.kill(json.load(open(os.environ['COVEN_HOME']+'/daemon.json'))['pid'],"
        "signal.SIGTERM)"
    )
    start = f'exec {shlex.quote(py)} -m coven.daemon --home "$COVEN_HOME"'
    stop = stop_by_pid
    if args.ours_cli_daemon and cli_has_daemon(coven):
        start, stop = f"{shlex.quote(coven)} daemon start", f"{shlex.quote(coven)} daemon stop"
    return Impl(
        "ours",
        args.ours_start or start,
        args.ours_stop or stop,
        [coven, "sessions", "--json"],
    )


def ref_impl() -> Impl:
    b = shlex.quote(str(REF_BIN))
    return Impl(
        "ref", f"{b} daemon start", f"{b} daemon stop", [str(REF_BIN), "sessions", "--json"]
    )


def cli_has_daemon(coven: str) -> bool:
    try:
        p = subprocess.run(
            [coven, "daemon", "--help"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0


def ensure_reference() -> None:
    if os.access(REF_BIN, os.X_OK):
        return
    log(f"installing the reference with {INSTALL_REF}")
    subprocess.run(["sh", str(INSTALL_REF)], check=True)


def make_bench(cb: Any, impl: Any, *, quick: bool) -> Any:
    """A driver ``Bench`` for ``impl`` with the settings every tool here uses."""
    ns = argparse.Namespace(
        start=impl.start,
        stop=impl.stop,
        quick=quick,
        harness="codex",
        tmp="/tmp",
        keep=False,
        ready_sleep=900,
        poll_interval=0.001,
    )
    return cb.Bench(ns)


def bench_tool() -> Path:
    """The API driver: ours, unless ``COVEN_BENCH_TOOL`` (or ``--bench-tool``) names another."""
    named = os.environ.get("COVEN_BENCH_TOOL", "")
    if not named:
        return DRIVER
    if not Path(named).is_file():
        raise SystemExit(f"COVEN_BENCH_TOOL / --bench-tool names no file: {named}")
    return Path(named)


def load_bench_tool() -> ModuleType:
    path = bench_tool()
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_bench_tool(impl: Impl, out: Path, args: argparse.Namespace, rep: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        str(bench_tool()),
        "--start",
        impl.start,
        "--stop",
        impl.stop,
        "--out",
        str(out),
        "--label",
        f"{impl.name} rep {rep}",
    ]
    if args.quick:
        cmd.append("--quick")
    if args.scenarios:
        cmd += ["--scenarios", args.scenarios]
    if args.list_sessions:
        cmd += ["--list-sessions", str(args.list_sessions)]
    if args.concurrent_sessions:
        cmd += ["--concurrent-sessions", str(args.concurrent_sessions)]
    log(f"{impl.name} rep {rep}: {bench_tool().name} -> {out}")
    with open(out.with_suffix(".log"), "wb") as logf:
        p = subprocess.run(cmd, stdout=logf, stderr=subprocess.STDOUT, timeout=3600, check=False)
    if p.returncode != 0 or not out.exists():
        log(f"{impl.name} rep {rep}: {bench_tool().name} failed rc={p.returncode}")
        return {}
    data: dict[str, Any] = json.loads(out.read_text())
    return data


FLOOR = (
    "import http.client,os,socket\n"
    "s=socket.socket(socket.AF_UNIX);s.connect(os.environ['COVEN_HOME']+'/coven.sock')\n"
    "c=http.client.HTTPConnection('localhost');c.sock=s\n"
    "c.request('GET','/api/v1/sessions');r=c.getresponse();r.read()\n"
    "raise SystemExit(0 if r.status==200 else 1)\n"
)


def run_extras(cb: ModuleType, impl: Impl, args: argparse.Namespace) -> dict[str, Any]:
    """Attach echo and CLI latency on a fresh daemon of ``impl`` (fresh work dir)."""
    bench = make_bench(cb, impl, quick=args.quick)
    out: dict[str, Any] = {}
    try:
        d = cb.Daemon(bench, f"extras-{impl.name}")
        d.start()
        try:
            n = 50 if args.quick else 200
            try:
                out["attach_echo"] = extras.attach_echo(cb, bench, d, n)
            except cb.Unsupported as e:
                out["attach_echo"] = {"unsupported": str(e)[:200]}
            except Exception as e:  # a failed extra is reported, not fatal
                out["attach_echo"] = {"error": f"{type(e).__name__}: {e}"[:400]}
            reps = 10 if args.quick else 20
            out["cli_sessions_json"] = extras.cli_latency(bench, d, impl.cli_sessions, reps)
            floor = [daemon_python(), "-c", FLOOR]
            out["cli_floor_python_http"] = extras.cli_latency(bench, d, floor, reps, sessions=0)
        finally:
            d.stop()
    except Exception:  # reported in the JSON, not fatal
        out["error"] = traceback.format_exc()[-1500:]
    finally:
        bench.cleanup()
    return out


def figures_from_extras(x: dict[str, Any]) -> report.Figures:
    f: report.Figures = {}
    ae = x.get("attach_echo", {})
    if "roundtrip" in ae and ae["roundtrip"].get("n"):
        f["input: attach input->echo p50 [ms]"] = ae["roundtrip"]["p50"]
        f["input: attach input->echo p99 [ms]"] = ae["roundtrip"]["p99"]
        f["input: attach input->echo lost [tokens]"] = float(ae["lost"])
    elif "roundtrip" in ae:
        f["input: attach input->echo p50 [ms]"] = f"all lost ({ae['lost']}/{ae['sent']})"
    else:
        f["input: attach input->echo p50 [ms]"] = (
            "n/a (no attach route)" if "unsupported" in ae else "error"
        )
    for key, label in (
        ("cli_sessions_json", "cli: coven sessions --json"),
        ("cli_floor_python_http", "cli: floor, fresh python + http.client GET /sessions"),
    ):
        c = x.get(key)
        if not c:
            continue
        lat = c["latency"]
        if lat.get("n"):
            f[f"{label} p50 [ms]"] = lat["p50"]
            f[f"{label} p99 [ms]"] = lat["p99"]
        else:
            f[f"{label} p50 [ms]"] = "failed (see raw JSON)"
    return f


def load_raw(raw: Path, stamp: str, name: str) -> list[report.Figures]:
    """Figures of every stored rep of ``name`` from an earlier run."""
    runs: list[report.Figures] = []
    rep = 0
    while (path := raw / f"{stamp}-{name}-{rep}.json").exists():
        f = report.figures_from_bench(json.loads(path.read_text()))
        extras_path = raw / f"{stamp}-{name}-{rep}-extras.json"
        if extras_path.exists():
            f.update(figures_from_extras(json.loads(extras_path.read_text())))
        runs.append(f)
        rep += 1
    return runs


def run_limits(blob: Path) -> report.Figures:
    """The PTY ceilings once, on the output scenario's blob size (a few seconds)."""
    out: report.Figures = {}
    for name, fn in (
        ("pty_minimal", limits.pty_minimal),
        ("recorder", limits.recorder),
        ("recorder4", limits.recorder4),
        ("relayed4", limits.relayed4),
    ):
        dt, got = fn(blob)
        out[LIMIT_NAMES[name]] = round(got / limits.MIB / dt, 1)
    return out


def run_cli(out: Path, args: argparse.Namespace) -> str:
    """``bench/cli.py``'s table (whole-process command timings, daemon start -> health and
    idle RSS with the ceilings under them); "" if it failed (logged)."""
    runs, starts = ("5", "3") if args.quick else ("20", "10")
    cmd = [daemon_python(), str(HERE / "cli.py"), "--runs", runs, "--starts", starts]
    cmd += ["--out", str(out)] + ([] if args.only == "both" else ["--no-reference"])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=1800)
    if proc.returncode != 0:
        log(f"bench/cli.py failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
        return ""
    return proc.stdout.strip()


def tree_state() -> str:
    """The commit under test and whether the tree had local changes (others edit it live)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--", "src"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        return "unknown commit"
    return f"commit {head or '?'}{' + uncommitted changes in src/' if dirty else ''}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick", action="store_true", help="the driver's --quick sizes (a few min per rep)"
    )
    ap.add_argument("--repeat", type=int, default=3, help="repetitions per daemon (alternating)")
    ap.add_argument(
        "--bench-tool",
        default="",
        help="another driver instead of bench/driver.py (or COVEN_BENCH_TOOL)",
    )
    ap.add_argument("--out", default=str(HERE / "results"), help="output directory")
    ap.add_argument("--only", choices=("both", "ours", "ref"), default="both")
    ap.add_argument("--scenarios", default="", help="passed to the driver (default all)")
    ap.add_argument("--list-sessions", type=int, default=0, help="sessions for the list scenario")
    ap.add_argument(
        "--concurrent-sessions",
        type=int,
        default=0,
        help="live sessions for the concurrency scenario",
    )
    ap.add_argument("--no-extras", action="store_true")
    ap.add_argument(
        "--no-cli",
        action="store_true",
        help="skip the commands and start-up run (bench/cli.py) after the reps",
    )
    ap.add_argument(
        "--no-limits", action="store_true", help="skip the PTY ceilings run between reps"
    )
    ap.add_argument(
        "--from-raw",
        default="",
        metavar="STAMP",
        help="do not run anything: re-render the table from DIR/raw/STAMP-*.json",
    )
    ap.add_argument("--ours-start", default="", help="override our start command")
    ap.add_argument("--ours-stop", default="", help="override our stop command")
    ap.add_argument(
        "--ours-cli-daemon",
        action="store_true",
        help="start/stop ours with `coven daemon start/stop` (default: the module)",
    )
    args = ap.parse_args(argv)
    if args.bench_tool:
        os.environ["COVEN_BENCH_TOOL"] = args.bench_tool
    if args.repeat < 1:
        ap.error("--repeat must be ≥ 1")

    out = Path(args.out)
    raw = out / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    impls = []
    if args.only in ("both", "ours"):
        impls.append(our_impl(args))
    if args.only in ("both", "ref"):
        if not args.from_raw:
            ensure_reference()
        impls.append(ref_impl())
    cb = load_bench_tool()
    stamp = args.from_raw or time.strftime("%Y%m%d-%H%M%S")
    figs: dict[str, list[report.Figures]] = {i.name: [] for i in impls}
    figs["limits"] = []
    scratch = tempfile.TemporaryDirectory(prefix="covlim")
    blob = Path(scratch.name) / "blob"
    if not args.from_raw and not args.no_limits:
        limits.make_blob(blob, LIMIT_MIB)
    t0 = time.perf_counter()
    tree_at_start = tree_state()
    if args.from_raw:
        for impl in impls:
            figs[impl.name] = load_raw(raw, stamp, impl.name)
        limits_path = raw / f"{stamp}-limits.json"
        if limits_path.exists():
            figs["limits"] = json.loads(limits_path.read_text())
        args.repeat = max(len(v) for v in figs.values())
    for rep in range(0 if args.from_raw else args.repeat):
        order = impls if rep % 2 == 0 else list(reversed(impls))
        for impl in order:
            js = run_bench_tool(impl, raw / f"{stamp}-{impl.name}-{rep}.json", args, rep)
            f = report.figures_from_bench(js) if js else {}
            if not args.no_extras:
                log(f"{impl.name} rep {rep}: extras")
                x = run_extras(cb, impl, args)
                (raw / f"{stamp}-{impl.name}-{rep}-extras.json").write_text(json.dumps(x, indent=2))
                f.update(figures_from_extras(x))
            figs[impl.name].append(f)
        if not args.no_limits:
            log(f"rep {rep}: PTY ceilings")
            figs["limits"].append(run_limits(blob))
            (raw / f"{stamp}-limits.json").write_text(json.dumps(figs["limits"], indent=2))
    scratch.cleanup()
    startup = ""
    if not args.from_raw and not args.no_cli:
        log("commands and start-up: bench/cli.py")
        startup = run_cli(out, args)
    elapsed = time.perf_counter() - t0
    agg = {name: report.aggregate(runs) for name, runs in figs.items()}
    cmdline = "python bench/compare.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    header = (
        f"# Coven benchmarks: ours vs reference\n\n"
        f"`{cmdline}` — {tree_at_start} (at the end: {tree_state()}); {args.repeat} rep(s) each, alternating, "
        f"{'quick' if args.quick else 'full'} sizes; {time.strftime('%Y-%m-%d %H:%M')}, "
        f"nproc={os.cpu_count()}, loadavg at end {os.getloadavg()[0]:.2f}, took {elapsed / 60:.1f} min.\n"
        f"Median (min-max over reps). Ratio = ours / reference (for rates higher is better, "
        f"for times and sizes lower is better). Raw JSON: `{raw}/{stamp}-*`."
    )
    md = report.markdown(agg.get("ours", {}), agg.get("ref", {}), header)
    md += report.ceilings_markdown(agg.get("limits", {}), agg.get("ours", {}))
    if startup:
        md += (
            "\n\nCommands and start-up, beside their ceilings (a bare interpreter, the daemon's "
            "libraries imported, the harness alone), measured in this run after the reps:\n\n"
            + startup
            + "\n"
        )
    (out / "latest.md").write_text(md)
    (out / "latest.json").write_text(
        json.dumps(
            {"cmdline": cmdline, "stamp": stamp, "runs": figs, "seconds": round(elapsed, 1)},
            indent=2,
        )
    )
    print(md)
    log(f"wrote {out / 'latest.md'} ({elapsed / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
