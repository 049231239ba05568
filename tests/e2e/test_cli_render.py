"""Pure pieces of the CLI: renderings, exit-code mapping, ages, terminal size fallbacks."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from coven.cli.attaching import exit_line, run_exit_code
from coven.cli.render import (
    age,
    events_json_chunks,
    events_table,
    payload_preview,
    sessions_overview,
    sessions_table,
    short_path,
    to_json,
)
from coven.cli.terminal import window_size
from coven.client import Exit
from coven.schema.wire import Cursor, EventRecord, EventsPage, SessionRecord


def record(**fields: object) -> SessionRecord:
    base: dict[str, object] = dict(
        id="0" * 36,
        project_root="/p",
        harness="codex",
        title="t",
        status="running",
        exit_code=None,
        archived_at=None,
        created_at="c",
        updated_at="u",
    )
    base.update(fields)
    return SessionRecord(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        ("completed", 0, 0),
        ("idle", 0, 0),
        ("failed", 3, 3),
        ("failed", None, 1),
        ("failed", -9, 1),
        ("failed", 300, 1),
        ("killed", None, 1),
        ("orphaned", None, 1),
    ],
)
def test_run_exit_code(status: str, code: int | None, expected: int) -> None:
    assert run_exit_code(Exit(status, code)) == expected


def test_exit_line() -> None:
    assert exit_line(Exit("failed", 3)) == "[coven session failed (exit code 3)]"
    assert exit_line(Exit("killed", None)) == "[coven session killed (no exit code)]"


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-01-02T03:04:05Z", "0s"),
        ("2026-01-02T03:03:05.5Z", "59s"),
        ("2026-01-02T02:04:05+00:00", "1h"),
        ("2026-01-01T03:04:06Z", "23h"),
        ("2025-12-20T03:04:05Z", "13d"),
        ("2026-01-02T03:04:06Z", "0s"),  # a clock a little ahead is not negative
        ("not a time", "?"),
    ],
)
def test_age(stamp: str, expected: str) -> None:
    assert age(stamp, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == expected


def test_short_path() -> None:
    assert short_path("/home/me/repo", "/home/me") == "~/repo"
    assert short_path("/home/me", "/home/me/") == "~"
    assert short_path("/home/meadow/x", "/home/me") == "/home/meadow/x"
    assert short_path("/srv/x", "/") == "/srv/x"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, (24, 80)),
        ({"LINES": "50", "COLUMNS": "200"}, (50, 200)),
        ({"LINES": "abc", "COLUMNS": "-1"}, (24, 80)),
        ({"LINES": "0", "COLUMNS": "5000"}, (24, 80)),
    ],
)
def test_window_size_fallbacks(env: dict[str, str], expected: tuple[int, int]) -> None:
    read_fd, write_fd = os.pipe()  # not a terminal
    try:
        assert window_size(read_fd, env) == expected
        assert window_size(None, env) == expected
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_sessions_table_widens_for_long_harness_ids() -> None:
    text = sessions_table([record(harness="coven-code", title="a\nb"), record(archived_at="x")])
    lines = text.splitlines()
    assert lines[0] == f"{'SESSION':<36} STATUS     HARNESS    STATE    TITLE"
    assert lines[2].endswith("coven-code active   a b")
    assert " archived " in lines[3]


def test_events_table_and_payload_preview() -> None:
    long = '{"data":"' + "x" * 100 + '\\r\\n"}'
    assert payload_preview(long).endswith("…") and len(payload_preview(long)) == 64
    assert payload_preview('{"a":"b\nc"}') == '{"a":"b\\nc"}'
    event = EventRecord(
        seq=7, id="e", session_id="s", kind="output", payload_json="{}", created_at="c"
    )
    table = events_table(EventsPage([event], Cursor(7), True))
    assert table.splitlines()[-1] == "1 event(s) · more: --after-seq 7"
    assert events_table(EventsPage([], None, False)) == "No events recorded for this session yet."


@pytest.mark.parametrize("count", [0, 1, 3])
def test_streamed_events_json_is_the_one_page_document(count: int) -> None:
    events = [
        EventRecord(
            seq=n + 1,
            id=f"e{n}",
            session_id="s",
            kind="output",
            payload_json='{"data":"é\\n"}',
            created_at="c",
        )
        for n in range(count)
    ]
    whole = EventsPage(events, Cursor(count) if count else None, False)
    assert "".join(events_json_chunks(iter(events))) == to_json(whole, sort_keys=True)


def test_sessions_overview_shows_short_ids_project_age_and_labels_uncut() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    long_project = "/home/me/" + "deep/" * 20 + "repo"
    records = [
        record(
            id="abcdef12" + "0" * 28,
            project_root=long_project,
            created_at="2026-01-02T03:00:05Z",
            labels=["red", "blue"],
            title="fix the\ntests",
        ),
        record(status="killed", archived_at="x", created_at="2026-01-01T03:04:05Z"),
    ]
    lines = sessions_overview(records, now=now, home="/home/me").splitlines()
    assert lines[0].split() == ["ID", "STATUS", "HARNESS", "PROJECT", "AGE", "LABELS", "TITLE"]
    assert lines[1].split() == [
        "abcdef12",
        "running",
        "codex",
        "~" + long_project[len("/home/me") :],
        "4m",
        "red,blue",
        "fix",
        "the",
        "tests",
    ]
    assert lines[2].split()[:6] == ["00000000", "killed", "(archived)", "codex", "/p", "1d"]
    assert lines[2].split()[6] == "-"
    assert "\x1b[" not in "\n".join(lines)
    coloured = sessions_overview(records, now=now, colour=True)
    assert "\x1b[32mrunning" in coloured and "\x1b[31mkilled (archived)" in coloured
    asking = record(attention="awaiting_input", attention_reason="Apply? (y/n)")
    waiting = sessions_overview([asking], now=now, colour=True).splitlines()[1]
    assert "\x1b[33m\x1b[1mwaiting\x1b[0m" in waiting and waiting.endswith("t — Apply? (y/n)")
