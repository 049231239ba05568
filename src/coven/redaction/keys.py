"""Which JSON member names (and ``NAME=value`` names) count as secret."""

from __future__ import annotations

_EXACT = frozenset({"authorization", "proxy_authorization", "cookie", "set_cookie", "token"})
_CONTAINS = (
    "api_key",
    "apikey",
    "access_token",
    "refresh_token",
    "auth_token",
    "github_token",
    "private_key",
    "password",
    "passwd",
    "passphrase",
    "secret",
)


def is_secret_key(name: str) -> bool:
    """True when a value named ``name`` must be replaced whole.

    Case-insensitive, ``-`` treated as ``_``: equals ``authorization``,
    ``cookie``, ``set_cookie`` or ``token``; contains ``api_key``, ``apikey``,
    ``access_token``, ``refresh_token``, ``auth_token``, ``github_token``,
    ``private_key``, ``password``, ``passwd``, ``passphrase`` or ``secret``; or
    ends with ``_token``. (The reference's rules plus ``passwd``/``passphrase``.)
    """
    key = name.lower().replace("-", "_")
    return key in _EXACT or key.endswith("_token") or any(part in key for part in _CONTAINS)
