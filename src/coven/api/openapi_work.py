"""The work routes' part of the OpenAPI document: changes, diff, merge, discard, review (see
``coven.api.openapi``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coven.schema import work

Schema = dict[str, Any]

TYPES: tuple[Any, ...] = (
    work.SessionChanges,
    work.SessionDiff,
    work.MergeBody,
    work.DiscardBody,
    work.MergeOutcome,
    work.DiscardOutcome,
    work.ReviewBody,
    work.ReviewComment,
    work.ReviewOutcome,
)


def work_paths(
    ref: Callable[[Any], Schema],
    json: Callable[[Schema, str], Schema],
    error: Callable[[str], Schema],
    op: Callable[..., Schema],
    session_post: Callable[..., Schema],
    query: Callable[..., Schema],
    session_id: Schema,
    git_failures: dict[str, Schema],
) -> dict[str, Schema]:
    """The five routes, with the document's own builders passed in."""
    not_found = error("`session_not_found` (details.sessionId)")
    bad = error("`invalid_request`")
    not_git = error("`not_a_git_repository`")
    return {
        "/sessions/{sessionId}/changes": {
            "get": op(
                "Files the session changed against its base commit (its lane, else the checkout)",
                {
                    "200": json(ref(work.SessionChanges), "Changes"),
                    "404": not_found,
                    "422": not_git,
                    **git_failures,
                },
                parameters=[session_id],
            )
        },
        "/sessions/{sessionId}/diff": {
            "get": op(
                "The unified diff of the session's work, capped (`truncated`)",
                {
                    "200": json(ref(work.SessionDiff), "Diff"),
                    "400": bad,
                    "404": not_found,
                    "422": not_git,
                    **git_failures,
                },
                parameters=[
                    session_id,
                    query("path", "A repository-relative file or directory (percent-encoded)"),
                    query(
                        "maxBytes",
                        "Cap on the diff's size, 1024..8388608 (default 1048576)",
                        {"type": "integer"},
                    ),
                ],
            )
        },
        "/sessions/{sessionId}/merge": session_post(
            "Merge the session's lane into its base branch in the user's checkout",
            {"200": json(ref(work.MergeOutcome), "Merged")},
            work.MergeBody,
            **{
                "400": bad,
                "409": error(
                    "`merge_conflict` (details.files), `lane_dirty`, `checkout_dirty`, "
                    "`checkout_not_on_base_branch`, `no_base_branch`, `session_conflict`"
                ),
                "422": not_git,
                **git_failures,
            },
        ),
        "/sessions/{sessionId}/discard": session_post(
            "Remove the session's lane (worktree and branch); `force` to lose work",
            {"200": json(ref(work.DiscardOutcome), "Discarded")},
            work.DiscardBody,
            **{
                "400": bad,
                "409": error(
                    "`lane_dirty` (details.files), `lane_unmerged`, `lane_path_refused`, "
                    "`session_conflict` (a session still runs in it)"
                ),
                "422": not_git,
                **git_failures,
            },
        ),
        "/sessions/{sessionId}/review": session_post(
            "Set the review state of the session's work (`merged`/`discarded` are the daemon's)",
            {"200": json(ref(work.ReviewOutcome), "Review recorded")},
            work.ReviewBody,
            **{
                "400": error("`review_state_invalid` (details.state, allowed), `invalid_request`"),
                "409": error("`review_closed` (the lane was merged or discarded)"),
                "503": error("`storage_unavailable`"),
            },
        ),
    }
