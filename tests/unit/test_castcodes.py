"""The Cast Code parser: every published form in both spellings, and every error."""

from __future__ import annotations

import time
import unicodedata

import msgspec
import pytest

from coven.castcodes import (
    REASONS,
    Broadcast,
    CastIntent,
    Delegate,
    Handoff,
    Resume,
    Status,
    Switch,
    parse,
    render,
)
from coven.castcodes.intents import bad_character
from coven.errors import CastCodeError, CovenError
from coven.schema.casting import CAST_CODE_CATALOG, CastCodeTemplate

# (code as typed, the one intent it means)
FORMS: list[tuple[str, CastIntent]] = [
    # status
    ("~?", Status(None)),
    ("~?sage", Status("sage")),
    ("~? sage", Status("sage")),
    ("~?Sage_2-b", Status("Sage_2-b")),
    # switch
    ("~>sage", Switch("sage")),
    ("~> sage", Switch("sage")),
    # delegate, catalog spelling
    ("~delegate:sage fix the failing tests", Delegate("sage", "fix the failing tests")),
    ("~delegate: sage fix it", Delegate("sage", "fix it")),
    ("~DELEGATE:sage fix it", Delegate("sage", "fix it")),
    ("~delegate:sage   spaced   out  ", Delegate("sage", "spaced   out")),
    ('~delegate:sage "quoted task"', Delegate("sage", "quoted task")),
    # delegate, docs spelling
    ("~cody: review this diff", Delegate("cody", "review this diff")),
    ("~cody:review this diff", Delegate("cody", "review this diff")),
    ('~cody: "  padded  "', Delegate("cody", "padded")),
    ("~cody: a: b: c", Delegate("cody", "a: b: c")),
    # broadcast, catalog spelling
    ("~broadcast * new constraint: local-only", Broadcast(None, "new constraint: local-only")),
    ("~broadcast *be brief", Broadcast(None, "be brief")),
    ("~broadcast sage be brief", Broadcast("sage", "be brief")),
    ("~Broadcast * x", Broadcast(None, "x")),
    # broadcast, docs spelling
    ('~* "new constraint: local-only"', Broadcast(None, "new constraint: local-only")),
    ("~* unquoted works too", Broadcast(None, "unquoted works too")),
    ('~*"tight"', Broadcast(None, "tight")),
    # resume
    ("~^ resume", Resume(None)),
    ("~^resume", Resume(None)),
    ("~^ RESUME", Resume(None)),
    ("~^sage", Resume("sage")),
    ("~^ sage", Resume("sage")),
    # handoff
    ("~<handoff", Handoff(None)),
    ("~< handoff", Handoff(None)),
    ("~<echo", Handoff("echo")),
    # white space around a code, a trailing newline from a pipe
    ("  ~?  ", Status(None)),
    ("~<echo\n", Handoff("echo")),
    ("\t~>sage\r\n", Switch("sage")),
    # text is anything printable: other quotes, Unicode, inner double quotes
    ("~* say “hi” and 'bye'", Broadcast(None, "say “hi” and 'bye'")),
    ('~* a "quoted" word', Broadcast(None, 'a "quoted" word')),
    ('~* ""starts with a quote"', Broadcast(None, '"starts with a quote')),
    ("~* tab\tinside", Broadcast(None, "tab\tinside")),
    ("~* ünïcödé ✨ text", Broadcast(None, "ünïcödé ✨ text")),
]


@pytest.mark.parametrize(("code", "intent"), FORMS, ids=[c for c, _ in FORMS])
def test_every_published_form_parses_to_its_intent(code: str, intent: CastIntent) -> None:
    assert parse(code) == intent


# (code, reason, position of the problem)
ERRORS: list[tuple[str, str, int]] = [
    ("", "empty", 0),
    ("   ", "empty", 3),
    ("sage", "missing_tilde", 0),
    ("? ~?", "missing_tilde", 0),
    ("~", "missing_operator", 1),
    ("  ~  ", "missing_operator", 3),
    ("~!", "unknown_operator", 1),
    ("~~", "unknown_operator", 1),
    ("~ ?", "unknown_operator", 1),
    ('~"sage": x', "unknown_operator", 1),
    ("~>", "missing_name", 2),
    ("~>  ", "missing_name", 2),
    ("~^", "missing_name", 2),
    ("~<", "missing_name", 2),
    ("~broadcast", "missing_name", 10),
    ("~delegate:", "missing_name", 10),
    ("~>sa.ge", "bad_name", 4),
    ("~?sage!", "bad_name", 6),
    ("~sagé: x", "bad_name", 4),
    ("~delegate:sage:fix", "bad_name", 14),
    ('~broadcast sage"x"', "bad_name", 15),
    ("~>" + "a" * 65, "bad_name", 2),
    ("~" + "a" * 65 + ": x", "bad_name", 1),
    ("~>delegate", "reserved_name", 2),
    ("~?Broadcast", "reserved_name", 2),
    ("~^handoff", "reserved_name", 2),
    ("~<resume", "reserved_name", 2),
    ("~resume: x", "reserved_name", 1),
    ("~handoff", "reserved_name", 1),
    ("~broadcast: x", "reserved_name", 1),
    ("~delegate sage x", "missing_colon", 9),
    ("~sage", "missing_colon", 5),
    ("~sage review this", "missing_colon", 5),
    ("~delegate:sage", "missing_text", 14),
    ("~delegate:sage   ", "missing_text", 14),
    ("~sage:", "missing_text", 6),
    ("~sage:   ", "missing_text", 6),
    ("~*", "missing_text", 2),
    ("~broadcast *", "missing_text", 12),
    ("~broadcast sage", "missing_text", 15),
    ('~* ""', "missing_text", 3),
    ('~* "   "', "missing_text", 3),
    ('~* "unterminated', "bad_quoting", 3),
    ('~* "', "bad_quoting", 3),
    ('~sage: "half', "bad_quoting", 7),
    ("~?sage now", "unexpected_text", 7),
    ("~>sage please", "unexpected_text", 7),
    ("~^ resume sage", "unexpected_text", 10),
    ("~<echo ~<echo", "unexpected_text", 7),
    ("~* line one\nline two", "bad_character", 11),
    ("~* bell\x07", "bad_character", 7),
    ("~* nul\x00", "bad_character", 6),
    ("~* esc\x1b[31m", "bad_character", 6),
    ("~* del\x7f", "bad_character", 6),
    ("~* c1\x9b", "bad_character", 5),
    ("~* sep\u2028x", "bad_character", 6),
    ("~* lone\udc80", "bad_character", 7),
    ("~\x00", "bad_character", 1),
]


@pytest.mark.parametrize(
    ("code", "reason", "position"), ERRORS, ids=[repr(c) for c, _, _ in ERRORS]
)
def test_each_error_names_its_reason_and_position(code: str, reason: str, position: int) -> None:
    with pytest.raises(CastCodeError) as caught:
        parse(code)
    error = caught.value
    assert (error.reason, error.position) == (reason, position)
    assert error.reason in REASONS
    assert error.expected
    assert f"position {position}" in error.message
    assert error.details == {"reason": reason, "position": position, "expected": error.expected}


def test_every_reason_is_exercised_by_the_error_table() -> None:
    assert {reason for _, reason, _ in ERRORS} == REASONS


def test_a_cast_code_error_is_a_structured_coven_error() -> None:
    with pytest.raises(CovenError) as caught:
        parse("~>")
    error = caught.value
    assert (error.code, error.status) == ("invalid_cast_code", 400)
    assert error.envelope()["error"]["details"]["reason"] == "missing_name"


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("~resume: x", "~^ resume"),
        ("~handoff", "~<handoff"),
        ("~sage", "~sage: <task>"),
        ("~!", "`?`, `>`"),
    ],
)
def test_errors_say_what_to_write_instead(code: str, hint: str) -> None:
    with pytest.raises(CastCodeError) as caught:
        parse(code)
    assert hint in caught.value.message + caught.value.expected


@pytest.mark.parametrize("entry", CAST_CODE_CATALOG, ids=[e.code for e in CAST_CODE_CATALOG])
def test_each_catalog_template_completed_parses_to_its_own_type(entry: CastCodeTemplate) -> None:
    code = entry.code.replace("{familiar}", "sage")
    if entry.kind in ("delegate", "broadcast"):
        code += " keep it local"  # the templates stop where the user types the text
    intent = parse(code)
    assert msgspec.json.decode(msgspec.json.encode(intent))["type"] == entry.kind


@pytest.mark.parametrize(
    ("intent", "canonical"),
    [
        (Status(None), "~?"),
        (Status("sage"), "~?sage"),
        (Switch("sage"), "~>sage"),
        (Delegate("sage", "fix it"), "~delegate:sage fix it"),
        (Delegate("sage", '"quoted" start'), '~delegate:sage ""quoted" start"'),
        (Broadcast(None, "be brief"), "~broadcast * be brief"),
        (Broadcast("sage", "be brief"), "~broadcast sage be brief"),
        (Resume(None), "~^ resume"),
        (Resume("sage"), "~^sage"),
        (Handoff(None), "~<handoff"),
        (Handoff("echo"), "~<echo"),
    ],
)
def test_render_spells_intents_in_the_catalog_form(intent: CastIntent, canonical: str) -> None:
    assert render(intent) == canonical
    assert parse(canonical) == intent


def test_intents_are_json_objects_tagged_by_type() -> None:
    intent = Delegate("sage", "fix it")
    wire = msgspec.json.encode(intent)
    assert wire == b'{"type":"delegate","familiar":"sage","text":"fix it"}'
    assert msgspec.json.decode(wire, type=CastIntent) == intent
    assert msgspec.json.encode(Broadcast(None, "x")) == (
        b'{"type":"broadcast","familiar":null,"text":"x"}'
    )


@pytest.mark.parametrize(
    "build",
    [
        lambda: Switch("two words"),
        lambda: Switch(""),
        lambda: Status("resume"),
        lambda: Delegate("sage", ""),
        lambda: Delegate("sage", " padded"),
        lambda: Broadcast(None, "line\nbreak"),
        lambda: Handoff("a" * 65),
    ],
)
def test_an_intent_that_no_code_could_spell_cannot_be_built(build: object) -> None:
    assert callable(build)
    with pytest.raises(ValueError):
        build()


def test_decoding_an_invalid_intent_is_a_validation_error() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(b'{"type":"switch","familiar":"a b"}', type=CastIntent)


def test_the_refused_characters_are_exactly_controls_but_tab_surrogates_and_separators() -> None:
    for point in range(0x10000):
        ch = chr(point)
        expected = ch != "\t" and unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")
        assert bad_character(ch) is expected, hex(point)


def test_a_long_code_parses_quickly() -> None:
    text = "word " * 200_000  # 1 MB of text
    started = time.perf_counter()
    assert parse("~* " + text) == Broadcast(None, text.strip())
    assert time.perf_counter() - started < 2.0
