"""Text others wrote, shown on a terminal, cannot drive it (``coven.cli.terminal_text``)."""

from __future__ import annotations

import pytest

from coven.cli.terminal_text import one_line


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("fix the tests", "fix the tests"),
        ("émoji 🐈 and 漢字", "émoji 🐈 and 漢字"),
        ("fix the\ntests\r\tnow", "fix the tests  now"),
        ("\x1b[31mred\x1b[0m", "red"),  # colours, as click drops them off a terminal
        ("a\x1b[2Jb\x1b[3J", "ab"),  # clear the screen and the scrollback
        ("\x1b]52;c;ZXZpbA==\x07paste", "paste"),  # write the clipboard (OSC 52, BEL)
        ("\x1b]0;owned\x1b\\title", "title"),  # retitle the window (OSC, ST)
        ("\x1b]8;;https://x.test\x07link\x1b]8;;\x07", "link"),  # hyperlink
        ("\x1bcreset", "reset"),  # RIS: reset the terminal
        ("lone \x1b", "lone \ufffd"),
        ("8-bit \x9b2J csi", "8-bit \ufffd2J csi"),  # C1 CSI, which some terminals obey
        ("bell\x07 del\x7f nul\x00", "bell\ufffd del\ufffd nul\ufffd"),
        ("\x1b]0;never ends", "0;never ends"),  # unterminated: its introducer goes
    ],
)
def test_one_line_keeps_the_words_and_drops_what_would_drive_the_terminal(
    text: str, shown: str
) -> None:
    assert one_line(text) == shown
    assert "\x1b" not in one_line(text)


def test_the_headers_and_listings_show_titles_and_questions_through_it() -> None:
    from coven.cli.attach_words import attached_header
    from coven.cli.listing import sessions_overview, sessions_table
    from coven.cli.render import created_header, session_prose
    from coven.schema.wire import SessionRecord

    evil = "fix\x1b]52;c;ZXZpbA==\x07 it\x1b[2J"
    record = SessionRecord(
        id="0" * 36,
        project_root="/p",
        harness="codex",
        title=evil,
        status="running",
        exit_code=None,
        archived_at=None,
        created_at="2026-01-01T00:00:00Z",
        updated_at="u",
        labels=["a\x1b[8mhidden"],
        attention="awaiting_input",
        attention_reason="Proceed?\x1b]0;x\x07 (y/n)",
    )
    shown = [
        created_header(record, "/p", "interactive"),
        session_prose(record),
        sessions_table([record]),
        sessions_overview([record]),
        attached_header(
            record.id, record.harness, record.title, record.status, "", read_only=False
        ),
    ]
    for text in shown:
        assert "\x1b" not in text, text
        assert "fix it" in text, text
    assert "Proceed? (y/n)" in sessions_overview([record])
