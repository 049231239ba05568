"""Secret patterns and the span finder shared by whole-text and streaming redaction.

Each rule is gated by cheap substring triggers (C-speed ``in`` tests) so plain
output never runs a regex. Rules report the span to replace and the start of
the whole match (the context a streaming caller must keep together). Every
built-in rule except PEM blocks stays within one line (never crosses ``\\r`` or
``\\n``); ``StreamRedactor`` relies on that.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import ahocorasick_rs

from coven.redaction.keys import is_secret_key

REDACTED = "[REDACTED]"


@dataclass(frozen=True, slots=True)
class Hit:
    """A found secret: replace ``text[start:end]``; the match began at ``origin``."""

    origin: int
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Rule:
    """A regex whose group ``s`` (or whole match) is secret, gated by triggers."""

    name: str
    regex: re.Pattern[str]
    triggers: tuple[str, ...] = ()
    lower_triggers: tuple[str, ...] = ()
    # Optional filter on the match (e.g. the name must be secret-looking).
    accept: Callable[[str, re.Match[str]], int | None] | None = None

    def triggered(self, text: str, lower: str) -> bool:
        if not self.triggers and not self.lower_triggers:
            return True
        return any(t in text for t in self.triggers) or any(t in lower for t in self.lower_triggers)

    @property
    def gate(self) -> frozenset[str]:
        """Lower-cased triggers: present in ``text.lower()`` whenever the rule can match."""
        return frozenset(t.lower() for t in self.triggers) | frozenset(self.lower_triggers)

    def hits(self, text: str) -> Iterator[Hit]:
        pos = 0
        while (m := self.regex.search(text, pos)) is not None:
            origin = m.start()
            if self.accept is not None:
                accepted = self.accept(text, m)
                if accepted is None:
                    # A rejected match must not swallow a secret in its value
                    # (``keyboard: password=x``): resume right after the name.
                    pos = m.end("name") if "name" in m.re.groupindex else m.start() + 1
                    continue
                origin = accepted
            start, end = _secret_span(m)
            if end > start:
                yield Hit(origin, start, end)
            pos = max(m.end(), m.start() + 1)


def _secret_span(m: re.Match[str]) -> tuple[int, int]:
    for group in ("s", "s1", "s2", "s3"):
        if group in m.re.groupindex and m.group(group) is not None:
            return m.span(group)
    return m.span()


_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def _secret_name(text: str, m: re.Match[str]) -> int | None:
    """Accept an assignment only when its full name is secret-looking; return its start."""
    begin = m.start()
    while begin > 0 and text[begin - 1] in _NAME_CHARS:
        begin -= 1
    name = text[begin : m.end("name")]
    return begin if is_secret_key(name) else None


_VALUE = (
    r"(?:\"(?P<s1>[^\"\r\n]*)\"|'(?P<s2>[^'\r\n]*)'"
    r"|(?P<s3>(?:(?:bearer|basic|token)[ \t]+)?[^\s\"'`,;&<>(){}\[\]]+))"
)

# The markers of a PEM private-key block; the one definition every redactor uses.
PEM_BEGIN_SOURCE = r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----"
PEM_END_SOURCE = r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----"
PEM_BEGIN = re.compile(PEM_BEGIN_SOURCE)
PEM_END = re.compile(PEM_END_SOURCE)

BUILTIN_RULES: tuple[Rule, ...] = (
    Rule(
        "pem_private_key",
        # An unterminated block is redacted to the end of the text (fail closed).
        re.compile(PEM_BEGIN_SOURCE + r"(?:.*?" + PEM_END_SOURCE + r"|.*\Z)", re.DOTALL),
        triggers=("-----BEGIN",),
    ),
    Rule(
        "authorization_header",
        re.compile(
            r"(?i)\b(?:proxy-)?authorization[ \t]*[:=][ \t]*"
            r"(?P<s>(?:(?:bearer|basic|token|digest|negotiate)[ \t]+)?[^\s\"',;]+)"
        ),
        lower_triggers=("authorization",),
    ),
    Rule(
        "cookie_header",
        re.compile(r"(?i)\b(?:set-)?cookie[ \t]*:[ \t]*(?P<s>[^\r\n]+)"),
        lower_triggers=("cookie",),
    ),
    Rule(
        "bearer_token",
        re.compile(r"(?i)\bbearer[ \t]+(?P<s>[A-Za-z0-9._~+/=-]{20,})"),
        lower_triggers=("bearer",),
    ),
    Rule(
        "secret_assignment",
        # Starts at the keyword (fast literal scan); _secret_name walks back to
        # the start of the name and checks the whole name.
        re.compile(
            r"(?i)(?P<name>(?:pass|secret|token|key|auth|cookie)[A-Za-z0-9_.-]*)"
            r"[\"']?[ \t]*[:=][ \t]*" + _VALUE
        ),
        lower_triggers=("pass", "secret", "token", "key", "auth", "cookie"),
        accept=_secret_name,
    ),
    Rule(
        "api_key_sk",
        re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"),
        triggers=("sk-",),
    ),
    Rule(
        "github_token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
        triggers=("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    Rule(
        "slack_token",
        re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        triggers=("xox",),
    ),
    Rule(
        "aws_access_key_id",
        re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        triggers=("AKIA", "ASIA"),
    ),
    Rule(
        "jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
        triggers=("eyJ",),
    ),
    Rule(
        "url_credentials",
        re.compile(r"://(?P<s>[^\s/?#@:\"'<>]+:[^\s/?#@\"'<>]*)@"),
        triggers=("://",),
    ),
    Rule(
        "internal_url",
        re.compile(r"(?i)\bhttps?://[^\s\"'<>]*(?:gateway|private|internal)[^\s\"'<>]*"),
        lower_triggers=("gateway", "private", "internal"),
    ),
    Rule(
        "query_secret",
        re.compile(
            r"(?i)[?&](?:token|key|secret|api_key|apikey|access_token|auth|password|sig|signature)"
            r"=(?P<s>[^&\s#\"'<>]+)"
        ),
        # Every name the regex accepts ends in one of these (api_key= ends in key=, …).
        lower_triggers=("token=", "key=", "secret=", "auth=", "password=", "sig=", "signature="),
    ),
)


@functools.lru_cache(maxsize=16)
def _gates(
    rules: tuple[Rule, ...],
) -> tuple[tuple[frozenset[str], ...], frozenset[str], ahocorasick_rs.AhoCorasick]:
    gates = tuple(rule.gate for rule in rules)
    triggers = frozenset().union(*gates)
    # One Aho-Corasick pass finds every trigger present: several times faster than one
    # substring scan per trigger, and this gate is where plain output spends its time.
    return gates, triggers, ahocorasick_rs.AhoCorasick(sorted(triggers))


def find_hits(text: str, rules: tuple[Rule, ...]) -> list[Hit]:
    """All hits of ``rules`` in ``text``, sorted by span start."""
    lower = text.lower()
    if len(lower) != len(text):
        # Some characters change length when lowered; fall back to running
        # every rule rather than trusting triggers on misaligned text.
        lower = ""
    hits: list[Hit] = []
    # Scan the text once per distinct trigger rather than once per rule and trigger:
    # on plain output this gate is where nearly all redaction time goes.
    gates, _triggers, automaton = _gates(rules)
    present = set(automaton.find_matches_as_strings(lower, overlapping=True)) if lower else set()
    for rule, gate in zip(rules, gates, strict=True):
        if not lower or not gate or not gate.isdisjoint(present):
            hits.extend(rule.hits(text))
    hits.sort(key=lambda h: (h.start, h.end))
    return hits


def apply_hits(text: str, hits: list[Hit], limit: int | None = None) -> str:
    """``text[:limit]`` with the union of hit spans (ending by ``limit``) replaced.

    Overlapping spans merge into one ``[REDACTED]``.
    """
    end_at = len(text) if limit is None else limit
    out: list[str] = []
    pos = 0
    cur_start = cur_end = -1
    for hit in hits:
        if hit.end > end_at:
            continue
        if hit.start < cur_end:
            cur_end = max(cur_end, hit.end)
            continue
        if cur_end >= 0:
            out.append(text[pos:cur_start])
            out.append(REDACTED)
            pos = cur_end
        cur_start, cur_end = hit.start, hit.end
    if cur_end >= 0:
        out.append(text[pos:cur_start])
        out.append(REDACTED)
        pos = cur_end
    out.append(text[pos:end_at])
    return "".join(out)
