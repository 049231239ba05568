"""Argv building: exact reference argv for codex/claude, manifest adapters, model rules."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coven.errors import InvalidRequest
from coven.harness import (
    ARG_STRLEN_MAX,
    CLAUDE,
    CODEX,
    Adapter,
    LaunchOptions,
    build_argv,
    exec_budget,
    is_safe_model,
    load_manifest_file,
    transform_model,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "manifests"


def manifest_adapter(name: str) -> Adapter:
    load = load_manifest_file(FIXTURES / name)
    assert load.problems == ()
    (adapter,) = load.adapters
    return adapter


@pytest.mark.parametrize(
    ("adapter", "options", "expected"),
    [
        (CODEX, LaunchOptions("fix it"), ["codex", "--", "fix it"]),
        (CLAUDE, LaunchOptions("fix it"), ["claude", "--", "fix it"]),
        (
            CODEX,
            LaunchOptions("fix it", mode="nonInteractive"),
            ["codex", "exec", "--skip-git-repo-check", "--color", "never", "--", "fix it"],
        ),
        (
            CLAUDE,
            LaunchOptions("fix it", mode="nonInteractive"),
            ["claude", "--print", "--", "fix it"],
        ),
        # the reference CLI: codex  --model gpt-5.5 --sandbox read-only --add-dir /x exec ...
        (
            CODEX,
            LaunchOptions(
                "codex opts",
                mode="nonInteractive",
                model="gpt-5.5",
                permission="read-only",
                add_dirs=("/x",),
            ),
            [
                "codex",
                "--model",
                "gpt-5.5",
                "--sandbox",
                "read-only",
                "--add-dir",
                "/x",
                "exec",
                "--skip-git-repo-check",
                "--color",
                "never",
                "--",
                "codex opts",
            ],
        ),
        # the reference CLI's claude example, without the (unsupported here) --effort pair
        (
            CLAUDE,
            LaunchOptions(
                "all opts",
                mode="nonInteractive",
                model="claude-sonnet-4-5",
                permission="full",
                add_dirs=("sub",),
            ),
            [
                "claude",
                "--model",
                "claude-sonnet-4-5",
                "--permission-mode",
                "bypassPermissions",
                "--add-dir",
                "sub",
                "--print",
                "--",
                "all opts",
            ],
        ),
        (
            CODEX,
            LaunchOptions("p", permission="full"),
            ["codex", "--sandbox", "danger-full-access", "--", "p"],
        ),
        (
            CLAUDE,
            LaunchOptions("p", permission="read-only"),
            ["claude", "--permission-mode", "plan", "--", "p"],
        ),
        (
            CLAUDE,
            LaunchOptions("p", model="anthropic/claude-opus-4"),
            ["claude", "--model", "claude-opus-4", "--", "p"],
        ),
        (
            CODEX,
            LaunchOptions("p", add_dirs=("/a", " ", "", "rel dir")),
            ["codex", "--add-dir", "/a", "--add-dir", "rel dir", "--", "p"],
        ),
        (CODEX, LaunchOptions("p", model="   "), ["codex", "--", "p"]),
        (
            CODEX,
            LaunchOptions("p", model=" openai/gpt-5 "),
            ["codex", "--model", "gpt-5", "--", "p"],
        ),
    ],
)
def test_builtin_argv_is_exactly_the_reference(
    adapter: Adapter, options: LaunchOptions, expected: list[str]
) -> None:
    built = build_argv(adapter, options)
    assert built.argv == expected
    assert built.warnings == []


@pytest.mark.parametrize(
    "prompt",
    ["--model not-a-flag", "$(rm -rf /); echo `id` | cat > x", "line one\nline two", "-"],
)
def test_prompt_is_one_argv_element_after_double_dash(prompt: str) -> None:
    assert build_argv(CODEX, LaunchOptions(prompt)).argv == ["codex", "--", prompt]


@pytest.mark.parametrize("adapter", [CODEX, CLAUDE])
def test_an_interactive_launch_without_a_prompt_starts_the_agents_own_ui(
    adapter: Adapter,
) -> None:
    options = LaunchOptions("", model="m", permission="read-only")
    argv = build_argv(adapter, options).argv
    assert argv[0] == adapter.executable and "--" not in argv and "" not in argv
    assert argv[1:3] == ["--model", "m"]


def test_a_harness_that_needs_a_prompt_refuses_to_start_without_one() -> None:
    needy = msgspec.structs.replace(CODEX, id="needy", starts_without_prompt=False)
    with pytest.raises(InvalidRequest, match="harness `needy` needs a prompt") as info:
        build_argv(needy, LaunchOptions(" "))
    assert info.value.details == {"field": "prompt", "harness": "needy"}


@given(st.text().filter(lambda s: "\0" not in s))
def test_any_prompt_is_exactly_the_last_argv_element(prompt: str) -> None:
    argv = build_argv(CLAUDE, LaunchOptions(prompt, mode="nonInteractive")).argv
    assert argv == ["claude", "--print", "--", prompt]


def test_prompt_with_nul_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="NUL"):
        build_argv(CODEX, LaunchOptions("a\0b"))


def test_add_dir_with_nul_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="NUL"):
        build_argv(CODEX, LaunchOptions("p", add_dirs=("/a\0b",)))


def test_unknown_mode_and_permission_are_refused() -> None:
    with pytest.raises(InvalidRequest, match="launchMode"):
        build_argv(CODEX, LaunchOptions("p", mode="stream"))  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="permission"):
        build_argv(CODEX, LaunchOptions("p", permission="root"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("openai/gpt-5", "gpt-5"),
        ("openai//gpt", "openai//gpt"),
        ("../x", "x"),
        ("/x", "/x"),
        ("x/", "x/"),
        ("a/b/c", "b/c"),
        ("gpt-5", "gpt-5"),
    ],
)
def test_strip_provider(model: str, expected: str) -> None:
    assert transform_model(model, "strip_provider") == expected


def test_preserve_keeps_the_id() -> None:
    assert transform_model("anthropic/claude-x", "preserve") == "anthropic/claude-x"


@pytest.mark.parametrize(
    "model",
    ["--danger", "-x", "a/../b", "gpt 5", "gpt;rm", "é-model", "x..y", "_x", "openai/-rf", "a\tb"],
)
def test_unsafe_model_is_refused_with_the_reference_message(model: str) -> None:
    value = transform_model(model, "strip_provider")
    with pytest.raises(InvalidRequest) as info:
        build_argv(CODEX, LaunchOptions("p", model=model))
    assert info.value.message == (
        f'model id is unsafe after adapter transform for harness `codex`: "{value}"'
    )
    assert info.value.code == "invalid_request"


def test_unsafe_model_message_is_exact_for_danger() -> None:
    with pytest.raises(InvalidRequest) as info:
        build_argv(CODEX, LaunchOptions("p", model="--danger"))
    assert str(info.value) == (
        'model id is unsafe after adapter transform for harness `codex`: "--danger"'
    )


@pytest.mark.parametrize("model", ["gpt-5", "o3:latest", "a.b_c+d@e/f", "Claude-3"])
def test_safe_models(model: str) -> None:
    assert is_safe_model(model)


def test_manifest_adapter_template_list_sandbox_and_add_dir_flag() -> None:
    """The reference's observed launch of a custom adapter (without --think)."""
    built = build_argv(
        manifest_adapter("mytool.json"),
        LaunchOptions(
            "custom run",
            mode="nonInteractive",
            model="openai/gpt-5",
            permission="read-only",
            add_dirs=("/a", "/b"),
        ),
    )
    assert built.argv == [
        "mytool",
        "-c",
        "model=openai/gpt-5",
        "--ro",
        "--no-net",
        "--include",
        "/a",
        "--include",
        "/b",
        "run",
        "--quiet",
        "--",
        "custom run",
    ]
    assert built.warnings == []


def test_manifest_adapter_interactive_prefix_and_full_args() -> None:
    built = build_argv(manifest_adapter("mytool.json"), LaunchOptions("hi", permission="full"))
    assert built.argv == ["mytool", "--yolo", "chat", "--", "hi"]


def test_bound_prompt_flags() -> None:
    bound = manifest_adapter("bound.json")
    assert build_argv(bound, LaunchOptions("-rf x", mode="nonInteractive", model="m")).argv == [
        "boundtool",
        "--model",
        "m",
        "--no-color",
        "--prompt=-rf x",
    ]
    assert build_argv(bound, LaunchOptions("hello there")).argv == [
        "boundtool",
        "--interactive=hello there",
    ]


def test_missing_mechanisms_warn_and_are_left_out() -> None:
    bare = manifest_adapter("bare.json")
    built = build_argv(
        bare,
        LaunchOptions(
            "go", mode="nonInteractive", model="m1", permission="read-only", add_dirs=("/d",)
        ),
    )
    assert built.argv == ["bare-tool", "-p", "--", "go"]
    assert built.warnings == [
        "harness `bare` declares no model mechanism; --model m1 is ignored (declare "
        "model_flag or model_arg_template in the adapter manifest to enable it)",
        "harness `bare` declares no sandbox mechanism; --permission read-only is ignored "
        "(declare sandbox in the adapter manifest to enable it)",
        "harness `bare` declares no add-dir mechanism; --add-dir is ignored (declare "
        "add_dir_flag in the adapter manifest to enable it)",
    ]


def test_blank_add_dirs_do_not_warn() -> None:
    built = build_argv(manifest_adapter("bare.json"), LaunchOptions("go", add_dirs=("", "  ")))
    assert built.warnings == []


def test_interactive_falls_back_to_prompt_flag() -> None:
    bound = manifest_adapter("bound.json")
    only_prompt_flag = msgspec.structs.replace(bound, interactive_prompt_flag=None)
    assert build_argv(only_prompt_flag, LaunchOptions("hi")).argv == ["boundtool", "--prompt=hi"]


# -- prompts too long for one exec argument ---------------------------------------------------
LONGEST = ARG_STRLEN_MAX - 1  # bytes of one argument, its NUL aside


def test_the_longest_argument_exec_takes_stays_on_the_command_line() -> None:
    built = build_argv(CODEX, LaunchOptions("x" * LONGEST, mode="nonInteractive"))
    assert built.argv[-2:] == ["--", "x" * LONGEST]
    assert built.stdin_prompt is None


@pytest.mark.parametrize("adapter", [CODEX, CLAUDE])
def test_one_byte_more_goes_on_stdin_for_a_non_interactive_launch(adapter: Adapter) -> None:
    prompt = "é" * (LONGEST // 2 + 1)  # counted in UTF-8 bytes, not characters
    built = build_argv(adapter, LaunchOptions(prompt, mode="nonInteractive", model="m"))
    assert built.stdin_prompt == prompt
    assert prompt not in built.argv
    expected = {"codex": ["exec", "--skip-git-repo-check", "--color", "never", "--", "-"]}
    assert built.argv[3:] == expected.get(adapter.id, ["--print"])


def test_an_interactive_launch_cannot_take_it_and_says_the_limit() -> None:
    with pytest.raises(InvalidRequest) as info:
        build_argv(CODEX, LaunchOptions("x" * (LONGEST + 1)))
    assert info.value.details is not None
    assert info.value.details["limitBytes"] == LONGEST
    assert info.value.details["reason"] == "prompt_too_long_for_command_line"
    assert f"at most {LONGEST} bytes" in info.value.message


def test_a_bound_prompt_flag_counts_against_the_argument() -> None:
    bound = manifest_adapter("bound.json")  # --prompt=<prompt>, no stdin mechanism
    room = LONGEST - len("--prompt=")
    assert build_argv(bound, LaunchOptions("y" * room, mode="nonInteractive")).stdin_prompt is None
    with pytest.raises(InvalidRequest) as info:
        build_argv(bound, LaunchOptions("y" * (room + 1), mode="nonInteractive"))
    assert info.value.details is not None and info.value.details["limitBytes"] == room
    assert "stdin_prompt_args" in info.value.message


def test_the_environment_counts_against_exec_as_the_kernel_counts_it() -> None:
    env = {"BIG": "v" * 100_000}
    room = exec_budget(env, arg_max=200_000)
    assert room == 200_000 - (3 + 100_000 + 2 + 8) - 4096
    # Each fits one argument; only the first is too much beside that environment.
    tight = build_argv(CODEX, LaunchOptions("x" * room, mode="nonInteractive"), exec_room=room)
    assert tight.stdin_prompt is not None
    roomy = build_argv(CODEX, LaunchOptions("x" * (room - 200)), exec_room=room)
    assert roomy.stdin_prompt is None


def test_a_manifest_declares_its_stdin_prompt_args(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(
        '{"adapters":[{"id":"t","label":"T","executable":"t","interactivePromptPrefixArgs":[],'
        '"nonInteractivePromptPrefixArgs":["run"],"installHint":"x","stdinPromptArgs":["-"]}]}'
    )
    (adapter,) = load_manifest_file(path).adapters
    assert adapter.stdin_prompt_args == ("-",)
    built = build_argv(adapter, LaunchOptions("z" * ARG_STRLEN_MAX, mode="nonInteractive"))
    assert built.argv == ["t", "run", "-"]
    assert manifest_adapter("bare.json").stdin_prompt_args is None
