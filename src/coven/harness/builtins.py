"""The built-in adapters, ``codex`` and ``claude``, in their listing order.

The argv conventions match the reference implementation exactly, so existing
users see the same harness invocations.
"""

from __future__ import annotations

from coven.harness.adapter import Adapter, Capabilities, ContinuityArgs, Sandbox, StreamArgs

CODEX_INSTALL_HINT = (
    "Install Codex with `npm install -g @openai/codex` or `brew install --cask codex`; "
    "if it is already installed, make sure `codex` is on PATH and run `codex login` or "
    "`codex` once to authenticate, then retry `coven doctor`."
)

CLAUDE_INSTALL_HINT = (
    "Install Claude Code with `npm install -g @anthropic-ai/claude-code`; if it is already "
    "installed, make sure `claude` is on PATH and run `claude auth login` to authenticate, "
    "then retry `coven doctor`."
)

CODEX = Adapter(
    id="codex",
    label="Codex",
    executable="codex",
    interactive_prompt_prefix_args=(),
    non_interactive_prompt_prefix_args=("exec", "--skip-git-repo-check", "--color", "never"),
    install_hint=CODEX_INSTALL_HINT,
    model_flag="--model",
    model_id_transform="strip_provider",
    sandbox=Sandbox(flag="--sandbox", full="danger-full-access", read_only="read-only"),
    add_dir_flag="--add-dir",
    starts_without_prompt=True,
    capabilities=Capabilities(),
    # `codex exec -- -` reads the prompt from stdin (as the reference daemon always does).
    stdin_prompt_args=("--", "-"),
    # `codex resume <id>` (interactive) and `codex exec … resume <id>`: a subcommand.
    continuity_args=ContinuityArgs(resume_prefix_args=("resume",)),
)

CLAUDE = Adapter(
    id="claude",
    label="Claude Code",
    executable="claude",
    interactive_prompt_prefix_args=(),
    non_interactive_prompt_prefix_args=("--print",),
    install_hint=CLAUDE_INSTALL_HINT,
    system_prompt_flag="--system-prompt",
    model_flag="--model",
    model_id_transform="strip_provider",
    sandbox=Sandbox(flag="--permission-mode", full="bypassPermissions", read_only="plan"),
    add_dir_flag="--add-dir",
    starts_without_prompt=True,
    capabilities=Capabilities(stream=True, preassigned_session_id=True, think=True, speed=True),
    stream_args=StreamArgs(
        prefix_args=(
            "--print",
            "--input-format",
            "stream-json",
            "--output-format",
            "stream-json",
            "--verbose",
        ),
        session_id_flag="--session-id",
        resume_flag="--resume",
    ),
    # `claude --print` with no prompt argument reads the prompt from stdin.
    stdin_prompt_args=(),
    continuity_args=ContinuityArgs(session_id_flag="--session-id", resume_flag="--resume"),
)

BUILTIN_ADAPTERS: tuple[Adapter, ...] = (CODEX, CLAUDE)
BUILTIN_IDS: frozenset[str] = frozenset(a.id for a in BUILTIN_ADAPTERS)

# Harnesses the reference ships as built-ins that we do not launch. Their own tools
# register the sessions they run as external sessions (Coven Code registers
# `coven-code` sessions), so those registrations must keep working unchanged.
EXTERNAL_ONLY_IDS: tuple[str, ...] = ("coven-code", "copilot")
