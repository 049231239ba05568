"""The daemon and the CLI import aiohttp without loading the system trust store, leaving no trace."""

from __future__ import annotations

import os

import pytest

from coven.trust_store import no_trust_store


def test_the_trust_store_is_hidden_inside_and_the_environment_restored_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv("SSL_CERT_DIR", "/somewhere/certs")
    with no_trust_store():
        assert os.environ["SSL_CERT_FILE"] == os.devnull
        assert os.environ["SSL_CERT_DIR"] == os.devnull
    # Sessions inherit the daemon's environment: it must be exactly what the user had.
    assert "SSL_CERT_FILE" not in os.environ
    assert os.environ["SSL_CERT_DIR"] == "/somewhere/certs"


def test_the_environment_is_restored_when_the_import_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", "/my/bundle.pem")
    with pytest.raises(ImportError), no_trust_store():
        raise ImportError("boom")
    assert os.environ["SSL_CERT_FILE"] == "/my/bundle.pem"
