"""Pure pieces of the CLI: renderings, exit-code mapping, detach key, terminal size fallbacks."""

from __future__ import annotations

import os

import pytest

from coven.cli.attaching import exit_line, run_exit_code
from coven.cli.render import (
    events_json_chunks,
    events_table,
    payload_preview,
    sessions_table,
    to_json,
)
from coven.cli.terminal import split_detach, window_size
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
    ("data", "expected"),
    [
        (b"abc", (b"abc", False)),
        (b"\x1d", (b"", True)),
        (b"ab\x1dcd", (b"ab", True)),
        (b"", (b"", False)),
    ],
)
def test_split_detach(data: bytes, expected: tuple[bytes, bool]) -> None:
    assert split_detach(data) == expected


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
