"""The cockpit routes' part of the OpenAPI document (see ``coven.api.openapi``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coven.schema import casting, cockpit, familiars, requests

Schema = dict[str, Any]

TYPES: tuple[Any, ...] = (
    familiars.FamiliarView,
    familiars.FamiliarRemoved,
    casting.CastCodeTemplate,
    casting.CastAccepted,
    cockpit.Overview,
    cockpit.CovenCallsList,
    cockpit.CovenCallView,
    cockpit.SkillRecord,
    cockpit.MemoryEntry,
    cockpit.ResearchRow,
    cockpit.MemoryOverview,
    cockpit.ThreadsProposals,
    cockpit.AfsSessions,
    requests.CastBody,
    requests.FamiliarBody,
)


def cockpit_paths(
    ref: Callable[[Any], Schema],
    json: Callable[[Schema, str], Schema],
    error: Callable[[str], Schema],
    op: Callable[..., Schema],
    body: Callable[[Any], Schema],
    too_large: Schema,
) -> dict[str, Schema]:
    def array(t: Any, description: str) -> Schema:
        return json({"type": "array", "items": ref(t)}, description)

    roster_failed = error(
        "`familiar_lookup_failed`: familiars.toml unreadable (details.path, line)"
    )
    item_id: Schema = {"in": "path", "required": True, "schema": {"type": "string"}}
    empty = "Always empty: this daemon has no such feature (health says so)"
    return {
        "/familiars": {
            "get": op(
                "Familiar roster with live state",
                {"200": array(familiars.FamiliarView, "Roster, file order"), "500": roster_failed},
            ),
            "post": op(
                "Add a familiar to familiars.toml",
                {
                    "201": json(ref(familiars.FamiliarView), "Added"),
                    "400": error("`invalid_request` (id taken, bad field)"),
                    "413": too_large,
                    "500": roster_failed,
                },
                requestBody=body(requests.FamiliarBody),
            ),
        },
        "/familiars/{familiarId}": {
            "delete": op(
                "Remove a familiar from familiars.toml",
                {
                    "200": json(ref(familiars.FamiliarRemoved), "Removed"),
                    "400": error("`unknown_familiar` (details.familiarId)"),
                    "500": roster_failed,
                },
                parameters=[{"name": "familiarId", **item_id}],
            )
        },
        "/cast-codes": {
            "get": op("The Cast Code catalog", {"200": array(casting.CastCodeTemplate, "7")})
        },
        "/cast": {
            "post": op(
                "Record a Cast Code in the ledger (grants nothing)",
                {
                    "202": json(ref(casting.CastAccepted), "Recorded"),
                    "400": error("`invalid_request`"),
                    "404": error("`session_not_found` (details.sessionId)"),
                    "413": {
                        **too_large,
                        "description": "`cast_too_large` (details.sessionId) or a body over 4 MiB",
                    },
                    "503": error("`storage_unavailable`"),
                },
                requestBody=body(requests.CastBody),
            )
        },
        "/overview": {
            "get": op(
                "Cockpit overview",
                {"200": json(ref(cockpit.Overview), "Overview"), "500": roster_failed},
            )
        },
        "/coven-calls": {
            "get": op(
                "Delegations (oldest first)",
                {"200": json(ref(cockpit.CovenCallsList), "Calls")},
            )
        },
        "/coven-calls/{callId}": {
            "get": op(
                "One delegation",
                {
                    "200": json(ref(cockpit.CovenCallView), "Call"),
                    "404": error("`call_not_found` (details.callId)"),
                },
                parameters=[{"name": "callId", **item_id}],
            )
        },
        "/skills": {"get": op("Skills", {"200": array(cockpit.SkillRecord, empty)})},
        "/memory": {"get": op("Familiar memory", {"200": array(cockpit.MemoryEntry, empty)})},
        "/memory/overview": {
            "get": op("Memory overview", {"200": json(ref(cockpit.MemoryOverview), empty)})
        },
        "/research": {"get": op("Research rows", {"200": array(cockpit.ResearchRow, empty)})},
        "/threads/weaves": {
            "get": op("Thread weaves", {"200": json({"type": "array", "maxItems": 0}, empty)})
        },
        "/threads/proposals": {
            "get": op("Thread proposals", {"200": json(ref(cockpit.ThreadsProposals), empty)})
        },
        "/afs/sessions": {
            "get": op("AFS sessions", {"200": json(ref(cockpit.AfsSessions), empty)})
        },
    }
