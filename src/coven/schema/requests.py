"""Request bodies the daemon accepts, as documentation types for the OpenAPI document.

``coven.authority`` checks bodies field by field (with the reference's error
messages and order); these Structs state the accepted shape once, so the
published document is derived from types rather than written by hand.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from coven.schema.meta import DaemonIdentity
from coven.schema.vocabulary import (
    ENVIRONMENT_NAME_PATTERN,
    MAX_DIMENSION,
    MAX_ENVIRONMENT_ENTRIES,
    MAX_ENVIRONMENT_NAME,
    ConversationMode,
    Isolation,
    LaunchMode,
    Permission,
)

Dimension = Annotated[int, msgspec.Meta(ge=1, le=MAX_DIMENSION)]
EnvName = Annotated[
    str, msgspec.Meta(pattern=f"^{ENVIRONMENT_NAME_PATTERN}$", max_length=MAX_ENVIRONMENT_NAME)
]
Label = Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9._:-]{1,64}$")]
FamiliarId = Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9_-]{1,64}$")]


class ConversationRef(msgspec.Struct):
    mode: ConversationMode
    id: Annotated[str, msgspec.Meta(pattern="^[A-Za-z0-9._-]+$")]


class LaunchBody(msgspec.Struct, omit_defaults=True):
    """``POST /sessions``: ``projectRoot`` an absolute directory, ``cwd`` inside it.

    ``isolation: "worktree"`` runs the harness in a lane of its own (a git worktree on
    branch ``coven/<short-id>``); ``conversation: {mode: "resume", id}`` may name a
    Coven session (by id or recorded conversation id) to continue, in its lane.
    """

    projectRoot: str
    harness: str
    prompt: Annotated[
        str | None,
        msgspec.Meta(
            description="blank, null or absent only for an interactive launch of a harness "
            "that starts without one (it shows its own UI)"
        ),
    ] = None
    cwd: str | None = None
    title: str | None = None
    launchMode: LaunchMode | None = None
    model: str | None = None
    conversation: ConversationRef | None = None
    conversationId: str | None = None
    permission: Permission | None = None
    addDirs: list[str] | None = None
    rows: Dimension | None = None
    cols: Dimension | None = None
    labels: Annotated[list[Label], msgspec.Meta(max_length=16)] | None = None
    environment: (
        Annotated[
            dict[EnvName, str],
            msgspec.Meta(
                max_length=MAX_ENVIRONMENT_ENTRIES,
                description=(
                    "The harness's whole environment, usually the launching shell's (absent: "
                    "the daemon's); its PATH and manifest variables also decide which harnesses "
                    "are declared and found. At most 512 KiB as NAME=value strings. Never "
                    "stored, logged or echoed."
                ),
            ),
        ]
        | None
    ) = None
    familiarId: FamiliarId | None = None
    callerFamiliarId: FamiliarId | None = None
    isolation: Isolation | None = None


class ExternalBody(msgspec.Struct, omit_defaults=True):
    """``POST /sessions/external``: register a session some other tool runs."""

    id: Annotated[str, msgspec.Meta(min_length=1)]
    projectRoot: str
    harness: Annotated[str, msgspec.Meta(min_length=1)]
    title: str | None = None
    transcriptPath: str | None = None
    labels: Annotated[list[Label], msgspec.Meta(max_length=16)] | None = None


class InputBody(msgspec.Struct):
    """``POST /sessions/:id/input``: text written to the harness's terminal."""

    data: str


class ResizeBody(msgspec.Struct):
    rows: Dimension
    cols: Dimension


class CompleteBody(msgspec.Struct, omit_defaults=True):
    """``exitCode`` absent, null or 0 → ``completed``; another integer → ``failed``."""

    exitCode: int | None = None


class SacrificeBody(msgspec.Struct):
    """``confirm`` must be the exact full session id."""

    confirm: str


class ActionBody(msgspec.Struct, omit_defaults=True):
    action: str
    origin: str | None = None
    intentId: str | None = None
    args: dict[str, Any] | None = None


class ShutdownBody(msgspec.Struct, forbid_unknown_fields=True):
    """Names the daemon to stop (a copy of its status document); no other member."""

    apiVersion: Annotated[str, msgspec.Meta(examples=["coven.daemon.v1"])]
    daemon: DaemonIdentity


class KillBody(msgspec.Struct):
    """Kill bodies are read and ignored."""


class CastBody(msgspec.Struct, omit_defaults=True):
    """``POST /cast``: a code to record (never obeyed), optionally on session ``target``."""

    code: Annotated[str, msgspec.Meta(min_length=1, pattern="\\S")]
    target: str | None = None


class FamiliarBody(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=True):
    """``POST /familiars``: one new roster entry, in the roster's own key names."""

    id: FamiliarId
    display_name: Annotated[str, msgspec.Meta(pattern="\\S")]
    role: str
    description: str
    harness: Annotated[str, msgspec.Meta(pattern="^[a-z0-9][a-z0-9._-]*$")] | None = None
    model: str | None = None
    instructions: str | None = None
    name: str | None = None
    emoji: str | None = None
    icon: str | None = None
    pronouns: str | None = None
    active_channel: str | None = None
    workspace: str | None = None
