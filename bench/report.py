"""Turn repeated driver runs (ours and the reference's) into one Markdown table.

A *figure* is one named number from one run. Figures come from the driver's
result table (``"<scenario>: <metric>"``), from a few of its details (the
paginated-list page p99) and from our extras. For each figure we keep every
run's value and report the median and the spread (min-max) over runs.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Figures = dict[str, float | str]

_PAIR = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*/\s*(-?\d+(?:\.\d+)?)\s*$")


def _num(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    return None


def figures_from_bench(js: dict[str, Any]) -> Figures:
    """Flatten one driver JSON into ``{figure name: value}``.

    "a/b" values are split: ``p50/p99`` and ``min/max`` pairs become two figures;
    ``stored/emitted`` becomes a percentage stored.
    """
    out: Figures = {}
    for row in js.get("table", []):
        sc, metric, value, unit = row[0], row[1], row[2], row[3]
        key = f"{sc}: {metric}"
        n = _num(value)
        if n is not None:
            out[f"{key} [{unit}]" if unit else key] = n
            continue
        m = _PAIR.match(str(value)) if isinstance(value, str) else None
        if m is None:
            out[key] = str(value)
            continue
        a, b = float(m.group(1)), float(m.group(2))
        if "stored/emitted" in metric:
            out[f"{sc}: {metric.replace('stored/emitted', 'stored')} [%]"] = (
                round(100.0 * a / b, 3) if b else float("nan")
            )
        elif "p50/p99" in metric:
            out[f"{sc}: {metric.replace('p50/p99', 'p50')} [{unit}]"] = a
            out[f"{sc}: {metric.replace('p50/p99', 'p99')} [{unit}]"] = b
        elif "min/max" in metric:
            out[f"{sc}: {metric.replace('min/max', 'min')} [{unit}]"] = a
            out[f"{sc}: {metric.replace('min/max', 'max')} [{unit}]"] = b
        else:
            out[key] = str(value)
    sc = js.get("scenarios", {})
    out_d = sc.get("output", {}).get("details", {})
    single = out_d.get("single", {}).get("verify", {})
    if "exact_match" in single:
        out["output: 1x stored text identical to emitted [1=yes]"] = float(single["exact_match"])
    per = out_d.get("concurrent", {}).get("per_session", [])
    if per:
        exact = all(p.get("verify", {}).get("exact_match") for p in per)
        out[f"output: {len(per)}x stored text identical to emitted [1=yes]"] = float(exact)
    trav = sc.get("list", {}).get("details", {}).get("paginated", {}).get("traversal", {})
    pl = trav.get("page_latency", {})
    if "p99" in pl:
        rows = trav.get("rows")
        out[f"list: page (limit=100) p50, {rows} sessions [ms]"] = float(pl["p50"])
        out[f"list: page (limit=100) p99, {rows} sessions [ms]"] = float(pl["p99"])
    return out


@dataclass(frozen=True)
class Stat:
    """Median and spread of one figure over runs; ``text`` holds a non-numeric value."""

    median: float | None
    lo: float | None
    hi: float | None
    n: int
    text: str | None = None

    def show(self) -> str:
        if self.median is None:
            return self.text or "n/a"
        if self.n == 1:
            return _fmt(self.median)
        return f"{_fmt(self.median)} ({_fmt(self.lo)}-{_fmt(self.hi)})"


def _fmt(v: float | None) -> str:
    if v is None:
        return "n/a"
    if v != v:  # NaN
        return "nan"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def aggregate(runs: list[Figures]) -> dict[str, Stat]:
    """Median/min/max per figure over the runs that have it (keys in first-seen order)."""
    keys: list[str] = []
    for r in runs:
        keys.extend(k for k in r if k not in keys)
    out: dict[str, Stat] = {}
    for k in keys:
        vals = [r[k] for r in runs if k in r]
        nums = [float(v) for v in vals if isinstance(v, (int, float))]
        if nums:
            out[k] = Stat(statistics.median(nums), min(nums), max(nums), len(nums))
        else:
            distinct = sorted({str(v) for v in vals})
            out[k] = Stat(None, None, None, len(vals), " / ".join(distinct))
    return out


Check = Callable[[Stat | None, Stat | None], bool | None]


def _med(s: Stat | None) -> float | None:
    return None if s is None else s.median


def at_most(limit: float) -> Check:
    def check(ours: Stat | None, _ref: Stat | None) -> bool | None:
        m = _med(ours)
        return None if m is None else m <= limit

    return check


def at_least(limit: float) -> Check:
    def check(ours: Stat | None, _ref: Stat | None) -> bool | None:
        m = _med(ours)
        return None if m is None else m >= limit

    return check


def below(limit: float) -> Check:
    def check(ours: Stat | None, _ref: Stat | None) -> bool | None:
        m = _med(ours)
        return None if m is None else m < limit

    return check


def vs_ref(factor: float, higher_is_better: bool) -> Check:
    """ours ≥ factorxref (higher is better) or ours ≤ factorxref (lower is better)."""

    def check(ours: Stat | None, ref: Stat | None) -> bool | None:
        o, r = _med(ours), _med(ref)
        if o is None or r is None:
            return None
        return o >= factor * r if higher_is_better else o <= factor * r

    return check


def every_run_exactly(value: float) -> Check:
    def check(ours: Stat | None, _ref: Stat | None) -> bool | None:
        if ours is None or ours.lo is None or ours.hi is None:
            return None
        return abs(ours.lo - value) < 1e-6 and abs(ours.hi - value) < 1e-6

    return check


@dataclass(frozen=True)
class Target:
    """A target from the issue, attached to the figure whose name contains ``match``."""

    match: str
    label: str
    check: Check


TARGETS: tuple[Target, ...] = (
    Target("health: seq GET /health p50", "≤ 1.5 ms", at_most(1.5)),
    Target("launch: launch->first output p50", "≤ reference", vs_ref(1.0, False)),
    Target("1x stored (CRLF-normalized)", "100 % every run", every_run_exactly(100.0)),
    Target("4x stored (CRLF-normalized)", "100 % every run", every_run_exactly(100.0)),
    Target("stored text identical to emitted", "1 every run", every_run_exactly(1.0)),
    Target(
        "1x drain rate",
        "≥ 1.5x ref and ≥ 60 MiB/s",
        lambda o, r: _and(vs_ref(1.5, True)(o, r), at_least(60.0)(o, r)),
    ),
    # Issue 16: "4 x 64 MiB aggregate >= the reference's while storing 100 %".
    Target("4x aggregate drain rate", "≥ ref", vs_ref(1.0, True)),
    Target("attach input->echo p50", "≤ 5 ms", at_most(5.0)),
    Target("attach input->echo lost", "0", at_most(0.0)),
    # Issue 16: every command that answers from the daemon, whole process, <= 60 ms.
    Target("cli: coven sessions --json p50", "≤ 60 ms", at_most(60.0)),
    Target("concurrency: daemon RSS, 50 live", "≤ 2x ref", vs_ref(2.0, False)),
    Target("concurrency: daemon CPU idle, 50 live", "< 1 %", below(1.0)),
    Target("list: page (limit=100) p99, 10000", "≤ 10 ms", at_most(10.0)),
)


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def target_for(key: str) -> Target | None:
    for t in TARGETS:
        if t.match in key:
            return t
    return None


def ratio(ours: Stat | None, ref: Stat | None) -> str:
    o, r = _med(ours), _med(ref)
    if o is None or r is None or r == 0:
        return "n/a"
    return f"{o / r:.2f}x"


def markdown(ours: dict[str, Stat], ref: dict[str, Stat], header: str) -> str:
    """The comparison table: figure | ours | reference | ratio | target met?"""
    keys = list(ours) + [k for k in ref if k not in ours]
    lines = [
        header,
        "",
        "| figure | ours median (spread) | reference median (spread) | ratio ours/ref | target met? |",
        "|---|---|---|---|---|",
    ]
    for k in keys:
        o, r = ours.get(k), ref.get(k)
        t = target_for(k)
        if t is None:
            verdict = ""
        else:
            ok = t.check(o, r)
            verdict = f"{'yes' if ok else 'no' if ok is False else 'n/a'} ({t.label})"
        lines.append(
            f"| {k} | {o.show() if o else 'n/a'} | {r.show() if r else 'n/a'} "
            f"| {ratio(o, r)} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


DRAIN_1X = "output: 1x drain rate (emitted bytes / time to exit) [MiB/s]"
DRAIN_4X = "output: 4x aggregate drain rate [MiB/s]"


def ceilings_markdown(limits: dict[str, Stat], ours: dict[str, Stat]) -> str:
    """Ceilings measured between the reps of the same run, and our drain as a share of each."""
    if not limits:
        return ""
    drain, drain4 = _med(ours.get(DRAIN_1X)), _med(ours.get(DRAIN_4X))
    lines = [
        "",
        "Ceilings on this machine, measured between the reps of this run (`bench/limits.py`,"
        " 64 MiB through a PTY, same blob):",
        "",
        "| ceiling | median (spread) | our drain as a share of it (4 sessions: aggregate) |",
        "|---|---|---|",
    ]
    for k, st in limits.items():
        share = "n/a"
        ours_rate = drain4 if "4 sessions" in k else drain
        if ours_rate is not None and st.median:
            share = f"{ours_rate / st.median:.0%}"
        lines.append(f"| {k} | {st.show()} | {share} |")
    return "\n".join(lines) + "\n"
