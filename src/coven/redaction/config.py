"""Optional user redaction patterns from ``privacy.toml`` (fail closed)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import msgspec

from coven.errors import CovenError


class RedactionConfigInvalid(CovenError):
    """``privacy.toml`` is unreadable or invalid; the daemon must not start."""

    code = "redaction_config_invalid"
    status = 500


class RedactionConfig(msgspec.Struct, frozen=True):
    """User patterns whose whole matches are redacted, on top of the built-in rules."""

    extra_patterns: tuple[re.Pattern[str], ...] = ()


def load_redaction_config(path: Path) -> RedactionConfig:
    """Read ``extra_patterns = ["regex", ...]`` from the TOML file at ``path``.

    A missing file gives the defaults. An unreadable or malformed file, a
    non-list ``extra_patterns``, a non-string entry, an invalid regex or one that
    matches the empty string raises ``RedactionConfigInvalid`` naming the file
    (and the entry). Other keys are ignored.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return RedactionConfig()
    except OSError as exc:
        raise RedactionConfigInvalid(f"cannot read `{path}`: {exc.strerror}") from exc
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RedactionConfigInvalid(f"`{path}` is not valid TOML: {exc}") from exc
    entries = doc.get("extra_patterns", [])
    if not isinstance(entries, list):
        raise RedactionConfigInvalid(f"`{path}`: extra_patterns must be an array of strings")
    compiled: list[re.Pattern[str]] = []
    for index, entry in enumerate(entries):
        where = f"`{path}`: extra_patterns[{index}]"
        if not isinstance(entry, str) or not entry:
            raise RedactionConfigInvalid(f"{where} must be a non-empty string")
        try:
            pattern = re.compile(entry)
        except re.error as exc:
            raise RedactionConfigInvalid(f"{where} is not a valid regex: {exc}") from exc
        if pattern.fullmatch("") is not None:
            raise RedactionConfigInvalid(f"{where} matches the empty string")
        compiled.append(pattern)
    return RedactionConfig(extra_patterns=tuple(compiled))
