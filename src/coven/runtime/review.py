"""The review of each session's work: one state per session, kept by the daemon for every client.

``unreviewed`` → ``approved`` / ``changes_requested`` as clients decide
(``POST /sessions/:id/review``, with optional comments), and ``merged`` /
``discarded`` when the session's lane is merged or discarded through the daemon,
which closes the review (``review_closed`` afterwards). Each change is one
``review`` event, written in the same transaction as the state, with the
comments redacted as input is. Discarding a lane that was already merged keeps
``merged``: the work was not thrown away, it landed.
"""

from __future__ import annotations

import logging

import msgspec

from coven.errors import CovenError, InvalidRequest, ReviewStateInvalid
from coven.redaction import Redactor
from coven.runtime.ledger import Ledger
from coven.schema import RedactionStatus, ReviewState
from coven.schema.vocabulary import CLIENT_REVIEW_STATES, CLOSED_REVIEW_STATES
from coven.schema.work import ReviewBody, ReviewOutcome
from coven.store import SetReviewState

log = logging.getLogger("coven.review")

MAX_COMMENTS = 200
MAX_COMMENT_CHARS = 16 * 1024
MAX_PATH_CHARS = 4096
# A lane's merge or discard already happened when its review is settled: wait this long
# for the store, then answer the merge anyway (the state is the lesser fact).
SETTLE_TIMEOUT = 5.0


def check_review(body: ReviewBody) -> None:
    """Refuse a review request a client may not make (``review_state_invalid``, ``invalid_request``)."""
    allowed = sorted(CLIENT_REVIEW_STATES)
    if body.state not in CLIENT_REVIEW_STATES:
        reason = (
            "is set by the daemon when the lane is merged or discarded"
            if body.state in CLOSED_REVIEW_STATES
            else "is not a review state"
        )
        raise ReviewStateInvalid(
            f"`{body.state}` {reason}; a review may set {', '.join(allowed)}",
            {"state": body.state, "allowed": allowed},
        )
    if len(body.comments) > MAX_COMMENTS:
        raise InvalidRequest(f"at most {MAX_COMMENTS} comments per review", {"field": "comments"})
    for index, comment in enumerate(body.comments):
        field = f"comments[{index}]"
        if not comment.body.strip() or len(comment.body) > MAX_COMMENT_CHARS:
            raise InvalidRequest(
                f"`{field}.body` must be non-blank text of at most {MAX_COMMENT_CHARS} characters",
                {"field": f"{field}.body"},
            )
        if comment.path is not None and not (0 < len(comment.path) <= MAX_PATH_CHARS):
            raise InvalidRequest(
                f"`{field}.path` must be a non-empty path", {"field": f"{field}.path"}
            )
        if comment.line is not None and (comment.line < 1 or comment.path is None):
            raise InvalidRequest(
                f"`{field}.line` must be a line number (1 or more) of a named `path`",
                {"field": f"{field}.line"},
            )


class Reviews:
    """Sets and settles review states through the ledger's one writer."""

    def __init__(self, ledger: Ledger, redactor: Redactor) -> None:
        self.ledger = ledger
        self.redactor = redactor

    async def review(self, session_id: str, body: ReviewBody) -> ReviewOutcome:
        """A client's decision; refused once the review is closed (``review_closed``)."""
        check_review(body)
        await self.ledger.session(session_id)
        self.ledger.require_storage()
        payload: dict[str, object] = {"source": "review"}
        changed = False
        if body.comments:
            comments, changed = self.redactor.payload(msgspec.to_builtins(body.comments))
            payload["comments"] = comments
        op = SetReviewState(
            session_id,
            body.state,
            payload,
            RedactionStatus.REDACTED if changed else RedactionStatus.CLEAN,
            refuse=CLOSED_REVIEW_STATES,
            always_record=bool(body.comments),
        )
        change = await self.ledger.write(op)
        if change.event is not None:
            self.ledger.changes.notify(session_id)
        return ReviewOutcome(
            sessionId=session_id,
            reviewState=ReviewState(change.state),
            previous=ReviewState(change.previous),
            recorded=change.event is not None,
        )

    async def settle(self, session_id: str, state: ReviewState) -> None:
        """After a successful merge or discard: ``merged`` / ``discarded`` (best effort).

        The git work is done and is the truth; a store that cannot record the state
        now is logged, not turned into a failed merge.
        """
        keep = frozenset({ReviewState.MERGED}) if state == ReviewState.DISCARDED else frozenset()
        op = SetReviewState(session_id, state, {"source": state_source(state)}, keep=keep)
        try:
            change = await self.ledger.write(op, timeout=SETTLE_TIMEOUT)
        except (TimeoutError, CovenError) as exc:
            log.warning("review state of %s not recorded as %s: %s", session_id, state, exc)
            return
        if change.event is not None:
            self.ledger.changes.notify(session_id)


def state_source(state: ReviewState) -> str:
    return "merge" if state == ReviewState.MERGED else "discard"
