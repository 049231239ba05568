"""Sans-I/O calls of the cockpit surface: familiars, the cast ledger, overview, Coven Calls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from coven.client.calls import Call, _decoder, _get, _post
from coven.client.transport import Request
from coven.schema.casting import CastAccepted
from coven.schema.cockpit import CovenCallsList, Overview
from coven.schema.familiars import FamiliarRemoved, FamiliarView

PREFIX = "/api/v1"


def familiars() -> Call[list[FamiliarView]]:
    return Call(_get("/familiars"), _decoder(list[FamiliarView], ok=(200,)))


def add_familiar(fields: Mapping[str, Any]) -> Call[FamiliarView]:
    return Call(_post("/familiars", fields), _decoder(FamiliarView, ok=(201,)))


def remove_familiar(familiar_id: str) -> Call[FamiliarRemoved]:
    if not familiar_id or any(ch.isspace() or ch in "/?&#%" for ch in familiar_id):
        raise ValueError(f"invalid familiar id {familiar_id!r}")
    request = Request("DELETE", f"{PREFIX}/familiars/{familiar_id}")
    return Call(request, _decoder(FamiliarRemoved, ok=(200,)))


def record_cast(code: str, target: str | None = None) -> Call[CastAccepted]:
    body: dict[str, Any] = {"code": code}
    if target is not None:
        body["target"] = target
    return Call(_post("/cast", body), _decoder(CastAccepted, ok=(202,)))


def overview() -> Call[Overview]:
    return Call(_get("/overview"), _decoder(Overview, ok=(200,)))


def coven_calls() -> Call[CovenCallsList]:
    return Call(_get("/coven-calls"), _decoder(CovenCallsList, ok=(200,)))
