"""``COVEN_HOME/notify.toml``: where notifications go (parsing only, no I/O).

The file holds one setting, ``url = "https://ntfy.sh/my-topic"``: the webhook that
receives an ntfy-compatible plain-text POST when a session starts waiting for its
user or finishes. The daemon reads it before each notification; ``coven doctor``
checks it.
"""

from __future__ import annotations

import tomllib

NOTIFY_FILE = "notify.toml"


class NotifyConfigError(ValueError):
    """notify.toml cannot be used; the message says why, naming the file."""


def parse_notify_config(data: bytes, where: str) -> str:
    """The webhook URL in ``data`` (the bytes of ``where``), or ``NotifyConfigError``."""
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise NotifyConfigError(f"{where}: not valid TOML ({exc})") from exc
    url = doc.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise NotifyConfigError(
            f'{where}: `url` must be an http(s) URL, e.g. url = "https://ntfy.sh/my-topic"'
        )
    unknown = sorted(set(doc) - {"url"})
    if unknown:
        raise NotifyConfigError(f"{where}: unknown setting(s) {', '.join(unknown)} (only `url`)")
    return url
