"""The benchmark driver's parsing of event pages and its percentiles (no daemon, no timing)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _driver_core() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("driver_core", BENCH / "driver_core.py")
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(BENCH))


def test_event_data_is_read_from_each_payload_shape() -> None:
    core = _driver_core()
    as_text = {"kind": "output", "payload_json": json.dumps({"data": "a\r\n"})}
    as_object = {"type": "output", "payloadJson": {"data": "b"}}
    bare = {"kind": "output", "payload": {"data": "c"}}
    broken = {"kind": "output", "payload_json": "{not json"}
    assert [core.ev_data(e) for e in (as_text, as_object, bare, broken)] == ["a\r\n", "b", "c", ""]
    assert core.ev_kind(as_object) == "output"


def test_percentiles_are_nearest_rank_in_milliseconds() -> None:
    core = _driver_core()
    seconds = [i / 1000 for i in range(1, 101)]  # 1 ms .. 100 ms
    assert core.pct(seconds, 50) == 50.0
    assert core.pct(seconds, 99) == 99.0
    assert core.pct(seconds, 100) == 100.0
    assert core.pct([], 50) != core.pct([], 50)  # NaN when nothing was measured


def test_blob_lines_are_fixed_width_and_numbered() -> None:
    core = _driver_core()
    lines = [core.blob_line(n) for n in (0, 1, 12345)]
    assert all(len(line) == core.LINE and line.endswith("\n") for line in lines)
    assert lines[2].startswith("00012345 ")
    assert lines[0] != lines[1]
