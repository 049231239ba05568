"""Validation of ``POST /sessions/external`` bodies and of session ids in general.

Stricter than the reference (which accepted any non-blank strings): the project
root obeys the launch rules, the harness must be one the daemon knows (the
launch's policy) and the session id must be usable as a path segment of the
API's routes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from pathlib import Path

import msgspec

from coven.authority.fields import json_type, optional_str, parse_labels, require_object
from coven.authority.paths import resolve_project_root
from coven.authority.refusals import ExecutionBindingInvalid, RequestAdoptionInvalid
from coven.errors import InvalidRequest

MAX_SESSION_ID = 128
MAX_HARNESS_ID = 64
DEFAULT_EXTERNAL_TITLE = "External session"

_HARNESS_ID = re.compile(r"[a-z0-9][a-z0-9._-]*")
# Characters the router or an events query would split, decode or reinterpret.
_ID_FORBIDDEN = frozenset("?&#%\\")
# Suffixes the router matches before the session id (see ``coven.api.router``): a
# session with such an id could never be read or controlled by its own path.
_ROUTE_SUFFIXES = (
    "/events",
    "/log",
    "/kill",
    "/input",
    "/complete",
    "/handoffs",
    "/adopted-input",
    "/resize",
    "/attach",
    "/screen",
)


class ExternalRegistration(msgspec.Struct, frozen=True):
    """A validated external-session registration; ``project_root`` is canonical."""

    id: str
    project_root: Path
    harness: str
    title: str
    transcript_path: str | None
    labels: tuple[str, ...]


def validate_session_id(raw: object, field: str = "id") -> str:
    """Return ``raw`` if it is a usable session id, else raise ``InvalidRequest``.

    Non-blank, at most 128 characters, no whitespace or control characters, none
    of ``? & # % \\``, no empty, ``.`` or ``..`` path segments, no route suffix
    such as ``/events`` and no ``artifacts/`` segment. Never trimmed.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidRequest(f"request body requires string field `{field}`", {"field": field})
    problem: str | None = None
    if len(raw) > MAX_SESSION_ID:
        problem = f"must be at most {MAX_SESSION_ID} characters"
    elif any(ch.isspace() or not ch.isprintable() for ch in raw):
        problem = "must not contain whitespace or control characters"
    elif any(ch in _ID_FORBIDDEN for ch in raw):
        problem = "must not contain `?`, `&`, `#`, `%` or `\\`"
    elif any(seg in ("", ".", "..") for seg in raw.split("/")):
        problem = "must not contain empty, `.` or `..` path segments"
    elif raw.endswith(_ROUTE_SUFFIXES) or "artifacts/" in raw:
        problem = "must not end in a route suffix such as `/events` or contain `artifacts/`"
    if problem is not None:
        raise InvalidRequest(f"session id {problem}", {"field": field})
    return raw


def is_harness_id(value: str) -> bool:
    """True when ``value`` is a well-formed harness id (whether or not it is installed)."""
    return len(value) <= MAX_HARNESS_ID and bool(_HARNESS_ID.fullmatch(value))


def validate_harness_id(raw: object) -> str:
    """A trimmed harness id matching ``[a-z0-9][a-z0-9._-]*`` (≤ 64 chars)."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidRequest("request body requires string field `harness`", {"field": "harness"})
    harness = raw.strip()
    if not is_harness_id(harness):
        raise InvalidRequest(
            "harness must match `[a-z0-9][a-z0-9._-]*` and be at most 64 characters",
            {"field": "harness"},
        )
    return harness


def parse_external(
    body: object,
    *,
    coven_home: Path,
    harness_ids: Collection[str],
    unsupported_message: Callable[[str], str],
) -> ExternalRegistration:
    """Validate a decoded ``POST /sessions/external`` body, in the reference's order.

    Raises ``RequestAdoptionInvalid`` / ``ExecutionBindingInvalid`` when those
    members are present (any value), else ``InvalidRequest`` on the first bad
    field. Unknown fields are ignored. As for a launch, ``harness`` must be one
    of ``harness_ids`` (fails closed); ``unsupported_message(harness)`` words
    the refusal.
    """
    obj = require_object(body)
    if "requestAdoption" in obj:
        raise RequestAdoptionInvalid(
            "External sessions cannot request adoption.", {"fields": ["requestAdoption"]}
        )
    if "executionBinding" in obj:
        raise ExecutionBindingInvalid(
            "External sessions cannot carry execution bindings.",
            {"fields": ["executionBinding"]},
        )
    session_id = validate_session_id(obj.get("id"))
    root = resolve_project_root(obj.get("projectRoot"), coven_home=coven_home)
    harness = validate_harness_id(obj.get("harness"))
    if harness not in harness_ids:
        raise InvalidRequest(unsupported_message(harness), {"field": "harness", "harness": harness})
    labels = parse_labels(obj.get("labels"))
    title = (optional_str(obj, "title") or "").strip() or DEFAULT_EXTERNAL_TITLE
    transcript = obj.get("transcriptPath")
    if transcript is not None and not isinstance(transcript, str):
        raise InvalidRequest(
            f"`transcriptPath` must be a string or null, got {json_type(transcript)}",
            {"field": "transcriptPath"},
        )
    return ExternalRegistration(
        id=session_id,
        project_root=root,
        harness=harness,
        title=title,
        transcript_path=transcript,
        labels=labels,
    )
