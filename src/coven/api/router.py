"""Raw-target routing with the quirks existing clients depend on.

The reference router works on the raw request target: no percent-decoding,
first query occurrence wins, both ``/api/v1/<route>`` and the bare ``/<route>``
alias, and session ids taken as "everything between ``/sessions/`` and a known
suffix" (so ids may contain ``/``). We keep all of that, because third-party
clients were written against it.
"""

from __future__ import annotations

import msgspec

from coven.errors import NotFound, UnsupportedApiVersion

SUPPORTED_API_VERSIONS = ("v1",)


class Match(msgspec.Struct, frozen=True):
    """A resolved route: a handler name plus the raw session id, if any."""

    name: str
    session_id: str | None = None
    harness_id: str | None = None
    item_id: str | None = None  # a familiar or Coven Call id, raw
    query: dict[str, str] = msgspec.field(default_factory=dict)


def parse_query(raw: str) -> dict[str, str]:
    """Split ``a=1&b=2``; the first occurrence of a name wins, values stay raw."""
    params: dict[str, str] = {}
    for part in raw.split("&"):
        name, sep, value = part.partition("=")
        if not sep:
            continue
        params.setdefault(name, value)
    return params


def normalize(target: str) -> tuple[str, bool]:
    """Map a raw path to its unversioned route; returns (route, was_prefixed)."""
    if not target.startswith("/api/"):
        return target, False
    rest = target[len("/api/") :]
    version, slash, tail = rest.partition("/")
    if not slash or not tail:
        raise NotFound("Route not found.")
    if version not in SUPPORTED_API_VERSIONS:
        raise UnsupportedApiVersion(
            "Unsupported API version.",
            {"apiVersion": version, "supportedApiVersions": list(SUPPORTED_API_VERSIONS)},
        )
    return "/" + tail, True


# POST suffixes, checked in this order (the reference's order).
_POST_SUFFIXES = (
    ("/complete", "complete"),
    ("/input", "input"),
    ("/kill", "kill"),
    ("/resize", "resize"),
    ("/archive", "archive"),
    ("/summon", "summon"),
    ("/sacrifice", "sacrifice"),
    ("/merge", "merge"),
    ("/discard", "discard"),
    ("/review", "review"),
    ("/attention", "attention"),
)
_GET_SUFFIXES = (
    ("/log", "log"),
    ("/events", "session_events"),
    ("/follow", "follow"),
    ("/attach", "attach"),
    ("/screen", "screen"),
    ("/changes", "changes"),
    ("/diff", "diff"),
)

_STATIC = {
    ("GET", "/health"): "health",
    ("GET", "/api-version"): "api_version",
    ("GET", "/capabilities"): "capabilities",
    ("GET", "/capabilities/harnesses"): "harness_capabilities",
    ("GET", "/harnesses"): "harnesses",
    ("POST", "/actions"): "actions",
    ("GET", "/sessions"): "list_sessions",
    ("POST", "/sessions"): "launch",
    ("POST", "/sessions/external"): "register_external",
    ("GET", "/events"): "events",
    ("GET", "/familiars"): "familiars",
    ("POST", "/familiars"): "add_familiar",
    ("GET", "/cast-codes"): "cast_codes",
    ("POST", "/cast"): "cast",
    ("GET", "/overview"): "overview",
    ("GET", "/coven-calls"): "coven_calls",
    ("GET", "/skills"): "skills",
    ("GET", "/memory"): "memory",
    ("GET", "/memory/overview"): "memory_overview",
    ("GET", "/research"): "research",
    ("GET", "/threads/weaves"): "weaves",
    ("GET", "/threads/proposals"): "proposals",
    ("GET", "/afs/sessions"): "afs_sessions",
    ("POST", "/store/vacuum"): "vacuum",
    ("POST", "/store/prune"): "prune",
    ("GET", "/search"): "search",
    ("GET", "/openapi.json"): "openapi",
}


def resolve(method: str, raw_target: str) -> Match:
    """Resolve a request line's method and raw target, or raise a routing error."""
    path, _, raw_query = raw_target.partition("?")
    route, prefixed = normalize(path)
    query = parse_query(raw_query) if raw_query else {}
    if prefixed and route == "/internal/lifecycle/shutdown" and method == "POST":
        return Match("shutdown", query=query)
    name = _STATIC.get((method, route))
    if name is not None:
        return Match(name, query=query)
    if route.startswith("/familiars/") and method == "DELETE":
        return Match("remove_familiar", item_id=route[len("/familiars/") :], query=query)
    if route.startswith("/coven-calls/") and method == "GET":
        return Match("coven_call", item_id=route[len("/coven-calls/") :], query=query)
    if route.startswith("/capabilities/") and method == "GET":
        return Match("harness_capability", harness_id=route[len("/capabilities/") :], query=query)
    if route.startswith("/sessions/"):
        rest = route[len("/sessions/") :]
        suffixes = _POST_SUFFIXES if method == "POST" else _GET_SUFFIXES if method == "GET" else ()
        for suffix, suffix_name in suffixes:
            # Matched against "/" + rest so that "/sessions/kill" is a kill of id "".
            if ("/" + rest).endswith(suffix):
                session_id = rest[: max(0, len(rest) - len(suffix))]
                return Match(suffix_name, session_id=session_id, query=query)
        if method == "GET":
            return Match("get_session", session_id=rest, query=query)
    raise NotFound("Route not found.")
