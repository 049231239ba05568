"""The browser's details pane: one field per line, user text stripped of control codes."""

from __future__ import annotations

from coven.cli.browser_model import details_text
from coven.schema import SessionRecord


def record(title: str) -> SessionRecord:
    return SessionRecord(
        id="26b42427-5703-4ba9-a7d2-e292b6cdbde1",
        project_root="/tmp/proj",
        harness="codex",
        title=title,
        status="failed",
        exit_code=3,
        archived_at=None,
        created_at="2026-11-24T01:27:20.000000000Z",
        updated_at="2026-11-24T01:27:20.000000000Z",
    )


def test_each_field_is_on_its_own_line() -> None:
    lines = details_text(record("fix the tests")).plain.split("\n")
    assert [line.split()[0] for line in lines] == [
        "Title",
        "ID",
        "Runtime",
        "Harness",
        "Project",
        "Updated",
        "State",
        "Exit",
    ]
    assert lines[0].endswith("fix the tests")


def test_control_codes_in_a_title_cannot_break_the_layout() -> None:
    text = details_text(record("evil\x1b[2J\ntitle")).plain
    assert "\x1b" not in text
    assert text.split("\n")[0] == "Title     evil\ufffd[2J\ufffdtitle"
