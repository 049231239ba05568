"""Cast Codes: the portable ``~`` intent grammar, parsed by clients and never trusted.

Leaf package with no I/O (imports only ``coven.schema`` and ``coven.errors``).
``parse(code)`` returns one typed intent or raises ``CastCodeError``;
``render(intent)`` spells an intent canonically. What an intent may *do* is
decided by the daemon, one ordinary API call at a time.
"""

from coven.castcodes.intents import (
    Broadcast,
    CastIntent,
    Delegate,
    Handoff,
    Resume,
    Status,
    Switch,
    render,
)
from coven.castcodes.parser import REASONS, parse
from coven.errors import CastCodeError

__all__ = [
    "REASONS",
    "Broadcast",
    "CastCodeError",
    "CastIntent",
    "Delegate",
    "Handoff",
    "Resume",
    "Status",
    "Switch",
    "parse",
    "render",
]
