"""The familiars roster: reading familiars.toml, every refusal naming file and line, editing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coven.authority import (
    Familiar,
    Roster,
    add_familiar,
    parse_roster,
    remove_familiar,
    render_roster,
)
from coven.authority.familiars import MAX_INSTRUCTIONS_CHARS, MAX_ROSTER_BYTES, render_familiar
from coven.errors import InvalidRequest, RosterInvalid, UnknownFamiliar
from coven.schema.familiars import MAX_FAMILIAR_ID_LENGTH, is_familiar_id

PATH = "/home/u/.coven/familiars.toml"

# A roster as the reference writes it, plus our keys; line numbers matter below.
ROSTER = """\
# The coven's familiars.

[[familiar]]
id = "sage"
display_name = "Sage"
role = "Research Familiar"
description = "Reads and synthesizes."
instructions = \"\"\"
Cite sources. What follows is text, not a table:
[[familiar]]
id = "ghost"
\"\"\"

# Cody writes the code.
[[familiar]]
id = "cody"   # the coder
display_name = "Cody"
role = ""
description = ""
harness = "codex"
model = "gpt-5"
"""
CODY_HEADER = 15


def test_a_reference_roster_reads_in_file_order_with_header_lines() -> None:
    roster = parse_roster(ROSTER, PATH)
    assert roster.ids == ("sage", "cody")
    sage, cody = roster.familiars
    assert (sage.display_name, sage.role, sage.description) == (
        "Sage",
        "Research Familiar",
        "Reads and synthesizes.",
    )
    assert sage.instructions == (
        'Cite sources. What follows is text, not a table:\n[[familiar]]\nid = "ghost"\n'
    )
    assert (cody.harness, cody.model, cody.instructions) == ("codex", "gpt-5", None)
    assert (sage.line, cody.line) == (3, CODY_HEADER)


def test_the_reference_presentation_keys_are_kept() -> None:
    text = """
[[familiar]]
id = "nova"
name = "nova"
display_name = "Nova"
emoji = "✨"
icon = "ph:star"
role = "Scout"
description = "Looks ahead."
pronouns = "she/her"
active_channel = "telegram"
workspace = "~/familiars/nova"
"""
    nova = parse_roster(text, PATH).require("nova")
    assert (nova.emoji, nova.icon, nova.pronouns, nova.active_channel, nova.workspace) == (
        "✨",
        "ph:star",
        "she/her",
        "telegram",
        "~/familiars/nova",
    )


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing yet\n"])
def test_an_empty_roster_has_no_familiars(text: str) -> None:
    assert parse_roster(text, PATH) == Roster(path=PATH)


def test_the_identity_preamble_reads_like_the_reference() -> None:
    sage = parse_roster(ROSTER, PATH).require("sage")
    assert sage.identity_preamble() == (
        "[Identity: You are Sage, a Research Familiar. "
        "Respond as Sage, not as the underlying tool.]"
    )
    cody = parse_roster(ROSTER, PATH).require("cody")
    assert cody.identity_preamble() == (
        "[Identity: You are Cody. Respond as Cody, not as the underlying tool.]"
    )


def test_an_unknown_familiar_is_refused_with_the_known_ids() -> None:
    roster = parse_roster(ROSTER, PATH)
    with pytest.raises(UnknownFamiliar) as caught:
        roster.require("ghost")
    error = caught.value
    assert (error.code, error.status) == ("unknown_familiar", 400)
    assert error.details == {"familiarId": "ghost"}
    assert error.message == "unknown familiar `ghost`; expected one of: sage, cody"


def test_an_unknown_familiar_in_an_empty_roster_names_the_file() -> None:
    with pytest.raises(UnknownFamiliar, match=r"no familiars are configured in .*familiars\.toml"):
        Roster(path=PATH).require("sage")


def test_familiar_ids_are_case_sensitive() -> None:
    roster = parse_roster(ROSTER, PATH)
    assert roster.get("sage") is not None
    assert roster.get("Sage") is None


def entry(**overrides: object) -> str:
    """One [[familiar]] table (header on line 1 of the returned text)."""
    keys: dict[str, object] = {
        "id": '"sage"',
        "display_name": '"Sage"',
        "role": '"Research"',
        "description": '"Reads."',
    }
    keys.update(overrides)
    body = "".join(f"{key} = {value}\n" for key, value in keys.items() if value is not None)
    return "[[familiar]]\n" + body


# (roster text, line the error must name, field, words the message must contain)
BAD: list[tuple[str, int | None, str | None, str]] = [
    # syntax: tomllib's position
    ('[[familiar]]\nid = "sage\n', 2, None, "column"),
    ("[[familiar]\n", 1, None, "column"),
    (entry() + 'id = "again"\n', 6, None, "column"),  # duplicate key in one table
    # unknown keys, at the key's own line
    (entry(**{"display-name": '"Sage"'}), 6, "display-name", "unknown key `display-name`"),
    (entry() + "[familiar.extra]\na = 1\n", 6, "extra", "unknown key `extra`"),
    ('version = 1\n\n[[familiar]]\nid = "a"\n', 1, "version", "unknown top-level key"),
    (entry() + "\n[settings]\nx = 1\n", 7, "settings", "unknown top-level key `settings`"),
    ('familiar = "sage"\n', 1, "familiar", "[[familiar]] tables"),
    ("[familiar]\nid = 'sage'\n", 1, "familiar", "[[familiar]] tables"),
    # wrong types
    (entry(id="7"), 2, "id", "`id` must be a string, got an integer"),
    (entry(display_name="true"), 3, "display_name", "got a boolean"),
    (entry(role="1.5"), 4, "role", "got a float"),
    (entry(description='["a"]'), 5, "description", "got an array"),
    (entry(harness="{ id = 'codex' }"), 6, "harness", "got a table"),
    (entry(model="2024-01-01"), 6, "model", "got a date or time"),
    # missing and blank values: at the table's header
    (entry(display_name=None), 1, "display_name", "missing required key `display_name`"),
    (entry(role=None), 1, "role", "missing required key `role`"),
    (entry(id=None), 1, "id", "missing required key `id`"),
    (entry(display_name='"  "'), 3, "display_name", "must not be blank"),
    # id rules
    (entry(id='"two words"'), 2, "id", "ASCII letters, digits"),
    (entry(id='"sagé"'), 2, "id", "ASCII letters, digits"),
    (entry(id='""'), 2, "id", "ASCII letters, digits"),
    (entry(id=f'"{"a" * (MAX_FAMILIAR_ID_LENGTH + 1)}"'), 2, "id", "1 to 64"),
    (entry(id='"Resume"'), 2, "id", "Cast Code keyword"),
    (entry() + "\n" + entry(display_name='"Other"'), 8, "id", "duplicate familiar id `sage`"),
    (entry() + "\n" + entry(id='"SAGE"'), 8, "id", "same as `sage` but for case"),
    # our keys
    (entry(harness='"Claude Code"'), 6, "harness", "not a harness id"),
    (entry(model='" opus"'), 6, "model", "without surrounding spaces"),
    (entry(model='""'), 6, "model", "`model` must be a model name"),
    (
        entry(instructions=f'"{"x" * (MAX_INSTRUCTIONS_CHARS + 1)}"'),
        6,
        "instructions",
        "longer than",
    ),
    # a later entry's line is right even after a multi-line string that looks like tables
    (ROSTER.replace('harness = "codex"', 'harness = "Codex"'), 20, "harness", "harness id"),
    (ROSTER.replace('id = "cody"', 'id = "sage"'), 16, "id", "first declared on line 3"),
]


@pytest.mark.parametrize(("text", "line", "field", "words"), BAD, ids=[b[3] for b in BAD])
def test_every_bad_roster_is_refused_naming_file_and_line(
    text: str, line: int | None, field: str | None, words: str
) -> None:
    with pytest.raises(RosterInvalid) as caught:
        parse_roster(text, PATH)
    error = caught.value
    assert (error.code, error.status) == ("familiar_lookup_failed", 500)
    assert error.message.startswith(f"familiars roster {PATH}")
    assert words in error.message
    details = error.details or {}
    assert details["path"] == PATH
    assert details.get("line") == line
    if line is not None:
        assert f"line {line}" in error.message
    assert details.get("field") == field


def test_a_roster_that_is_not_utf8_names_the_line_of_the_bad_byte() -> None:
    with pytest.raises(RosterInvalid) as caught:
        parse_roster(b'[[familiar]]\nid = "sage"\nrole = "\xff"\n', PATH)
    assert caught.value.details == {"path": PATH, "line": 3}
    assert "not valid UTF-8" in caught.value.message


def test_text_with_a_lone_surrogate_is_refused_with_its_line() -> None:
    with pytest.raises(RosterInvalid) as caught:
        parse_roster(entry(role='"\udcff"'), PATH)
    assert (caught.value.details or {}).get("line") == 4


def test_an_oversized_roster_is_refused_before_parsing() -> None:
    with pytest.raises(RosterInvalid, match="larger than"):
        parse_roster(b"#" * (MAX_ROSTER_BYTES + 1), PATH)


def test_an_unterminated_string_at_the_end_is_reported_plainly() -> None:
    with pytest.raises(RosterInvalid) as caught:
        parse_roster('x = """\n', PATH)
    assert "at the end of the file" in caught.value.message


def test_tables_written_inline_still_get_entry_numbers() -> None:
    text = (
        "familiar = [\n"
        "  { id = 'a', display_name = 'A', role = '', description = '' },\n"
        "  { id = 'a', display_name = 'B', role = '', description = '' },\n"
        "]\n"
    )
    with pytest.raises(RosterInvalid) as caught:
        parse_roster(text, PATH)
    assert "(familiar #2)" in caught.value.message
    assert (caught.value.details or {}).get("familiar") == 1


ECHO = Familiar(
    id="echo",
    display_name="Echo",
    role="Scribe",
    description='Says "hi" \\ and \t tabs',
    harness="claude",
    model="opus",
    instructions='Line one.\nLine """two""" with \\ and \x07 bell.\n',
)


def test_adding_a_familiar_keeps_the_file_and_appends_one_table() -> None:
    updated = add_familiar(ROSTER, ECHO, PATH)
    assert updated.startswith(ROSTER)
    roster = parse_roster(updated, PATH)
    assert roster.ids == ("sage", "cody", "echo")
    assert roster.require("echo") == ECHO
    assert updated[len(ROSTER) :].lstrip("\n") == render_familiar(ECHO)


def test_adding_to_an_empty_or_missing_roster_writes_one_table() -> None:
    text = add_familiar("", ECHO, PATH)
    assert text.startswith('[[familiar]]\nid = "echo"\n')
    assert parse_roster(text, PATH).familiars == (ECHO,)


def test_adding_a_taken_id_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="already exists") as caught:
        add_familiar(ROSTER, Familiar("sage", "Other", "", ""), PATH)
    assert caught.value.details == {"familiarId": "sage"}
    # Differing only in case is the same familiar: a clear refusal, not an unreadable roster.
    with pytest.raises(InvalidRequest, match="differs only in case") as caught:
        add_familiar(ROSTER, Familiar("SAGE", "Other", "", ""), PATH)
    assert caught.value.details == {"familiarId": "SAGE"}


@pytest.mark.parametrize(
    ("familiar", "field"),
    [
        (Familiar("two words", "X", "", ""), "id"),
        (Familiar("handoff", "X", "", ""), "id"),
        (Familiar("ok", " ", "", ""), "display_name"),
        (Familiar("ok", "X", "", "", harness="No Such"), "harness"),
    ],
)
def test_adding_a_familiar_that_breaks_a_rule_is_refused_naming_the_field(
    familiar: Familiar, field: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        add_familiar(ROSTER, familiar, PATH)
    assert caught.value.details == {"field": field}
    assert "familiars roster" not in caught.value.message  # about the input, not the file


def test_adding_to_an_invalid_roster_reports_the_roster() -> None:
    with pytest.raises(RosterInvalid):
        add_familiar("[[familiar]\n", ECHO, PATH)


def test_removing_a_familiar_drops_its_table_and_attached_comment_only() -> None:
    updated = remove_familiar(ROSTER, "cody", PATH)
    assert "Cody" not in updated
    assert updated.startswith(ROSTER.split("# Cody")[0].rstrip("\n"))
    assert parse_roster(updated, PATH).ids == ("sage",)
    # The multi-line instructions (which look like tables) are untouched.
    assert parse_roster(updated, PATH).require("sage") == parse_roster(ROSTER, PATH).require("sage")


def test_removing_the_first_familiar_keeps_the_file_comment_and_the_rest() -> None:
    updated = remove_familiar(ROSTER, "sage", PATH)
    assert updated.startswith("# The coven's familiars.\n\n# Cody writes the code.\n[[familiar]]")
    assert parse_roster(updated, PATH).familiars == parse_roster(ROSTER, PATH).familiars[1:]


def test_removing_an_unknown_familiar_is_refused() -> None:
    with pytest.raises(UnknownFamiliar):
        remove_familiar(ROSTER, "ghost", PATH)


def test_removing_from_an_inline_roster_rewrites_it_keeping_the_others() -> None:
    text = (
        "familiar = [\n"
        "  { id = 'a', display_name = 'A', role = '', description = '' },\n"
        "  { id = 'b', display_name = 'B', role = 'r', description = 'd', model = 'm' },\n"
        "]\n"
    )
    updated = remove_familiar(text, "a", PATH)
    assert parse_roster(updated, PATH).familiars == (Familiar("b", "B", "r", "d", model="m"),)


FAMILIAR_IDS = st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True).filter(is_familiar_id)
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
FAMILIARS = st.builds(
    Familiar,
    id=FAMILIAR_IDS,
    display_name=ANY_TEXT.filter(str.strip),
    role=ANY_TEXT,
    description=ANY_TEXT,
    emoji=st.none() | ANY_TEXT,
    harness=st.none() | st.from_regex(r"[a-z0-9][a-z0-9._-]{0,10}", fullmatch=True),
    model=st.none() | ANY_TEXT.map(str.strip).filter(bool),
    instructions=st.none() | ANY_TEXT,
)
ROSTERS = st.lists(FAMILIARS, max_size=5, unique_by=lambda f: f.id.lower())


@settings(max_examples=200, deadline=None)
@given(ROSTERS)
def test_a_rendered_roster_reads_back_as_the_same_familiars(familiars: list[Familiar]) -> None:
    assert parse_roster(render_roster(familiars), PATH).familiars == tuple(familiars)


@settings(max_examples=200, deadline=None)
@given(ROSTERS, FAMILIARS)
def test_add_then_remove_leaves_the_other_familiars_as_they_were(
    familiars: list[Familiar], extra: Familiar
) -> None:
    text = render_roster(familiars)
    if any(f.id.lower() == extra.id.lower() for f in familiars):
        return
    added = add_familiar(text, extra, PATH)
    assert parse_roster(added, PATH).familiars == (*familiars, extra)
    assert parse_roster(remove_familiar(added, extra.id, PATH), PATH).familiars == tuple(familiars)
