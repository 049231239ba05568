"""The adapter: everything Coven knows about launching one harness CLI.

An ``Adapter`` is plain data. Built-ins are declared in ``builtins.py``; user
adapters come from manifests (``manifest.py``). ``argv.py`` turns an adapter plus
``LaunchOptions`` into an argv list. Nothing here runs a process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import msgspec

ModelIdTransform = Literal["strip_provider", "preserve"]
AdapterSource = Literal["builtin", "manifest"]


class Sandbox(msgspec.Struct, frozen=True):
    """How ``--permission full|read-only`` maps onto the harness's own flags.

    Exactly one form is populated: the flag form (``flag`` + ``full`` +
    ``read_only`` gives ``[flag, full]``) or the list form (``full_args`` /
    ``read_only_args`` are used verbatim).
    """

    flag: str | None = None
    full: str | None = None
    read_only: str | None = None
    full_args: tuple[str, ...] | None = None
    read_only_args: tuple[str, ...] | None = None

    def args_for(self, permission: Literal["full", "read-only"]) -> tuple[str, ...]:
        """The argv fragment for ``permission``."""
        if self.flag is not None:
            value = self.full if permission == "full" else self.read_only
            assert value is not None  # validated at construction sites
            return (self.flag, value)
        chosen = self.full_args if permission == "full" else self.read_only_args
        assert chosen is not None
        return chosen


class Capabilities(msgspec.Struct, frozen=True):
    """Optional features a harness supports; all default to ``False``."""

    stream: bool = False
    preassigned_session_id: bool = False
    think: bool = False
    speed: bool = False


class StreamArgs(msgspec.Struct, frozen=True):
    """Argv used for stream-mode launches (declared, not yet used by ``build_argv``)."""

    prefix_args: tuple[str, ...]
    session_id_flag: str | None = None
    resume_flag: str | None = None


class ContinuityArgs(msgspec.Struct, frozen=True):
    """How to start a harness conversation under a chosen id, or resume one by id.

    Starting: ``[session_id_flag, id]`` before the mode's prefix args, then
    ``init_prefix_args`` after them. Resuming: ``[resume_flag, id]`` before the mode's
    prefix args, else ``[*resume_prefix_args, id]`` after them (a subcommand such as
    ``codex resume <id>``).
    """

    init_prefix_args: tuple[str, ...] | None = None
    resume_prefix_args: tuple[str, ...] | None = None
    session_id_flag: str | None = None
    resume_flag: str | None = None


class Adapter(msgspec.Struct, frozen=True):
    """One harness: its identity, executable and argv conventions.

    ``executable`` is always a bare command name, resolved on PATH at launch;
    it never contains a path separator. ``id`` is case-sensitive.

    ``stdin_prompt_args`` is how a non-interactive launch hands the harness a
    prompt on standard input instead of its command line (used when the prompt
    is too long for one exec argument): these arguments take the prompt's
    place in the argv (``("--", "-")`` for codex, ``()`` for claude, which reads
    stdin when no prompt argument is given). ``None``: the harness has no such
    mechanism, so a prompt too long for its command line is refused.
    """

    id: str
    label: str
    executable: str
    interactive_prompt_prefix_args: tuple[str, ...]
    non_interactive_prompt_prefix_args: tuple[str, ...]
    install_hint: str
    prompt_flag: str | None = None
    interactive_prompt_flag: str | None = None
    system_prompt_flag: str | None = None
    model_flag: str | None = None
    model_arg_template: str | None = None
    model_id_transform: ModelIdTransform = "strip_provider"
    sandbox: Sandbox | None = None
    add_dir_flag: str | None = None
    # Started interactively with no prompt at all, the harness shows its own UI.
    starts_without_prompt: bool = False
    capabilities: Capabilities = msgspec.field(default_factory=Capabilities)
    stream_args: StreamArgs | None = None
    continuity_args: ContinuityArgs | None = None
    stdin_prompt_args: tuple[str, ...] | None = None
    source: AdapterSource = "builtin"
    manifest_path: Path | None = None

    @property
    def has_model_mechanism(self) -> bool:
        return self.model_flag is not None or self.model_arg_template is not None
