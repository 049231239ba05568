"""The daemon routes the cockpit forwards, and nothing else.

The cockpit proxies ``/api/v1/...`` to the daemon's Unix socket, but it is not a
general tunnel: a request is forwarded only when its method and route are listed
here, its session id is a plain id (no ``/``, no percent-escapes, which the
daemon's raw router would read differently), and only the listed query
parameters go along. Everything the daemon checks it still checks; the list only
makes the cockpit able to do less than a local client, never more. Maintenance
and lifecycle routes (shutdown, vacuum, external registration, completion) are
deliberately absent.

Routes an older daemon may not have (lanes: changes, diff, merge, discard;
review; harness availability) are listed so a daemon that has them works at
once; a daemon without them answers 404 and the UI says "not available on this
daemon", because it checks the daemon's advertised capabilities
(``changes``, ``lanes``, ``review``) first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIX = "/api/v1"
SESSION_ID = re.compile(r"[A-Za-z0-9._:-]{1,256}")


@dataclass(frozen=True)
class Allowed:
    """One permitted call: its operation name, session id and what may go with it."""

    operation: str
    session_id: str | None = None
    mutating: bool = False
    websocket: bool = False
    query_keys: frozenset[str] = frozenset()


_NONE: frozenset[str] = frozenset()
_PAGE = frozenset({"limit", "cursor", "includeArchived"})
_EVENTS = frozenset({"afterSeq", "afterEventId", "limit"})

# (method, route) -> (operation, mutating, query keys)
_PLAIN: dict[tuple[str, str], tuple[str, bool, frozenset[str]]] = {
    ("GET", "/health"): ("health", False, _NONE),
    ("GET", "/capabilities"): ("capabilities", False, _NONE),
    ("GET", "/capabilities/harnesses"): ("harness_capabilities", False, frozenset({"refresh"})),
    ("GET", "/harnesses"): ("harnesses", False, _NONE),
    ("GET", "/familiars"): ("familiars", False, _NONE),
    ("GET", "/sessions"): ("list_sessions", False, _PAGE),
    ("POST", "/sessions"): ("launch", True, _NONE),
}

# (method, suffix after /sessions/<id>) -> (operation, mutating, websocket, query keys)
_PER_SESSION: dict[tuple[str, str], tuple[str, bool, bool, frozenset[str]]] = {
    ("GET", ""): ("get_session", False, False, _NONE),
    ("GET", "/events"): ("session_events", False, False, _EVENTS),
    ("GET", "/log"): ("log", False, False, _NONE),
    ("GET", "/screen"): ("screen", False, False, frozenset({"ansi", "history"})),
    ("GET", "/attach"): ("attach", False, True, frozenset({"afterSeq"})),
    ("GET", "/changes"): ("changes", False, False, _NONE),
    ("GET", "/diff"): ("diff", False, False, frozenset({"path"})),
    ("POST", "/input"): ("input", True, False, _NONE),
    ("POST", "/resize"): ("resize", True, False, _NONE),
    ("POST", "/kill"): ("kill", True, False, _NONE),
    ("POST", "/archive"): ("archive", True, False, _NONE),
    ("POST", "/summon"): ("summon", True, False, _NONE),
    ("POST", "/sacrifice"): ("sacrifice", True, False, _NONE),
    ("POST", "/merge"): ("merge", True, False, _NONE),
    ("POST", "/discard"): ("discard", True, False, _NONE),
    ("POST", "/review"): ("review", True, False, _NONE),
}


def resolve(method: str, raw_path: str) -> Allowed | None:
    """The permitted call for ``method`` on ``raw_path`` (no query), or None."""
    method = method.upper()
    if not raw_path.startswith(PREFIX + "/"):
        return None
    route = raw_path[len(PREFIX) :]
    plain = _PLAIN.get((method, route))
    if plain is not None:
        operation, mutating, keys = plain
        return Allowed(operation, None, mutating, False, keys)
    if not route.startswith("/sessions/"):
        return None
    rest = route[len("/sessions/") :]
    session_id, slash, suffix = rest.partition("/")
    if not SESSION_ID.fullmatch(session_id):
        return None
    per_session = _PER_SESSION.get((method, slash + suffix))
    if per_session is None:
        return None
    operation, mutating, websocket, keys = per_session
    return Allowed(operation, session_id, mutating, websocket, keys)


def forwarded_query(raw_query: str, keys: frozenset[str]) -> str:
    """The raw ``name=value`` pairs whose name is in ``keys``, first occurrence each.

    Values are passed on byte for byte: the daemon reads its query raw, so
    decoding and re-encoding here could change what it sees.
    """
    kept: dict[str, str] = {}
    for part in raw_query.split("&"):
        name, sep, _value = part.partition("=")
        if sep and name in keys and name not in kept:
            kept[name] = part
    return "&".join(kept.values())
