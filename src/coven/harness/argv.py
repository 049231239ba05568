"""Building a harness argv from an adapter and launch options.

The result is an argv list for ``exec``: it is never joined into a string and
never passed through a shell. The prompt is always exactly one argv element,
either positional after ``--`` or bound as ``--flag=<prompt>``.

Order (as the reference CLI builds it): model → sandbox → add-dir → mode prefix → prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from coven.errors import InvalidRequest
from coven.harness.adapter import Adapter, ModelIdTransform
from coven.schema.vocabulary import LaunchMode, Permission

_SAFE_MODEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]*\Z")


@dataclass(frozen=True, slots=True)
class LaunchOptions:
    """What the caller asked for. ``model`` is trimmed; blank means absent."""

    prompt: str
    mode: LaunchMode = "interactive"
    model: str | None = None
    permission: Permission | None = None
    add_dirs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BuiltArgv:
    """The argv (``argv[0]`` is the adapter's bare executable name) and warnings.

    Each warning is one line of text for the user, e.g.
    ``harness `x` declares no model mechanism; --model M is ignored (...)``.
    """

    argv: list[str]
    warnings: list[str] = field(default_factory=list)


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


def build_argv(adapter: Adapter, options: LaunchOptions) -> BuiltArgv:
    """Build the argv for one launch of ``adapter``.

    Raises ``InvalidRequest`` for an unsafe model id, an unknown mode or
    permission, or a NUL byte in the prompt or an add-dir (``exec`` cannot
    carry one). Options the adapter cannot express produce warnings and are
    left out; they never fail the launch. Interactive launches bind the prompt
    to ``interactive_prompt_flag``, else ``prompt_flag``, else pass it after ``--``;
    non-interactive launches use ``prompt_flag``, else ``--``.
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

    if options.mode == "interactive":
        argv += adapter.interactive_prompt_prefix_args
        prompt_flag = adapter.interactive_prompt_flag or adapter.prompt_flag
    else:
        argv += adapter.non_interactive_prompt_prefix_args
        prompt_flag = adapter.prompt_flag

    if prompt_flag is not None:
        # Bound form keeps a prompt that starts with '-' from being read as an option.
        argv.append(f"{prompt_flag}={options.prompt}")
    else:
        argv += ["--", options.prompt]
    return BuiltArgv(argv=argv, warnings=warnings)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
