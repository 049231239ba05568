"""The daemon imports aiohttp without loading the system trust store, leaving no trace."""

from __future__ import annotations

import os
import ssl
import threading
from pathlib import Path

import pytest

from coven.trust_store import no_trust_store

# A throwaway self-signed CA certificate (its key was never kept), valid until 2126.
TEST_CA = """\
-----BEGIN CERTIFICATE-----
MIIBiDCCAS2gAwIBAgIUQmAi10+nirwwgDHJqNyNC/BQovMwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNQ292ZW4gdGVzdCBDQTAgFw0yNjExMzAwNDIyNDJaGA8yMTI2
MTEwNjA0MjI0MlowGDEWMBQGA1UEAwwNQ292ZW4gdGVzdCBDQTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABD1h2xlwtV8+m5Q7yBEmEYCU4D4mJ9I7PCbLEHnj56vP
hmYnIQLIACAS/0dzZFPSWw+jaiBgVxXEshou1YEcvAKjUzBRMB0GA1UdDgQWBBRO
/uxJSw3M/P5l2/Q2j62pYvBahjAfBgNVHSMEGDAWgBRO/uxJSw3M/P5l2/Q2j62p
YvBahjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQDOTDReZ+UF
2kkMuyrVhpbX3E6iDJIJgvIfRJGz3RpoiAIhAK0Garuk/dApDqXODsUMhpBr9/Rt
HQaXR2uo57rAFmki
-----END CERTIFICATE-----
"""


def _cas(context: ssl.SSLContext) -> int:
    return context.cert_store_stats()["x509_ca"]


@pytest.fixture
def a_trust_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A default trust store that surely holds one CA, whatever this machine has."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text(TEST_CA)
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "no-such-dir"))


def test_inside_no_default_ca_is_loaded_and_after_it_is_again(a_trust_store: None) -> None:
    assert _cas(ssl.create_default_context()) == 1
    env = dict(os.environ)
    with no_trust_store():
        assert _cas(ssl.create_default_context()) == 0
        unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        unverified.set_default_verify_paths()  # as aiohttp does for its unverified context
        assert _cas(unverified) == 0
        assert dict(os.environ) == env  # no setenv: safe with other threads running
    assert _cas(ssl.create_default_context()) == 1
    assert "set_default_verify_paths" not in ssl.SSLContext.__dict__


def test_everything_is_restored_when_the_import_fails(a_trust_store: None) -> None:
    with pytest.raises(ImportError), no_trust_store():
        raise ImportError("boom")
    assert "set_default_verify_paths" not in ssl.SSLContext.__dict__
    assert _cas(ssl.create_default_context()) == 1


def test_other_threads_load_the_default_cas_meanwhile(a_trust_store: None) -> None:
    # The daemon imports aiohttp on a worker thread while its other threads run: a
    # webhook sent from one of them meanwhile must still trust what it always did.
    seen: list[int] = []
    with no_trust_store():
        other = threading.Thread(target=lambda: seen.append(_cas(ssl.create_default_context())))
        other.start()
        other.join(10)
        assert _cas(ssl.create_default_context()) == 0
    assert seen == [1]
