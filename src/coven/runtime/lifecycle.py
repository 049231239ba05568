"""The session lifecycle: one guarded table that every status change passes.

A session is *created* by inserting its row (``running`` once spawned, or
``failed`` when the spawn itself failed); from then on its status changes only
through one of the transitions below, each recorded by exactly one event in
the same transaction as the status change::

    running ──harness_exit─▶ completed | failed | idle | killed      (event: exit)
    running ──orphan────▶ orphaned          (event: exit, after a metadata explanation)
    external running ──complete──▶ completed | failed         (event: exit; only once)

``check`` refuses a transition the table does not allow (the ``_assertInState``
discipline); the store op each builder returns also carries the allowed source
statuses, so a race between two writers cannot apply a stale transition.
"""

from __future__ import annotations

from typing import Any

import msgspec

from coven.errors import SessionConflict
from coven.schema import ACTIVE_STATUSES, EventKind, RedactionStatus, SessionStatus
from coven.store import FinishSession, MarkOrphaned, NewEvent, encode_payload


class Transition(msgspec.Struct, frozen=True):
    """A named status change: allowed sources, allowed targets and the event recording it."""

    name: str
    sources: frozenset[SessionStatus]
    targets: frozenset[SessionStatus]
    event: EventKind
    # Whether the event is written when the store guard finds the status already moved
    # on: an exit still happened (a killed row stays killed), a repeated completion did not.
    event_if_unchanged: bool = True


EXIT = Transition(
    "harness_exit",
    ACTIVE_STATUSES,
    frozenset(
        {SessionStatus.COMPLETED, SessionStatus.FAILED, SessionStatus.IDLE, SessionStatus.KILLED}
    ),
    EventKind.EXIT,
)
ORPHAN = Transition("orphan", ACTIVE_STATUSES, frozenset({SessionStatus.ORPHANED}), EventKind.EXIT)
COMPLETE_EXTERNAL = Transition(
    "complete",
    frozenset({SessionStatus.RUNNING}),
    frozenset({SessionStatus.COMPLETED, SessionStatus.FAILED}),
    EventKind.EXIT,
    event_if_unchanged=False,
)
TRANSITIONS = (EXIT, ORPHAN, COMPLETE_EXTERNAL)


class IllegalTransition(SessionConflict):
    """A status change the lifecycle table does not allow from the session's current status."""


def check(transition: Transition, current: str | None, target: SessionStatus) -> None:
    """Raise ``IllegalTransition`` unless ``transition`` may take ``current`` to ``target``.

    ``current`` is ``None`` when the caller knows the session is live but has not
    read its row (the store op's source guard then decides).
    """
    if target not in transition.targets:
        raise IllegalTransition(
            f"`{transition.name}` cannot end in status `{target}`",
            {"transition": transition.name, "status": str(target)},
        )
    if current is not None and current not in transition.sources:
        raise IllegalTransition(
            f"a session in status `{current}` cannot `{transition.name}`",
            {"transition": transition.name, "status": current},
        )


def finish(
    transition: Transition,
    session_id: str,
    target: SessionStatus,
    exit_code: int | None,
    payload: dict[str, Any],
    current: str | None = None,
) -> FinishSession:
    """The store op of an exit-like transition: its event and the status change, atomically."""
    check(transition, current, target)
    event = NewEvent(session_id, transition.event, encode_payload(payload), RedactionStatus.CLEAN)
    return FinishSession(
        session_id,
        event,
        target,
        exit_code,
        only_if_status=frozenset(transition.sources),
        event_if_unchanged=transition.event_if_unchanged,
    )


def orphan(session_ids: list[str], reason: str) -> MarkOrphaned:
    """The store op marking sessions an earlier daemon left running as ``orphaned``.

    Each gets a ``metadata`` event saying why, then the ``exit`` event that ends
    every session's log (clients end a turn on ``exit``).
    """
    check(ORPHAN, None, SessionStatus.ORPHANED)
    return MarkOrphaned(session_ids, reason, only_if_status=frozenset(ORPHAN.sources))
