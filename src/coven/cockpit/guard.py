"""Who may talk to the cockpit: the per-launch token, the Host and the Origin.

The cockpit listens on 127.0.0.1, but "only local" is not "only you": any web
page open in the user's browser can make it send requests there, and a DNS name
that re-points to 127.0.0.1 (DNS rebinding) turns such a page into a same-origin
one. So every request passes three checks, in this order:

1. ``Host`` must name this listener (``127.0.0.1:<port>`` or ``localhost:<port>``),
   otherwise 403: a rebinding page's requests carry its own host name.
2. ``Origin``, when present, must be this listener's origin, otherwise 403. State
   changing requests (anything but GET/HEAD) and WebSocket upgrades must carry it:
   browsers always send it on those, so a missing one is not a same-origin page.
3. The token: ``?token=`` (the printed URL), ``Authorization: Bearer``, or the
   cookie the first load sets. Without a valid one: 401.

A token that arrives in the URL is moved into an ``HttpOnly; SameSite=Strict``
cookie by a redirect to the same address without it, so it does not stay in the
address bar, history or ``Referer``. The cookie's name carries the port, because
browsers do not separate cookies by port and two cockpits (two Coven homes) may
run side by side. No response carries CORS headers.
"""

from __future__ import annotations

import enum
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

TOKEN_QUERY = "token"
COOKIE_PREFIX = "coven-cockpit-"
SAFE_METHODS = frozenset({"GET", "HEAD"})


def new_token() -> str:
    """A fresh per-launch secret (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


class Verdict(enum.Enum):
    ALLOW = "allow"
    MOVE_TOKEN_TO_COOKIE = "move_token_to_cookie"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"


@dataclass(frozen=True)
class Decision:
    """The guard's answer; ``reason`` is a sentence safe to show (never the token)."""

    verdict: Verdict
    reason: str = ""
    redirect_to: str = ""


@dataclass(frozen=True)
class Incoming:
    """The parts of a request the guard looks at (kept apart from aiohttp for testing)."""

    method: str
    path: str
    query: str
    host: str | None
    origin: str | None
    authorization: str | None
    cookies: dict[str, str]
    websocket: bool


@dataclass(frozen=True)
class Guard:
    """The checks for one cockpit listener on 127.0.0.1:``port`` with ``token``."""

    token: str
    port: int

    @property
    def cookie_name(self) -> str:
        return f"{COOKIE_PREFIX}{self.port}"

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset({f"127.0.0.1:{self.port}", f"localhost:{self.port}"})

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(f"http://{host}" for host in self.hosts)

    def token_ok(self, presented: str | None) -> bool:
        if not presented:
            return False
        return hmac.compare_digest(presented.encode(), self.token.encode())

    def decide(self, request: Incoming) -> Decision:
        if (request.host or "").lower() not in self.hosts:
            return Decision(Verdict.FORBIDDEN, "this cockpit answers only to its own address")
        if request.origin is not None and request.origin.lower() not in self.origins:
            return Decision(Verdict.FORBIDDEN, "requests from other sites are refused")
        needs_origin = request.websocket or request.method.upper() not in SAFE_METHODS
        if needs_origin and request.origin is None:
            return Decision(
                Verdict.FORBIDDEN, "state-changing requests must come from the cockpit's own page"
            )
        query = parse_qsl(request.query, keep_blank_values=True)
        from_query = next((value for name, value in query if name == TOKEN_QUERY), None)
        if self.token_ok(from_query):
            if request.method.upper() == "GET" and not request.websocket:
                rest = urlencode([(n, v) for n, v in query if n != TOKEN_QUERY])
                return Decision(
                    Verdict.MOVE_TOKEN_TO_COOKIE,
                    redirect_to=request.path + (f"?{rest}" if rest else ""),
                )
            return Decision(Verdict.ALLOW)
        bearer = _bearer(request.authorization)
        if self.token_ok(bearer) or self.token_ok(request.cookies.get(self.cookie_name)):
            return Decision(Verdict.ALLOW)
        return Decision(
            Verdict.UNAUTHORIZED,
            "open the address that `coven cockpit` printed (run it again to print it)",
        )


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None
