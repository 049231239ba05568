"""Redaction: each credential format, payload keys, config, streaming splits."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from coven.redaction import (
    REDACTED,
    RedactionConfig,
    RedactionConfigInvalid,
    Redactor,
    StreamRedactor,
    is_secret_key,
    load_redaction_config,
    redact_payload,
    redact_text,
)
from coven.redaction import stream as stream_mod

PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAsecretbodyline1\n"
    "QWERTYsecretbodyline2\n"
    "-----END RSA PRIVATE KEY-----"
)

# (text, the secret part that must disappear)
SECRETS = [
    ("sk-abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345"),
    ("sk-proj-Abc_def-ghijklmnopqrstuvwxyz0123", "Abc_def-ghijklmnopqrstuvwxyz0123"),
    ("sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "api03-abcdefghijklmnopqrstuvwxyz"),
    ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnopqrstuvwxyz0123456789"),
    ("gho_abcdefghijklmnopqrstuvwxyz0123", "abcdefghijklmnopqrstuvwxyz0123"),
    ("ghs_abcdefghijklmnopqrstuvwxyz0123", "abcdefghijklmnopqrstuvwxyz0123"),
    ("github_pat_11ABCDEFG0123456789_abcdefghijkl", "11ABCDEFG0123456789_abcdefghijkl"),
    ("xoxb-123456789012-abcdefghijkl", "123456789012-abcdefghijkl"),
    ("xoxp-123456789012-abcdefghijkl", "123456789012-abcdefghijkl"),
    ("AKIAIOSFODNN7EXAMPLE", "IOSFODNN7EXAMPLE"),
    ("ASIAIOSFODNN7EXAMPLE", "IOSFODNN7EXAMPLE"),
    ("aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
    (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "dozjgNryP4J3jVmNHl0w5N",
    ),
    ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
    ("authorization: Basic Zm9vOmJhcg==", "Zm9vOmJhcg"),
    ("Proxy-Authorization: Basic Zm9vOmJhcg==", "Zm9vOmJhcg"),
    ("Bearer abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345"),
    ("Cookie: session=abc123; other=def456", "abc123"),
    ("Set-Cookie: sid=abc123; Path=/", "abc123"),
    ("password=hunter2", "hunter2"),
    ("password: hunter2", "hunter2"),
    ("passwd=hunter2", "hunter2"),
    ("DB_PASSWORD = 'correct horse'", "correct horse"),
    ("client_secret=s3cr3tvalue", "s3cr3tvalue"),
    ("token=abc123xyz", "abc123xyz"),
    ("export FOO_TOKEN=abc123xyz", "abc123xyz"),
    ("OPENAI_API_KEY=plainvalue123", "plainvalue123"),
    ('{"api_key": "abc def ghi"}', "abc def ghi"),
    ("postgres://user:pa55word@db.example.com/app", "pa55word"),
    ("https://alice:topsecret@example.com/", "topsecret"),
    ("https://api.internal.example.com/v1", "api.internal"),
    ("https://example.com/cb?token=zzzz1234&x=1", "zzzz1234"),
    ("https://example.com/cb?x=1&key=qqqq9876", "qqqq9876"),
    (PEM, "secretbody"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n(truncated", "b3BlbnNzaC1rZXk"),
]


@pytest.mark.parametrize(("text", "secret"), SECRETS, ids=[s[0][:24] for s in SECRETS])
def test_each_credential_format_is_redacted(text: str, secret: str) -> None:
    out = redact_text(f"before {text} after")
    assert secret not in out
    assert REDACTED in out
    assert out.startswith("before ")


@pytest.mark.parametrize(
    "text",
    [
        "max_tokens=100 input_tokens: 42",
        "tokenizer=fast keyboard: qwerty",
        "task-abcdefghijklmnopqrstuvwxyz0123",
        "Bearer a.b.c",
        "ssh://git@github.com/org/repo.git",
        "Password:",
        "see https://example.com/docs?page=2",
        "plain text with no secrets at all\n",
        "",
    ],
)
def test_harmless_text_is_unchanged(text: str) -> None:
    assert redact_text(text) == text


def test_names_are_kept_and_values_replaced() -> None:
    assert redact_text("password=hunter2 ok") == "password=[REDACTED] ok"
    assert redact_text('{"api_key": "x y"}') == '{"api_key": "[REDACTED]"}'
    assert redact_text("postgres://u:p@h/db") == "postgres://[REDACTED]@h/db"


def test_rejected_name_does_not_swallow_a_secret_in_its_value() -> None:
    assert "hunter2" not in redact_text("keyboard: password=hunter2")


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("Authorization", True),
        ("cookie", True),
        ("Set-Cookie", True),
        ("token", True),
        ("OPENAI_API_KEY", True),
        ("x-api-key", True),
        ("refresh_token", True),
        ("session_token", True),
        ("db-password", True),
        ("clientSecret", True),
        ("max_tokens", False),
        ("tokenizer", False),
        ("name", False),
        ("keyboard", False),
    ],
)
def test_secret_key_names(key: str, secret: bool) -> None:
    assert is_secret_key(key) is secret


def test_payload_replaces_secret_members_whole_and_redacts_strings() -> None:
    payload = {
        "data": "token ghp_abcdefghijklmnopqrstuvwxyz0123",
        "headers": {"Authorization": {"nested": "anything"}, "accept": "json"},
        "list": ["password=hunter2", 3, None, True],
        "api-key": 1234,
    }
    out, changed = redact_payload(payload)
    assert changed is True
    assert out["headers"]["Authorization"] == REDACTED
    assert out["headers"]["accept"] == "json"
    assert out["api-key"] == REDACTED
    assert out["list"] == ["password=[REDACTED]", 3, None, True]
    assert "ghp_" not in out["data"]
    assert payload["api-key"] == 1234  # input untouched


def test_payload_without_secrets_is_unchanged() -> None:
    payload = {"data": "hello\r\n", "n": [1, 2.5, {"ok": False}]}
    out, changed = redact_payload(payload)
    assert (out, changed) == (payload, False)


def test_payload_already_redacted_member_is_not_a_change() -> None:
    assert redact_payload({"token": REDACTED}) == ({"token": REDACTED}, False)


# --- config -----------------------------------------------------------------


def test_missing_config_gives_defaults(tmp_path: Path) -> None:
    assert load_redaction_config(tmp_path / "privacy.toml") == RedactionConfig()


def test_extra_patterns_are_applied(tmp_path: Path) -> None:
    path = tmp_path / "privacy.toml"
    path.write_text('extra_patterns = ["ACME-[0-9]{6}"]\npersist_raw_artifacts = false\n')
    config = load_redaction_config(path)
    assert redact_text("id ACME-123456 ok", config) == "id [REDACTED] ok"
    assert Redactor(config).text("ACME-12") == "ACME-12"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("extra_patterns = [", "not valid TOML"),
        ('extra_patterns = "x"', "must be an array"),
        ("extra_patterns = [1]", "non-empty string"),
        ('extra_patterns = [""]', "non-empty string"),
        ('extra_patterns = ["(unclosed"]', "not a valid regex"),
        ('extra_patterns = ["a*"]', "matches the empty string"),
    ],
)
def test_bad_config_fails_closed(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "privacy.toml"
    path.write_text(content)
    with pytest.raises(RedactionConfigInvalid, match=fragment) as info:
        load_redaction_config(path)
    assert str(path) in info.value.message


def test_non_utf8_config_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "privacy.toml"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(RedactionConfigInvalid):
        load_redaction_config(path)


def test_unreadable_config_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(RedactionConfigInvalid, match="cannot read"):
        load_redaction_config(tmp_path)  # a directory


# --- streaming ----------------------------------------------------------------


def _stream(chunks: list[str], redactor: StreamRedactor | None = None) -> str:
    sr = redactor or StreamRedactor()
    out = [sr.feed(c) for c in chunks]
    out.append(sr.flush())
    assert sr.held == 0
    return "".join(out)


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(max(c, 0), len(text)) for c in cuts})
    bounds = [0, *points, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def test_token_split_across_two_reads_is_caught() -> None:
    sr = StreamRedactor()
    first = sr.feed("log: ghp_abcdefghij")
    assert "ghp_" not in first
    assert sr.held > 0
    rest = sr.feed("klmnopqrstuvwxyz0123\n") + sr.flush()
    assert "abcdefghij" not in first + rest
    assert first + rest == "log: [REDACTED]\n"


def test_pem_split_by_a_pause_is_caught() -> None:
    sr = StreamRedactor()
    out = sr.feed("key:\n" + PEM[:60])
    out += sr.feed(PEM[60:] + "\ndone\n")
    out += sr.flush()
    assert out == "key:\n[REDACTED]\ndone\n"


def test_complete_lines_are_released_immediately() -> None:
    sr = StreamRedactor()
    assert sr.feed("hello\nwor") == "hello\n"
    assert sr.held == 3
    assert sr.flush() == "wor"


def test_long_line_without_newline_is_bounded() -> None:
    sr = StreamRedactor()
    out = sr.feed("word " * 4000)
    assert sr.held <= stream_mod.TAIL_MAX
    assert out
    assert out + sr.flush() == "word " * 4000


def test_huge_open_pem_block_is_swallowed_to_its_end() -> None:
    sr = StreamRedactor()
    body = "\n".join(["A" * 63 + "secretish"] * 2000)
    out = sr.feed("x\n-----BEGIN PRIVATE KEY-----\n" + body[:40000])
    assert sr.held <= stream_mod.PEM_MAX
    out += sr.feed(body[40000:])
    out += sr.feed("\n-----END PRIVATE KEY-----\nafter\n")
    out += sr.flush()
    assert "secretish" not in out
    assert out == "x\n[REDACTED]\nafter\n"


_SECRET_TEXTS = [t for t, _ in SECRETS]
_FILLER = st.text(alphabet="abcXYZ019 .,:/\n\r\t-_=", max_size=80)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    before=_FILLER,
    after=_FILLER,
    index=st.integers(0, len(SECRETS) - 1),
    cuts=st.lists(st.integers(0, 400), max_size=6),
)
def test_random_splits_never_leak_a_secret(
    before: str, after: str, index: int, cuts: list[int]
) -> None:
    text, secret = SECRETS[index]
    whole = f"{before} {text}\n{after}"
    out = _stream(_split(whole, cuts))
    assert secret not in out
    assert out == redact_text(whole)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300), cuts=st.lists(st.integers(0, 300), max_size=8))
def test_secret_free_text_passes_through_byte_exact(text: str, cuts: list[int]) -> None:
    assume(redact_text(text) == text)  # secret-looking text is covered above
    assert _stream(_split(text, cuts)) == text


# Text built from pieces of the triggers themselves, so triggers overlap, nest and repeat
# (``keyj`` holds both ``key`` and ``eyj``; ``authorization=`` holds ``auth``, ``auth=``...).
_TRIGGER_PIECES = st.sampled_from(
    [
        "key",
        "ey",
        "eyj",
        "auth",
        "orization",
        "=",
        "sk",
        "-",
        "pass",
        "word",
        "token",
        "x",
        "ox",
        "://",
        "gh",
        "p_",
        "secret",
        "sig",
        "nature=",
        "K",
        "\u212a",
        "é",
        " ",
        "\n",
    ]
)


@settings(max_examples=500, deadline=None)
@given(pieces=st.lists(_TRIGGER_PIECES, max_size=120))  # past FULL_RESCAN_MATCHES too
def test_trigger_scan_finds_exactly_the_triggers_present(pieces: list[str]) -> None:
    # The fast scan reports non-overlapping matches and rescans around them; whatever
    # the overlaps, it must find the same triggers as testing each one on its own.
    from coven.redaction.patterns import BUILTIN_RULES, _gates, _present

    lower = "".join(pieces).lower()
    gates = _gates(BUILTIN_RULES)
    assert _present(lower, gates) == {t for t in gates.triggers if t in lower}


def test_trigger_scan_finds_overlapping_triggers() -> None:
    from coven.redaction.patterns import BUILTIN_RULES, _gates, _present

    gates = _gates(BUILTIN_RULES)
    assert _present("a keyj b", gates) == {"key", "eyj"}
    assert _present("authorization=", gates) >= {"auth", "authorization"}
    assert _present("plain output, nothing here", gates) == set()
    many = "token " * 40 + "a keyj b"  # more matches than windows are rescanned for
    assert _present(many, gates) == {"token", "key", "eyj"}


_CASE_PIECES = st.sampled_from(
    [
        "Authorization",
        "AUTH",
        "auth_Token",
        "Cookie",
        "set-COOKIE",
        "Bearer ",
        "Password",
        "pass",
        "Secret",
        "KEY",
        "key",
        "Token",
        "sig",
        "https://",
        "Internal",
        "GATEWAY",
        "?token",
        "&Key",
        "=",
        ": ",
        " ",
        "\t",
        "'",
        '"',
        "abcDEF0123456789ghiJKL",
        "x-Y_z.",
        "\u212a",
        "é",
        "\n",
        "/",
        "\u0130",
    ]  # Kelvin sign lowers to k; dotted I changes length
)


@settings(max_examples=600, deadline=None)
@given(pieces=st.lists(_CASE_PIECES, max_size=30))
def test_lowered_rules_find_what_case_insensitive_rules_find(pieces: list[str]) -> None:
    # Each built-in case-insensitive rule also runs as a case-sensitive pattern over the
    # lower-cased text (much faster); both must give the same hits on any text whose
    # lower-cased form keeps its length (otherwise find_hits never uses the fast form).
    from coven.redaction.patterns import BUILTIN_RULES

    text = "".join(pieces)
    lower = text.lower()
    assume(len(lower) == len(text))
    fast = [rule for rule in BUILTIN_RULES if rule.lowered is not None]
    assert len(fast) == 6
    for rule in fast:
        assert list(rule.hits(text, lower)) == list(rule.hits(text)), rule.name
