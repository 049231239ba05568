"""Typed input is held until it can be judged, so typing never stores what pasting would hide."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from coven.redaction import redact_text
from coven.redaction.typed_input import TAIL_MAX, TypedInputRedactor
from tests.unit.test_redaction import PEM, SECRETS

KEY = "sk-proj-ABCDEFGHIJKLMN0123456789"


def _typed(keys: list[str], *, idle_after: set[int] | None = None) -> str:
    """Feed each key as its own input; an idle release after the keys in ``idle_after``."""
    typed = TypedInputRedactor()
    out = []
    for n, key in enumerate(keys):
        out.append(typed.feed(key).text)
        if idle_after is not None and n in idle_after:
            out.append(typed.release_words().text)
    out.append(typed.flush().text)
    assert typed.held == 0
    return "".join(out)


def test_a_key_typed_one_character_at_a_time_is_stored_as_pasting_would_store_it() -> None:
    """Before: ``sk-proj-ABCDEFGHIJKLMN`` was stored in clear, then one [REDACTED] per key."""
    typed = TypedInputRedactor()
    stored = [typed.feed(key) for key in KEY]
    assert all(piece.text == "" for piece in stored)  # nothing judged yet: nothing stored
    enter = typed.feed("\r")
    assert enter == ("[REDACTED]\r", True)
    assert enter.text == redact_text(KEY + "\r")


def test_enter_releases_the_line_at_once_and_keeps_what_follows() -> None:
    typed = TypedInputRedactor()
    assert typed.feed("ls -la") == ("", False)
    assert typed.feed("\rgit st") == ("ls -la\r", False)
    assert typed.held == len("git st")
    assert typed.flush() == ("git st", False)


def test_an_idle_release_stops_before_a_word_that_could_still_grow_into_a_secret() -> None:
    typed = TypedInputRedactor()
    typed.feed("echo sk-proj-ABC")
    assert typed.release_words() == ("echo ", False)
    typed.feed("DEFGHIJKLMNOPQRSTUVWXYZ")
    assert typed.release_words() == ("", False)  # a key reaching the end could grow
    assert typed.feed("\r") == ("[REDACTED]\r", True)


def test_a_value_typed_after_a_pause_is_recognised_by_its_released_name() -> None:
    typed = TypedInputRedactor()
    typed.feed("export OPENAI_API_KEY=")
    assert typed.release_words() == ("export ", False)
    typed.feed("plain")
    typed.feed("value123")
    assert typed.feed("\n") == ("OPENAI_API_KEY=[REDACTED]\n", True)
    typed.feed("password: ")
    assert typed.release_words() == ("password: ", False)
    assert typed.feed("hunter2\r") == ("[REDACTED]\r", True)


def test_a_pem_block_typed_line_by_line_is_stored_as_one_redaction() -> None:
    lines = [line + "\n" for line in PEM.split("\n")] + ["ls -la\n"]
    assert _typed(lines) == "[REDACTED]\nls -la\n"
    assert "secretbody" not in _typed(list(PEM + "\nls\n"), idle_after=set(range(200)))


def test_plain_typing_is_stored_unchanged() -> None:
    for keys in (list("hello\r"), ["", "\x03"], list("git status\n"), ["password"], ["\x1b[A"]):
        assert _typed(keys) == "".join(keys)


def test_held_text_is_bounded() -> None:
    typed = TypedInputRedactor()
    stored = typed.feed("word " * 4000).text
    assert typed.held <= TAIL_MAX
    assert stored + typed.flush().text == "word " * 4000


def test_a_huge_open_pem_block_is_dropped_up_to_its_end() -> None:
    typed = TypedInputRedactor()
    body = "\n".join(["A" * 63 + "secretish"] * 2000)
    out = typed.feed("x\n-----BEGIN PRIVATE KEY-----\n" + body[:40000]).text
    out += typed.feed(body[40000:]).text
    out += typed.feed("\n-----END PRIVATE KEY-----\nafter\n").text
    out += typed.flush().text
    assert "secretish" not in out
    assert out == "x\n[REDACTED]\nafter\n"


_FILLER = st.text(alphabet="abcXYZ019 .,:/\n\r\t-_=", max_size=60)


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(max(c, 0), len(text)) for c in cuts})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=_FILLER,
    after=_FILLER,
    index=st.integers(0, len(SECRETS) - 1),
    cuts=st.lists(st.integers(0, 400), max_size=12),
)
def test_typed_in_any_pieces_is_stored_exactly_as_pasted(
    before: str, after: str, index: int, cuts: list[int]
) -> None:
    text, _secret = SECRETS[index]
    whole = f"{before} {text}\n{after}"
    assert _typed(_split(whole, cuts)) == redact_text(whole)
    assert _typed(list(whole)) == redact_text(whole)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=_FILLER,
    after=_FILLER,
    index=st.integers(0, len(SECRETS) - 1),
    pauses=st.sets(st.integers(0, 400), max_size=40),
)
def test_pauses_while_typing_never_store_what_pasting_hides(
    before: str, after: str, index: int, pauses: set[int]
) -> None:
    text, secret = SECRETS[index]
    whole = f"{before} {text}\n{after}"
    pasted = redact_text(whole)
    stored = _typed(list(whole), idle_after=pauses)
    # Not the secret, and no piece of it (6 characters) that the pasted form hides.
    for n in range(len(secret) - 5):
        piece = secret[n : n + 6]
        if piece not in pasted and piece not in before + after:
            assert piece not in stored, (whole, sorted(pauses), stored)


def test_a_quoted_value_is_not_released_while_its_quote_is_open() -> None:
    typed = TypedInputRedactor()
    typed.feed('{"api_key": "abc def')
    assert typed.release_words() == ('{"api_key": ', False)  # up to the open quote
    assert typed.feed(' ghi"}\n') == ('"[REDACTED]"}\n', True)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200), pauses=st.sets(st.integers(0, 200), max_size=20))
def test_secret_free_typing_passes_through_byte_exact(text: str, pauses: set[int]) -> None:
    assume(redact_text(text) == text)
    assert _typed(list(text), idle_after=pauses) == text


def test_a_long_pem_block_begun_before_a_pause_is_still_dropped_to_its_end() -> None:
    typed = TypedInputRedactor()
    out = typed.feed("-----BEGIN ").text
    out += typed.release_words().text  # "-----BEGIN " goes: nothing secret yet
    body = "\n".join(["B" * 63 + "secretish"] * 200)  # over TAIL_MAX, under PEM_MAX
    for line in ("RSA PRIVATE KEY-----\n" + body + "\n-----END RSA PRIVATE KEY-----\nok\n").split(
        "\n"
    ):
        out += typed.feed(line + "\n").text
    out += typed.flush().text
    assert "secretish" not in out
    assert out.endswith("[REDACTED]\nok\n\n")
