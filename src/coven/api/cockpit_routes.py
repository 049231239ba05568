"""Routes of the cockpit surface: familiars, the Cast Code catalog and ledger, overview,
Coven Calls, and the empty answers of features this daemon does not have.

A mixin of ``api.app.Api`` (same dispatch, same error envelopes); thin like the rest
of the API layer: parse, call ``runtime.cockpit``, encode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.web_request import BaseRequest

from coven.api import router
from coven.api.encoding import json_response
from coven.authority.cast import parse_cast
from coven.authority.familiar_body import parse_familiar_body
from coven.schema.casting import CAST_CODE_CATALOG
from coven.schema.cockpit import (
    EMPTY_MEMORY,
    EMPTY_RESEARCH,
    EMPTY_SKILLS,
    EMPTY_WEAVES,
    AfsSessions,
    CovenCallsList,
    CovenCallView,
    ThreadsProposals,
)
from coven.schema.familiars import FamiliarRemoved

if TYPE_CHECKING:
    from coven.runtime import Runtime


class CockpitRoutes:
    runtime: Runtime

    async def json_body(self, request: BaseRequest, *, empty: object = None) -> object:
        raise NotImplementedError  # pragma: no cover - provided by Api

    async def on_familiars(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, await self.runtime.cockpit.familiars())

    async def on_add_familiar(self, request: BaseRequest, match: router.Match) -> web.Response:
        familiar = parse_familiar_body(await self.json_body(request, empty={}))
        return json_response(201, await self.runtime.cockpit.add_familiar(familiar))

    async def on_remove_familiar(self, request: BaseRequest, match: router.Match) -> web.Response:
        familiar_id = match.item_id or ""
        await self.runtime.cockpit.remove_familiar(familiar_id)
        return json_response(200, FamiliarRemoved(ok=True, removed=familiar_id))

    async def on_cast_codes(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, CAST_CODE_CATALOG)

    async def on_cast(self, request: BaseRequest, match: router.Match) -> web.Response:
        cast = parse_cast(await self.json_body(request, empty={}))
        return json_response(202, await self.runtime.cockpit.record_cast(cast))

    async def on_overview(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, await self.runtime.cockpit.overview())

    async def on_coven_calls(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, CovenCallsList(calls=await self.runtime.cockpit.coven_calls()))

    async def on_coven_call(self, request: BaseRequest, match: router.Match) -> web.Response:
        call = await self.runtime.cockpit.coven_call(match.item_id or "")
        return json_response(200, CovenCallView(call=call))

    # -- features this daemon does not have (health says so): empty, never 404 ----------

    async def on_skills(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, EMPTY_SKILLS)

    async def on_memory(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, EMPTY_MEMORY)

    async def on_memory_overview(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, self.runtime.cockpit.memory_overview())

    async def on_research(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, EMPTY_RESEARCH)

    async def on_weaves(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, EMPTY_WEAVES)

    async def on_proposals(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, ThreadsProposals())

    async def on_afs_sessions(self, request: BaseRequest, match: router.Match) -> web.Response:
        return json_response(200, AfsSessions())
