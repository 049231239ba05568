"""Validation of the ``POST /sessions`` launch body.

Fields are checked in the reference daemon's order so
the first error a client sees is the same one; unlike the reference, fields of
the wrong JSON type are refused instead of ignored. Unknown fields are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import msgspec

from coven.authority.environment import parse_environment
from coven.authority.fields import (
    bounded_int,
    json_type,
    optional_trimmed,
    parse_labels,
    require_object,
)
from coven.authority.paths import canonical_directory, resolve_cwd, resolve_project_root
from coven.authority.refusals import (
    ExecutionBindingInvalid,
    RequestAdoptionInvalid,
    UnknownFamiliar,
)
from coven.errors import InvalidRequest
from coven.schema.familiars import is_familiar_id
from coven.schema.vocabulary import (
    DEFAULT_COLS,
    DEFAULT_ROWS,
    MAX_DIMENSION,
    ConversationMode,
    Isolation,
    LaunchMode,
    Permission,
)

# The request body's own limit (4 MiB) is the one that binds: any prompt that fits in
# a body is accepted, and one too long for a command line goes to the harness on stdin.
MAX_PROMPT_BYTES = 4 * 1024 * 1024

_CONVERSATION_ID = re.compile(r"[A-Za-z0-9._-]+")


class Conversation(msgspec.Struct, frozen=True):
    """A harness resume hint: start (``init``) or continue (``resume``) conversation ``id``."""

    mode: ConversationMode
    id: str


class LaunchRequest(msgspec.Struct, frozen=True):
    """A launch body that passed every check; paths are canonical.

    ``environment`` is the launching client's environment for the harness
    (``None``: the client sent none, use the daemon's). It is kept out of
    ``repr`` so it cannot reach a log line by accident; never store it.
    """

    project_root: Path
    cwd: Path
    harness: str
    launch_mode: LaunchMode
    prompt: str
    title: str
    model: str | None = None
    conversation_id: str | None = None
    conversation: Conversation | None = None
    permission: Permission | None = None
    add_dirs: tuple[Path, ...] = ()
    cols: int = DEFAULT_COLS
    rows: int = DEFAULT_ROWS
    labels: tuple[str, ...] = ()
    environment: dict[str, str] | None = None
    familiar_id: str | None = None
    caller_familiar_id: str | None = None
    isolation: Isolation = "none"

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.__rich_repr__())
        return f"{type(self).__name__}({shown})"

    def __rich_repr__(self) -> list[tuple[str, object]]:
        # Every field but ``environment``.
        return [(n, getattr(self, n)) for n in self.__struct_fields__ if n != "environment"]


def default_unsupported_message(harness: str, harness_ids: Collection[str]) -> str:
    """The reference's wording for an unknown harness id."""
    configured = ", ".join(sorted(harness_ids)) or "(none)"
    return f"unsupported harness `{harness}`. Configured harnesses: {configured}"


def reject_reserved(body: Mapping[str, Any]) -> None:
    """Refuse the reference's bound-launch members (present with any value, even null)."""
    if "executionBinding" in body:
        raise ExecutionBindingInvalid(
            "Execution bindings are not accepted on this route; this daemon serves no "
            "bound launches.",
            {"fields": ["executionBinding"]},
        )
    if "requestAdoption" in body:
        raise RequestAdoptionInvalid(
            "requestAdoption requires an execution binding.",
            {"fields": ["executionBinding"]},
        )
    if "sessionPolicy" in body:
        raise InvalidRequest(
            "sessionPolicy is not accepted on legacy launch; use /api/v1/sessions/restricted."
        )
    if "launchPolicy" in body:
        # Ignoring a policy the caller relies on would launch with other powers
        # than asked for: fail closed and name the replacements.
        raise InvalidRequest(
            "launchPolicy is not supported by this daemon; use `permission` and `addDirs`",
            {"field": "launchPolicy"},
        )


def _harness(
    body: Mapping[str, Any], harness_ids: Collection[str], unsupported: Callable[[str], str]
) -> str:
    raw = body.get("harness")
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidRequest("request body requires string field `harness`", {"field": "harness"})
    harness = raw.strip()
    if harness not in harness_ids:
        raise InvalidRequest(unsupported(harness), {"field": "harness", "harness": harness})
    return harness


def _launch_mode(body: Mapping[str, Any]) -> LaunchMode:
    raw = body.get("launchMode")
    if raw is None or raw == "interactive":
        return "interactive"
    if raw == "nonInteractive":
        return "nonInteractive"
    if raw == "stream":
        raise InvalidRequest(
            "launchMode `stream` is not supported by this daemon", {"field": "launchMode"}
        )
    shown = raw if isinstance(raw, str) else json_type(raw)
    raise InvalidRequest(
        f"launchMode must be `interactive`, `nonInteractive`, or `stream`, got `{shown}`",
        {"field": "launchMode"},
    )


def _prompt(body: Mapping[str, Any], launch_mode: LaunchMode) -> str:
    """The prompt; blank or absent (missing, null) is allowed for interactive launches
    and comes back as ``""``.

    An interactive agent started without a prompt shows its own UI; whether the
    harness can start that way is the adapter's to say (``build_argv``). (CastCodes
    opens a lane with ``{title, projectRoot, harness}`` and no prompt at all.)
    """
    raw = body.get("prompt")
    blank = raw is None or (isinstance(raw, str) and not raw.strip())
    if blank and launch_mode == "interactive":
        return ""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidRequest("request body requires string field `prompt`", {"field": "prompt"})
    # len() in characters is a cheap lower bound on the UTF-8 size.
    if len(raw) > MAX_PROMPT_BYTES or len(raw.encode("utf-8", "surrogatepass")) > MAX_PROMPT_BYTES:
        raise InvalidRequest(
            f"`prompt` must be at most {MAX_PROMPT_BYTES} bytes", {"field": "prompt"}
        )
    try:
        # What exec (argv) and the stdin file will be given: a lone surrogate has no bytes.
        raw.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise InvalidRequest(
            f"`prompt` holds an unpaired surrogate (\\u{ord(raw[exc.start]):04x}) at "
            f"character {exc.start}; send valid Unicode text",
            {"field": "prompt"},
        ) from None
    return raw


def parse_conversation(raw: object) -> Conversation | None:
    """Validate ``conversation`` (object ``{mode, id}`` or null) with the reference's messages."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or "mode" not in raw or "id" not in raw:
        raise InvalidRequest(
            "conversation must be an object with `mode` and `id` fields",
            {"field": "conversation"},
        )
    mode, cid = raw["mode"], raw["id"]
    if mode not in ("init", "resume"):
        shown = mode if isinstance(mode, str) else json_type(mode)
        raise InvalidRequest(
            f"conversation.mode must be `init` or `resume`, got `{shown}`",
            {"field": "conversation"},
        )
    if not isinstance(cid, str) or not _CONVERSATION_ID.fullmatch(cid):
        raise InvalidRequest(
            "conversation.id must contain only letters, digits, '-', '_', or '.'",
            {"field": "conversation"},
        )
    return Conversation(mode="init" if mode == "init" else "resume", id=cid)


def _permission(body: Mapping[str, Any]) -> Permission | None:
    raw = body.get("permission")
    if raw is None:
        return None
    if raw == "full":
        return "full"
    if raw == "read-only":
        return "read-only"
    shown = raw if isinstance(raw, str) else json_type(raw)
    raise InvalidRequest(
        f"permission must be `full` or `read-only`, got `{shown}`", {"field": "permission"}
    )


def _isolation(body: Mapping[str, Any]) -> Isolation:
    raw = body.get("isolation")
    if raw is None or raw == "none":
        return "none"
    if raw == "worktree":
        return "worktree"
    shown = raw if isinstance(raw, str) else json_type(raw)
    raise InvalidRequest(
        f"isolation must be `none` or `worktree`, got `{shown}`", {"field": "isolation"}
    )


def _add_dirs(body: Mapping[str, Any], coven_home: Path) -> tuple[Path, ...]:
    raw = body.get("addDirs")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidRequest("addDirs must be an array of absolute paths", {"field": "addDirs"})
    dirs: list[Path] = []
    for item in raw:
        if not isinstance(item, str) or not item:
            raise InvalidRequest(
                "every addDirs entry must be a non-empty string", {"field": "addDirs"}
            )
        path = canonical_directory(item, "addDirs", coven_home=coven_home)
        if path not in dirs:
            dirs.append(path)
    return tuple(dirs)


def parse_launch(
    body: object,
    *,
    harness_ids: Collection[str],
    coven_home: Path,
    unsupported_message: Callable[[str], str] | None = None,
) -> LaunchRequest:
    """Validate a decoded ``POST /sessions`` body; raise on the first bad field.

    ``harness_ids`` is the configured set (fails closed: an id outside it is
    refused). ``unsupported_message(harness)`` words that refusal; by default it
    lists ``harness_ids``. Raises ``InvalidRequest`` or one of its subclasses
    (``ExecutionBindingInvalid``, ``RequestAdoptionInvalid``). Touches the
    filesystem only to resolve paths.
    """
    obj = require_object(body)
    reject_reserved(obj)
    root = resolve_project_root(obj.get("projectRoot"), coven_home=coven_home)
    cwd = resolve_cwd(obj.get("cwd"), root=root)
    word = unsupported_message or (lambda h: default_unsupported_message(h, harness_ids))
    harness = _harness(obj, harness_ids, word)
    launch_mode = _launch_mode(obj)
    model = optional_trimmed(obj, "model")
    prompt = _prompt(obj, launch_mode)
    title = optional_trimmed(obj, "title") or prompt.strip() or harness
    conversation = parse_conversation(obj.get("conversation"))
    conversation_id = optional_trimmed(obj, "conversationId")
    permission = _permission(obj)
    add_dirs = _add_dirs(obj, coven_home)
    cols = bounded_int(obj, "cols", DEFAULT_COLS, 1, MAX_DIMENSION)
    rows = bounded_int(obj, "rows", DEFAULT_ROWS, 1, MAX_DIMENSION)
    labels = parse_labels(obj.get("labels"))
    environment = parse_environment(obj.get("environment"))
    familiar_id = _familiar_field(obj, "familiarId")
    caller_familiar_id = _familiar_field(obj, "callerFamiliarId")
    isolation = _isolation(obj)
    return LaunchRequest(
        project_root=root,
        cwd=cwd,
        harness=harness,
        launch_mode=launch_mode,
        prompt=prompt,
        title=title,
        model=model,
        conversation_id=conversation_id,
        conversation=conversation,
        permission=permission,
        add_dirs=add_dirs,
        cols=cols,
        rows=rows,
        labels=labels,
        environment=environment,
        familiar_id=familiar_id,
        caller_familiar_id=caller_familiar_id,
        isolation=isolation,
    )


def _familiar_field(obj: Mapping[str, Any], name: str) -> str | None:
    """A trimmed familiar id, or ``None`` when absent, null or blank.

    Only its shape is checked here; whether the roster declares it is the
    launcher's check (it reads ``familiars.toml``). A string that could not be
    a familiar id is already an ``unknown_familiar``.
    """
    raw = obj.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise InvalidRequest(f"{name} must be a string", {"field": name})
    value = raw.strip()
    if not value:
        return None
    if is_familiar_id(value):
        return value
    if name == "familiarId":
        raise UnknownFamiliar(f"unknown familiar `{value}`", {"familiarId": value})
    raise InvalidRequest(f"{name} must be 1-64 ASCII letters, digits, `_` or `-`", {"field": name})
