"""Bodies of the attention route: a harness hook's report and the daemon's answer."""

from __future__ import annotations

import msgspec

from coven.schema.vocabulary import AttentionState


class AttentionReport(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``POST /sessions/:id/attention``: what a harness hook saw (``coven hook`` sends it).

    ``reason`` is one line for the session list (at most ``MAX_ATTENTION_REASON``
    characters); ``prompt`` the question's full text when known (at most
    ``MAX_ATTENTION_PROMPT``); ``hook`` names the hook event (``claude:Notification``).
    """

    state: AttentionState
    reason: str | None = None
    prompt: str | None = None
    hook: str | None = None


class AttentionNow(msgspec.Struct, kw_only=True):
    """The session's attention after a report was applied."""

    sessionId: str
    attention: AttentionState
    attention_reason: str | None
    attention_since: str
