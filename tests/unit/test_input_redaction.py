"""Typed input is redacted with memory across requests."""

from __future__ import annotations

from coven.redaction import InputRedactor, Redactor

KEY = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"


def test_token_typed_in_two_requests_is_redacted_in_the_second() -> None:
    red = InputRedactor(Redactor())
    first = red.redact("export GITHUB_TOKEN=" + KEY[:10])
    second = red.redact(KEY[10:] + "\n")
    assert KEY[:10] not in first
    assert KEY[10:] not in second
    assert second.endswith("\n")


def test_pem_block_typed_line_by_line_never_stores_the_body() -> None:
    red = InputRedactor(Redactor())
    lines = [
        "-----BEGIN RSA PRIVATE KEY-----\n",
        "MIIEowIBAAKCAQEAsecretbodyline1\n",
        "secretbodyline2==\n",
        "-----END RSA PRIVATE KEY-----\n",
        "ls -la\n",
    ]
    stored = "".join(red.redact(line) for line in lines)
    assert "secretbodyline" not in stored
    assert stored.endswith("ls -la\n")


def test_plain_input_is_unchanged() -> None:
    red = InputRedactor(Redactor())
    for text in ["hello\r", "", "\x03", "git status\n", "password"]:
        assert red.redact(text) == text
