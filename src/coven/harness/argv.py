"""Building a harness argv from an adapter and launch options.

The result is an argv list for ``exec``: it is never joined into a string and
never passed through a shell. The prompt is exactly one argv element, either
positional after ``--`` or bound as ``--flag=<prompt>`` — unless it is too long
for ``exec`` (see ``ARG_STRLEN_MAX``), in which case a non-interactive launch of
a harness that declares ``stdin_prompt_args`` gets the prompt on standard input
instead, and any other launch is refused with ``InvalidRequest`` naming the limit.

Order (as the reference CLI builds it): model → sandbox → add-dir → system prompt →
conversation flag → mode prefix → conversation subcommand → prompt.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import msgspec

from coven.errors import InvalidRequest
from coven.harness.adapter import Adapter, ContinuityArgs, ModelIdTransform
from coven.schema.vocabulary import LaunchMode, Permission

_SAFE_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]*\Z")
# A conversation id becomes one argv element after a flag: never one that reads as an option.
_SAFE_CONVERSATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")

# Linux's MAX_ARG_STRLEN (32 pages): the longest single string exec accepts, its
# terminating NUL included. A longer argument fails the whole exec with E2BIG.
ARG_STRLEN_MAX = 32 * 4096
# What the exec of the harness adds beyond its own argv and environment: the
# `setsid` wrapper's arguments and pointers, with room to spare.
_EXEC_OVERHEAD = 4096
_POINTER = 8


class LaunchOptions(msgspec.Struct, frozen=True):
    """What the caller asked for. ``model`` is trimmed; blank means absent."""

    prompt: str
    mode: LaunchMode = "interactive"
    model: str | None = None
    permission: Permission | None = None
    add_dirs: tuple[str, ...] = ()
    system_prompt: str | None = None
    """A familiar's identity (and standing instructions): given with the adapter's
    ``system_prompt_flag`` when it has one, else put before the prompt with a blank line."""
    conversation_id: str | None = None
    """Start the harness's conversation under this id (``--session-id`` for Claude)."""
    resume_id: str | None = None
    """Resume exactly this harness conversation (``--resume``, ``codex resume``)."""


class BuiltArgv(msgspec.Struct, frozen=True):
    """The argv (``argv[0]`` is the adapter's bare executable name) and warnings.

    Each warning is one line of text for the user, e.g.
    ``harness `x` declares no model mechanism; --model M is ignored (...)``.
    """

    argv: list[str]
    warnings: list[str] = msgspec.field(default_factory=list)
    stdin_prompt: str | None = None
    """When set, the prompt is not in ``argv``: feed this text to the harness's stdin."""


def transform_model(model: str, transform: ModelIdTransform) -> str:
    """Apply an adapter's model id transform.

    ``strip_provider`` removes the first ``provider/`` segment when both sides
    are non-empty and the rest does not start with ``/``; ``preserve`` returns
    the id unchanged.
    """
    if transform == "preserve":
        return model
    provider, sep, rest = model.partition("/")
    if sep and provider and rest and not rest.startswith("/"):
        return rest
    return model


def is_safe_model(model: str) -> bool:
    """True when ``model`` cannot be mistaken for an option or a path escape."""
    return _SAFE_MODEL.match(model) is not None and ".." not in model


def model_args(adapter: Adapter, model: str) -> list[str]:
    """The argv fragment that selects ``model`` (already trimmed, non-blank).

    Raises ``InvalidRequest`` when the transformed id is unsafe. Returns ``[]``
    when the adapter declares no model mechanism.
    """
    value = transform_model(model, adapter.model_id_transform)
    if not is_safe_model(value):
        raise InvalidRequest(
            f"model id is unsafe after adapter transform for harness `{adapter.id}`: "
            f'"{_quote(value)}"'
        )
    if adapter.model_arg_template is not None:
        return [token.replace("{model}", value) for token in adapter.model_arg_template.split()]
    if adapter.model_flag is not None:
        return [adapter.model_flag, value]
    return []


def exec_budget(env: Mapping[str, str], arg_max: int | None = None) -> int:
    """Bytes an argv may take (strings, NULs and pointers) when exec'd with ``env``.

    ``arg_max`` defaults to this system's ``ARG_MAX`` (a quarter of the stack
    limit, usually 2 MiB); the environment's strings and pointers count against
    it too, as the kernel counts them.
    """
    limit = arg_max if arg_max is not None else os.sysconf("SC_ARG_MAX")
    # Each entry is the string "NAME=value" with its NUL, plus its pointer.
    used = sum(_exec_len(k) + _exec_len(v) + 2 + _POINTER for k, v in env.items())
    return limit - used - _EXEC_OVERHEAD


def _exec_len(text: str) -> int:
    """Bytes of ``text`` in an exec string (without its NUL)."""
    return len(text.encode("utf-8", "surrogatepass"))


def _argv_size(argv: list[str]) -> int:
    return sum(_exec_len(arg) + 1 + _POINTER for arg in argv)


def build_argv(
    adapter: Adapter, options: LaunchOptions, *, exec_room: int | None = None
) -> BuiltArgv:
    """Build the argv for one launch of ``adapter``.

    Raises ``InvalidRequest`` for an unsafe model id, an unknown mode or
    permission, or a NUL byte in the prompt or an add-dir (``exec`` cannot
    carry one). Options the adapter cannot express produce warnings and are
    left out; they never fail the launch. A blank interactive prompt leaves the
    prompt out entirely when the adapter ``starts_without_prompt`` and is refused
    otherwise. Interactive launches bind the prompt
    to ``interactive_prompt_flag``, else ``prompt_flag``, else pass it after ``--``;
    non-interactive launches use ``prompt_flag``, else ``--``.

    ``exec_room`` is what ``exec_budget`` answered for the launch's environment
    (default: the budget with an empty environment). A prompt whose argument
    would exceed ``ARG_STRLEN_MAX`` or that room goes on stdin when the launch
    is non-interactive and the adapter declares ``stdin_prompt_args``
    (``BuiltArgv.stdin_prompt``); otherwise the launch is refused with
    ``InvalidRequest`` whose details name the limit (``reason``
    ``prompt_too_long_for_command_line``, ``limitBytes``, ``promptBytes``).
    """
    if options.mode not in ("interactive", "nonInteractive"):
        raise InvalidRequest(
            f"launchMode must be `interactive` or `nonInteractive`, got `{options.mode}`"
        )
    if options.permission not in (None, "full", "read-only"):
        raise InvalidRequest(
            f"permission must be `full` or `read-only`, got `{options.permission}`"
        )
    if "\0" in options.prompt:
        raise InvalidRequest("prompt must not contain NUL characters")

    argv: list[str] = [adapter.executable]
    warnings: list[str] = []

    model = (options.model or "").strip()
    if model:
        if adapter.has_model_mechanism:
            argv += model_args(adapter, model)
        else:
            warnings.append(
                f"harness `{adapter.id}` declares no model mechanism; --model {model} is "
                "ignored (declare model_flag or model_arg_template in the adapter manifest "
                "to enable it)"
            )

    if options.permission is not None:
        if adapter.sandbox is not None:
            argv += adapter.sandbox.args_for(options.permission)
        else:
            warnings.append(
                f"harness `{adapter.id}` declares no sandbox mechanism; --permission "
                f"{options.permission} is ignored (declare sandbox in the adapter manifest "
                "to enable it)"
            )

    # Reference behaviour: add-dirs pass through raw, blank entries dropped.
    add_dirs = [d for d in options.add_dirs if d.strip()]
    for directory in add_dirs:
        if "\0" in directory:
            raise InvalidRequest("add-dir must not contain NUL characters")
    if add_dirs:
        if adapter.add_dir_flag is not None:
            for directory in add_dirs:
                argv += [adapter.add_dir_flag, directory]
        else:
            warnings.append(
                f"harness `{adapter.id}` declares no add-dir mechanism; --add-dir is ignored "
                "(declare add_dir_flag in the adapter manifest to enable it)"
            )

    prompt = options.prompt
    if options.system_prompt:
        if "\0" in options.system_prompt:
            raise InvalidRequest("system prompt must not contain NUL characters")
        if adapter.system_prompt_flag is not None:
            argv += [adapter.system_prompt_flag, options.system_prompt]
        else:
            prompt = f"{options.system_prompt}\n\n{prompt}"
    continuity = adapter.continuity_args or ContinuityArgs()
    after_prefix: list[str] = []
    for value in (options.conversation_id, options.resume_id):
        if value is not None and not _SAFE_CONVERSATION.match(value):
            raise InvalidRequest(f"conversation id {_quote(value)!r} is not safe to pass on")
    if options.resume_id is not None:
        if continuity.resume_flag is not None:
            argv += [continuity.resume_flag, options.resume_id]
        elif continuity.resume_prefix_args:
            after_prefix = [*continuity.resume_prefix_args, options.resume_id]
        else:
            warnings.append(
                f"harness `{adapter.id}` declares no way to resume a conversation; it starts "
                "a new one (declare continuity_args in the adapter manifest to enable it)"
            )
    elif options.conversation_id is not None and continuity.session_id_flag is not None:
        argv += [continuity.session_id_flag, options.conversation_id]
        after_prefix = list(continuity.init_prefix_args or ())

    if options.mode == "interactive":
        argv += adapter.interactive_prompt_prefix_args
        if not options.prompt.strip():
            if not adapter.starts_without_prompt:
                raise InvalidRequest(
                    f"harness `{adapter.id}` needs a prompt to start",
                    {"field": "prompt", "harness": adapter.id},
                )
            return BuiltArgv(argv=argv, warnings=warnings)  # the agent's own UI, no prompt
        prompt_flag = adapter.interactive_prompt_flag or adapter.prompt_flag
    else:
        argv += adapter.non_interactive_prompt_prefix_args
        prompt_flag = adapter.prompt_flag
    argv += after_prefix

    # Bound form keeps a prompt that starts with '-' from being read as an option.
    prompt_part = [f"{prompt_flag}={prompt}"] if prompt_flag is not None else ["--", prompt]
    room = exec_budget({}) if exec_room is None else exec_room
    # Bytes the prompt itself may take: one exec string (less a bound flag's
    # `--flag=`), and what the rest of the argv leaves of the room.
    overhead = _exec_len(prompt_part[-1]) - _exec_len(prompt)
    left = room - _argv_size(argv + prompt_part[:-1]) - _POINTER - 1
    limit = max(0, min(ARG_STRLEN_MAX - 1, left) - overhead)
    prompt_bytes = _exec_len(prompt)
    if prompt_bytes <= limit:
        return BuiltArgv(argv=argv + prompt_part, warnings=warnings)
    if options.mode == "nonInteractive" and adapter.stdin_prompt_args is not None:
        return BuiltArgv(
            argv=argv + list(adapter.stdin_prompt_args),
            warnings=warnings,
            stdin_prompt=prompt,
        )
    raise _prompt_too_long(adapter, options.mode, prompt_bytes, limit)


def _prompt_too_long(
    adapter: Adapter, mode: LaunchMode, prompt_bytes: int, limit: int
) -> InvalidRequest:
    if mode == "interactive":
        remedy = (
            "an interactive harness reads its first prompt only from its command line; "
            "shorten the prompt, or launch with launchMode `nonInteractive`"
        )
        if adapter.stdin_prompt_args is None:
            remedy += " once its adapter manifest declares stdin_prompt_args"
    else:
        remedy = (
            f"harness `{adapter.id}` declares no way to read a prompt on stdin "
            "(stdin_prompt_args in its adapter manifest); shorten the prompt"
        )
    return InvalidRequest(
        f"prompt is {prompt_bytes} bytes, but harness `{adapter.id}` would get it as one "
        f"command-line argument, which holds at most {limit} bytes; {remedy}",
        {
            "field": "prompt",
            "reason": "prompt_too_long_for_command_line",
            "limitBytes": limit,
            "promptBytes": prompt_bytes,
            "harness": adapter.id,
        },
    )


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
