"""The control-plane action router (``POST /actions``): typed command in, typed result out.

Unknown actions fail closed before anything runs. A refusal is an
``ActionRejected`` carrying the reference's non-envelope rejection body and the
status of the refusal behind it; the API layer only encodes it.
"""

from __future__ import annotations

from typing import Any

import msgspec

from coven.errors import CovenError, InvalidRequest
from coven.runtime.health import (
    ARCHIVE,
    CATALOG,
    DISCARD,
    KILL,
    MERGE,
    REFRESH,
    SACRIFICE,
    SUMMON,
)
from coven.runtime.live_control import LiveControl
from coven.runtime.rituals import Rituals
from coven.runtime.work import Work
from coven.schema.meta import ActionEvent, ActionResult


class ActionCommand(msgspec.Struct, frozen=True):
    """A decoded action request; ``action`` is trimmed and non-empty."""

    action: str
    origin: str | None = None
    intent_id: str | None = None
    args: dict[str, Any] = msgspec.field(default_factory=dict)


class ActionRejected(InvalidRequest):
    """An action refused; ``status`` is that of the refusal behind it (400 by default)."""

    def __init__(self, action: str, reason: str, cause: CovenError | None = None) -> None:
        super().__init__(reason)
        self.action = action
        self.cause_code = cause.code if cause is not None else None
        if cause is not None:
            self.status = cause.status

    def result(self) -> ActionResult:
        return ActionResult(
            ok=False,
            accepted=False,
            action=self.action,
            status="rejected",
            reason=self.message,
            code=self.cause_code,
        )


class Actions:
    def __init__(self, control: LiveControl, rituals: Rituals, work: Work) -> None:
        self.control = control
        self.rituals = rituals
        self.work = work

    async def run(self, command: ActionCommand) -> ActionResult:
        """Run one action; ``ActionRejected`` when it is unknown, malformed or refused."""
        action = command.action
        try:
            kind, payload = await self._dispatch(command)
        except ActionRejected:
            raise
        except CovenError as exc:
            raise ActionRejected(action, exc.message, exc) from exc
        event = ActionEvent(
            kind=kind,
            action=action,
            origin=command.origin,
            intentId=command.intent_id,
            payload=payload,
        )
        return ActionResult(ok=True, accepted=True, action=action, status="completed", event=event)

    async def _dispatch(self, command: ActionCommand) -> tuple[str, dict[str, Any]]:
        action = command.action
        if action == REFRESH:
            return "capabilities.refreshed", {"capabilities": len(CATALOG.capabilities)}
        if action not in (ARCHIVE, SUMMON, SACRIFICE, KILL, MERGE, DISCARD):
            raise ActionRejected(action, f"unknown action `{action}`")
        session_id = command.args.get("sessionId")
        if not isinstance(session_id, str) or not session_id:
            raise ActionRejected(action, "args.sessionId must be a session id string")
        if action == ARCHIVE:
            record = await self.rituals.archive(session_id)
            return "session.archived", {"sessionId": record.id}
        if action == SUMMON:
            record = await self.rituals.summon(session_id)
            return "session.summoned", {"sessionId": record.id}
        if action == KILL:
            await self.control.kill(session_id)
            return "session.killed", {"sessionId": session_id}
        if action == MERGE:
            message = command.args.get("commitMessage")
            if message is not None and (not isinstance(message, str) or not message.strip()):
                raise ActionRejected(action, "args.commitMessage must be a non-empty string")
            merged = await self.work.merge(session_id, message)
            return "session.merged", msgspec.to_builtins(merged)
        if action == DISCARD:
            force = command.args.get("force", False)
            if not isinstance(force, bool):
                raise ActionRejected(action, "args.force must be a boolean")
            discarded = await self.work.discard(session_id, force)
            return "session.discarded", msgspec.to_builtins(discarded)
        await self.rituals.sacrifice(session_id, command.args.get("confirm"))
        return "session.sacrificed", {"sessionId": session_id}
