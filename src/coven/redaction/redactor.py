"""Whole-text and JSON-payload redaction."""

from __future__ import annotations

from typing import Any

from coven.redaction.config import RedactionConfig
from coven.redaction.keys import is_secret_key
from coven.redaction.patterns import BUILTIN_RULES, REDACTED, Hit, Rule, apply_hits, find_hits


class Redactor:
    """Built-in rules plus a config's extra patterns, applied to text and payloads."""

    def __init__(self, config: RedactionConfig | None = None) -> None:
        extra = config.extra_patterns if config is not None else ()
        self.rules: tuple[Rule, ...] = BUILTIN_RULES + tuple(
            Rule(f"extra_{i}", pattern) for i, pattern in enumerate(extra)
        )

    def hits(self, text: str) -> list[Hit]:
        """Every secret span in ``text``, sorted by start."""
        return find_hits(text, self.rules)

    def text(self, text: str) -> str:
        """``text`` with every secret replaced by ``[REDACTED]``; unchanged if none."""
        hits = self.hits(text)
        return apply_hits(text, hits) if hits else text

    def payload(self, obj: Any) -> tuple[Any, bool]:
        """Redact a decoded JSON value recursively; return ``(value, changed)``.

        Members with secret-looking names (``is_secret_key``) are replaced whole
        by ``"[REDACTED]"``; every other string is passed through ``text``. The
        input is not modified.
        """
        if isinstance(obj, str):
            red = self.text(obj)
            return red, red != obj
        if isinstance(obj, dict):
            out: dict[Any, Any] = {}
            changed = False
            for key, value in obj.items():
                if isinstance(key, str) and is_secret_key(key):
                    out[key] = REDACTED
                    changed = changed or value != REDACTED
                else:
                    out[key], sub = self.payload(value)
                    changed = changed or sub
            return out, changed
        if isinstance(obj, list | tuple):
            items = [self.payload(item) for item in obj]
            return [v for v, _ in items], any(c for _, c in items)
        return obj, False


_DEFAULT = Redactor()


def redact_text(text: str, config: RedactionConfig | None = None) -> str:
    """Redact ``text`` with the built-in rules (plus ``config``'s patterns)."""
    return (_DEFAULT if config is None else Redactor(config)).text(text)


def redact_payload(obj: Any, config: RedactionConfig | None = None) -> tuple[Any, bool]:
    """Redact a decoded JSON value; see ``Redactor.payload``."""
    return (_DEFAULT if config is None else Redactor(config)).payload(obj)
