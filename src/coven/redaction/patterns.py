"""Secret patterns and the span finder shared by whole-text and streaming redaction.

Each rule is gated by substring triggers, all found in one Aho-Corasick pass, so
plain output never runs a regex. Rules report the span to replace and the start of
the whole match (the context a streaming caller must keep together). Every
built-in rule except PEM blocks stays within one line (never crosses ``\\r`` or
``\\n``); ``StreamRedactor`` relies on that.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import TypedDict

import ahocorasick_rs
import msgspec

from coven.redaction.keys import is_secret_key

REDACTED = "[REDACTED]"


class Hit(msgspec.Struct, frozen=True):
    """A found secret: replace ``text[start:end]``; the match began at ``origin``."""

    origin: int
    start: int
    end: int


class Rule(msgspec.Struct, frozen=True):
    """A regex whose group ``s`` (or whole match) is secret, gated by triggers."""

    name: str
    regex: re.Pattern[str]
    triggers: tuple[str, ...] = ()
    lower_triggers: tuple[str, ...] = ()
    # Optional filter on the match (e.g. the name must be secret-looking).
    accept: Callable[[str, re.Match[str]], int | None] | None = None
    # The same case-insensitive rule as a case-sensitive pattern over ``text.lower()``:
    # Python's engine looks for a literal prefix only when matching case-sensitively,
    # which made output full of trigger words (``tokens``, ``key``) about 18 times
    # faster to scan. Built-in rules only: their letters are all lower case (a test
    # checks both forms find the same hits).
    lowered: re.Pattern[str] | None = None

    def triggered(self, text: str, lower: str) -> bool:
        if not self.triggers and not self.lower_triggers:
            return True
        return any(t in text for t in self.triggers) or any(t in lower for t in self.lower_triggers)

    @property
    def gate(self) -> frozenset[str]:
        """Lower-cased triggers: present in ``text.lower()`` whenever the rule can match."""
        return frozenset(t.lower() for t in self.triggers) | frozenset(self.lower_triggers)

    def hits(self, text: str, lower: str | None = None) -> Iterator[Hit]:
        """Every hit in ``text``; ``lower`` is ``text.lower()`` when it has the same length."""
        regex, subject = self.regex, text
        if self.lowered is not None and lower is not None:
            regex, subject = self.lowered, lower  # same positions: same length
        pos = 0
        while (m := regex.search(subject, pos)) is not None:
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


class _CaseFree(TypedDict):
    regex: re.Pattern[str]
    lowered: re.Pattern[str]


def _insensitive(source: str) -> _CaseFree:
    """A case-insensitive rule and its lowered form (``source`` in lower case only)."""
    return {"regex": re.compile("(?i)" + source), "lowered": re.compile(source)}


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
        **_insensitive(
            r"\b(?:proxy-)?authorization[ \t]*[:=][ \t]*"
            r"(?P<s>(?:(?:bearer|basic|token|digest|negotiate)[ \t]+)?[^\s\"',;]+)"
        ),
        lower_triggers=("authorization",),
    ),
    Rule(
        "cookie_header",
        **_insensitive(r"\b(?:set-)?cookie[ \t]*:[ \t]*(?P<s>[^\r\n]+)"),
        lower_triggers=("cookie",),
    ),
    Rule(
        "bearer_token",
        **_insensitive(r"\bbearer[ \t]+(?P<s>[A-Za-z0-9._~+/=-]{20,})"),
        lower_triggers=("bearer",),
    ),
    Rule(
        "secret_assignment",
        # Starts at the keyword (fast literal scan); _secret_name walks back to
        # the start of the name and checks the whole name.
        **_insensitive(
            r"(?P<name>(?:pass|secret|token|key|auth|cookie)[A-Za-z0-9_.-]*)"
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
        **_insensitive(r"\bhttps?://[^\s\"'<>]*(?:gateway|private|internal)[^\s\"'<>]*"),
        lower_triggers=("gateway", "private", "internal"),
    ),
    Rule(
        "query_secret",
        **_insensitive(
            r"[?&](?:token|key|secret|api_key|apikey|access_token|auth|password|sig|signature)"
            r"=(?P<s>[^&\s#\"'<>]+)"
        ),
        # Every name the regex accepts ends in one of these (api_key= ends in key=, …).
        lower_triggers=("token=", "key=", "secret=", "auth=", "password=", "sig=", "signature="),
    ),
)


# Past this many leftmost matches, one overlapping pass over the whole text is cheaper
# than a rescan per window (each costs a call; the pass costs ~2 µs per KiB).
FULL_RESCAN_MATCHES = 32


class _Gates(msgspec.Struct, frozen=True):
    """Every rule's gate and two automatons over all their triggers (lower-cased, UTF-8)."""

    per_rule: tuple[frozenset[str], ...]
    triggers: tuple[str, ...]
    # Leftmost-first, non-overlapping: with bytes it runs a SIMD prefilter, about three
    # times faster than an overlapping scan, and plain output spends its time here.
    first: ahocorasick_rs.BytesAhoCorasick | None
    # Standard semantics for the overlapping rescans of the windows ``first`` reports.
    every: ahocorasick_rs.BytesAhoCorasick | None
    reach: int  # longest trigger - 1: how far past a match an overlapping one can end


@functools.lru_cache(maxsize=16)
def _gates(rules: tuple[Rule, ...]) -> _Gates:
    per_rule = tuple(rule.gate for rule in rules)
    triggers = tuple(sorted(frozenset().union(*per_rule)))
    if not triggers:
        return _Gates(per_rule, triggers, None, None, 0)
    encoded = [t.encode("utf-8") for t in triggers]
    return _Gates(
        per_rule,
        triggers,
        ahocorasick_rs.BytesAhoCorasick(encoded, matchkind=ahocorasick_rs.MATCHKIND_LEFTMOST_FIRST),
        ahocorasick_rs.BytesAhoCorasick(encoded),
        max(len(e) for e in encoded) - 1,
    )


def _present(lower: str, gates: _Gates) -> set[str]:
    """The triggers that occur anywhere in ``lower`` (overlaps included).

    A leftmost non-overlapping scan reports a match at the earliest start at or
    after where it resumed, so every occurrence it does not report starts inside
    a reported match: rescanning each reported match's window (its span plus
    ``reach``) with overlaps finds them all. Plain output has no match and pays
    for the fast scan alone.
    """
    if gates.first is None or gates.every is None:
        return set()
    data = lower.encode("utf-8", "surrogatepass")
    matches = gates.first.find_matches_as_indexes(data)
    if not matches:
        return set()
    every, reach, names = gates.every, gates.reach, gates.triggers
    if len(matches) > FULL_RESCAN_MATCHES:  # text full of triggers: one pass beats many
        return {names[i] for i, _s, _e in every.find_matches_as_indexes(data, overlapping=True)}
    found: set[int] = set()
    lo, hi = matches[0][1], matches[0][2] + reach
    for _index, start, end in matches[1:]:
        if start > hi:  # disjoint windows are rescanned apart, joined ones at once
            found.update(
                i for i, _s, _e in every.find_matches_as_indexes(data[lo:hi], overlapping=True)
            )
            lo = start
        hi = end + reach
    found.update(i for i, _s, _e in every.find_matches_as_indexes(data[lo:hi], overlapping=True))
    return {names[i] for i in found}


def find_hits(text: str, rules: tuple[Rule, ...]) -> list[Hit]:
    """All hits of ``rules`` in ``text``, sorted by span start."""
    lower = text.lower()
    if len(lower) != len(text):
        # Some characters change length when lowered; fall back to running
        # every rule rather than trusting triggers on misaligned text.
        lower = ""
    hits: list[Hit] = []
    gates = _gates(rules)
    present = _present(lower, gates) if lower else set()
    for rule, gate in zip(rules, gates.per_rule, strict=True):
        if not lower or not gate or not gate.isdisjoint(present):
            hits.extend(rule.hits(text, lower or None))
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
