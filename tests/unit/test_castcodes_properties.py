"""Property tests: the parser is total over strings and render/parse round-trip."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

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
from coven.errors import CastCodeError
from coven.schema.familiars import MAX_FAMILIAR_ID_LENGTH, is_familiar_id

INTENT_TYPES = (Status, Switch, Delegate, Broadcast, Resume, Handoff)

# Codes assembled from the grammar's own pieces, so that most generated strings
# get deep into it (or parse) instead of failing at the first character.
SPACE = st.sampled_from(["", " ", "  ", "\t"])
OPERATOR = st.sampled_from(
    [
        "?",
        ">",
        "^",
        "<",
        "*",
        "delegate:",
        "DeLeGaTe:",
        "broadcast",
        "broadcast:",
        "sage:",
        "~",
        "!",
        "",
    ]
)
NAMEISH = (
    st.from_regex(r"[A-Za-z0-9_-]{0,6}", fullmatch=True)
    | st.sampled_from(["resume", "handoff", "delegate", "Resume", "*", "x" * 65])
    | st.text(max_size=2)
)
TEXTISH = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")) | st.sampled_from(list(' "\t:')),
    max_size=8,
) | st.text(max_size=4)
CODES = st.builds(
    lambda *parts: "".join(parts),
    st.sampled_from(["", "", " ", "\n"]),
    st.sampled_from(["~"] * 8 + ["", "?"]),
    OPERATOR,
    SPACE,
    NAMEISH,
    SPACE,
    st.sampled_from(["", "", "*", ":", '"']),
    SPACE,
    TEXTISH,
    st.sampled_from(["", "", '"', " ", "\r\n"]),
)

FAMILIARS = st.from_regex(rf"[A-Za-z0-9_-]{{1,{MAX_FAMILIAR_ID_LENGTH}}}", fullmatch=True).filter(
    is_familiar_id
)
TEXTS = (
    st.text(min_size=1)
    .map(lambda text: text.strip(" \t"))
    .filter(lambda text: bool(text) and not any(bad_character(ch) for ch in text))
)
INTENTS: st.SearchStrategy[CastIntent] = st.one_of(
    st.builds(Status, st.none() | FAMILIARS),
    st.builds(Switch, FAMILIARS),
    st.builds(Delegate, FAMILIARS, TEXTS),
    st.builds(Broadcast, st.none() | FAMILIARS, TEXTS),
    st.builds(Resume, st.none() | FAMILIARS),
    st.builds(Handoff, st.none() | FAMILIARS),
)


def outcome(code: str) -> CastIntent | CastCodeError:
    """Parse, turning only ``CastCodeError`` into a value: anything else fails the test."""
    try:
        return parse(code)
    except CastCodeError as error:
        return error


@settings(max_examples=1000, deadline=None)
@given(st.text() | CODES | CODES)
def test_every_string_parses_to_one_intent_or_one_cast_code_error(code: str) -> None:
    result = outcome(code)
    if isinstance(result, CastCodeError):
        assert result.reason in REASONS
        assert 0 <= result.position <= len(code)
        assert result.expected and result.message
        assert (result.code, result.status) == ("invalid_cast_code", 400)
    else:
        assert isinstance(result, INTENT_TYPES)
        # Deterministic: the same code always means the same intent.
        assert parse(code) == result


@settings(max_examples=500, deadline=None)
@given(INTENTS)
def test_rendering_an_intent_and_parsing_it_gives_the_same_intent(intent: CastIntent) -> None:
    assert parse(render(intent)) == intent


@settings(max_examples=1000, deadline=None)
@given(CODES)
def test_a_parsed_code_and_its_canonical_form_mean_the_same(code: str) -> None:
    result = outcome(code)
    if not isinstance(result, CastCodeError):
        assert parse(render(result)) == result


@settings(max_examples=200, deadline=None)
@given(INTENTS)
def test_intents_survive_the_wire(intent: CastIntent) -> None:
    assert msgspec.json.decode(msgspec.json.encode(intent), type=CastIntent) == intent


@settings(max_examples=200, deadline=None)
@given(INTENTS, st.sampled_from(["", " ", "  \t", "\n", "\r\n"]))
def test_surrounding_white_space_never_changes_the_meaning(intent: CastIntent, pad: str) -> None:
    assert parse(pad.replace("\n", "") + render(intent) + pad) == intent
