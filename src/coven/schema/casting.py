"""Wire shapes of the Cast Code catalog and the cast ledger.

``GET /api/v1/cast-codes`` serves ``CAST_CODE_CATALOG``: seven templates, in
this order, each with exactly ``code``, ``description`` and ``type``. A
``{familiar}`` placeholder stands for a familiar id; clients expand it, the
catalog never names a familiar. ``POST /api/v1/cast`` only records a code in
the event log (it grants nothing); its answer and the stored event payload
are below. Keys are snake_case, as the reference sends them.
"""

from __future__ import annotations

import msgspec

CAST_EVENT_KIND = "cast"
# Untargeted casts are recorded on one synthetic session with these fields.
COCKPIT_SESSION_ID = "__cockpit__"
COCKPIT_PROJECT_ROOT = "(cockpit)"
COCKPIT_HARNESS = "cockpit"
COCKPIT_TITLE = "Cockpit Cast Codes"


class CastCodeTemplate(msgspec.Struct, frozen=True, rename={"kind": "type"}):
    """One catalog entry; ``kind`` goes on the wire as ``type``."""

    code: str
    description: str
    kind: str


CAST_CODE_CATALOG: tuple[CastCodeTemplate, ...] = (
    CastCodeTemplate("~?", "Status all familiars", "status"),
    CastCodeTemplate("~?{familiar}", "Status of specific familiar", "status"),
    CastCodeTemplate("~>{familiar}", "Switch to familiar", "switch"),
    CastCodeTemplate("~delegate:{familiar}", "Delegate task to familiar", "delegate"),
    CastCodeTemplate("~broadcast *", "Broadcast to all familiars", "broadcast"),
    CastCodeTemplate("~^ resume", "Resume interrupted context", "resume"),
    CastCodeTemplate("~<handoff", "Hand off context to target", "handoff"),
)


class CastAccepted(msgspec.Struct, kw_only=True):
    """The ``202`` answer of ``POST /api/v1/cast``.

    ``cast_id`` is ``cast-`` and 32 lowercase hex digits; ``echo`` is the
    trimmed code, followed by `` → <target>`` when the cast named a session.
    """

    accepted: bool
    cast_id: str
    echo: str


class CastEventPayload(msgspec.Struct, kw_only=True):
    """Payload of the ``cast`` event that records a code (``target`` is a session id or null)."""

    cast_id: str
    code: str
    target: str | None


def cast_echo(code: str, target: str | None) -> str:
    """The ``echo`` the reference answers: ``code`` or ``"code → target"``."""
    return code if target is None else f"{code} \u2192 {target}"
