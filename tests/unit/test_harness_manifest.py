"""Manifest parsing: aliases, unknown fields, and one test per validation rule.

Every rejection must name the file and the field, and a rejected manifest
yields no adapters at all.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coven.errors import ManifestError
from coven.harness import (
    Capabilities,
    ManifestLoad,
    Sandbox,
    StreamArgs,
    load_manifest_file,
    parse_manifest,
)
from coven.harness.manifest import MAX_MANIFEST_BYTES

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "manifests"


def valid_entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": "mytool",
        "label": "My Tool",
        "executable": "mytool",
        "interactive_prompt_prefix_args": [],
        "non_interactive_prompt_prefix_args": ["run"],
        "install_hint": "Install mytool.",
    }
    for key, value in changes.items():
        if value is _DROP:
            entry.pop(key)
        else:
            entry[key] = value
    return entry


_DROP = object()


def write(tmp_path: Path, document: object, name: str = "m.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def load_entry(tmp_path: Path, **changes: Any) -> tuple[Path, ManifestLoad]:
    path = write(tmp_path, {"adapters": [valid_entry(**changes)]})
    return path, load_manifest_file(path)


def only_problem(load: ManifestLoad) -> str:
    assert load.adapters == ()
    assert len(load.problems) == 1, load.problems
    return str(load.problems[0])


def test_valid_minimal_manifest(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path)
    assert load.problems == ()
    (adapter,) = load.adapters
    assert adapter.id == "mytool"
    assert adapter.source == "manifest"
    assert adapter.manifest_path == path
    assert adapter.model_id_transform == "strip_provider"
    assert adapter.capabilities == Capabilities()
    assert adapter.non_interactive_prompt_prefix_args == ("run",)


def test_camel_case_aliases_equal_snake_case() -> None:
    camel = load_manifest_file(FIXTURES / "mytool.json")
    snake = load_manifest_file(FIXTURES / "mytool_snake.json")
    assert camel.problems == () and snake.problems == ()
    (a,) = camel.adapters
    (b,) = snake.adapters
    assert a.model_arg_template == "-c model={model}"
    assert a.sandbox == Sandbox(full_args=("--yolo",), read_only_args=("--ro", "--no-net"))
    assert a.add_dir_flag == "--include"
    assert a.model_id_transform == "preserve"
    # Identical apart from where they came from.
    assert a.__class__(**{**_fields(a), "manifest_path": None}) == b.__class__(
        **{**_fields(b), "manifest_path": None}
    )


def _fields(adapter: object) -> dict[str, Any]:
    return {name: getattr(adapter, name) for name in adapter.__slots__}  # type: ignore[attr-defined]


def test_nested_camel_case_aliases_for_stream_and_continuity() -> None:
    load = load_manifest_file(FIXTURES / "streamer.json")
    assert load.problems == ()
    (adapter,) = load.adapters
    assert adapter.capabilities == Capabilities(stream=True, preassigned_session_id=True)
    assert adapter.stream_args == StreamArgs(
        ("--print", "--output-format", "stream-json"), "--session-id", "--resume"
    )
    assert adapter.continuity_args is not None
    assert adapter.continuity_args.resume_flag == "--resume"


def test_unknown_fields_are_ignored(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"version": 3, "adapters": [valid_entry(description="x", futureThing={"a": 1})]},
    )
    load = load_manifest_file(path)
    assert load.problems == ()
    assert [a.id for a in load.adapters] == ["mytool"]


def test_empty_adapter_list_is_valid(tmp_path: Path) -> None:
    load = load_manifest_file(write(tmp_path, {"adapters": []}))
    assert load == ManifestLoad(tmp_path / "m.json", (), ())


# --- whole-file problems -------------------------------------------------------------


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    message = only_problem(load_manifest_file(path))
    assert message == f"adapter manifest {path}: cannot read file: No such file or directory"


def test_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"adapters": [}')
    message = only_problem(load_manifest_file(path))
    assert message.startswith(f"adapter manifest {path}: invalid JSON at line 1 column 15")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(b'{"adapters": ["\xff"]}')
    assert "not valid UTF-8" in only_problem(load_manifest_file(path))


def test_too_large(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(b" " * (MAX_MANIFEST_BYTES + 1))
    assert "larger than" in only_problem(load_manifest_file(path))


def test_top_level_not_an_object(tmp_path: Path) -> None:
    path = write(tmp_path, [valid_entry()])
    message = only_problem(load_manifest_file(path))
    assert message == f"adapter manifest {path}: must be a JSON object with an `adapters` array"


def test_adapters_missing(tmp_path: Path) -> None:
    path = write(tmp_path, {"adapter": []})
    assert only_problem(load_manifest_file(path)) == (
        f"adapter manifest {path}: adapters: required field is missing"
    )


def test_adapters_not_an_array(tmp_path: Path) -> None:
    path = write(tmp_path, {"adapters": {"id": "x"}})
    assert only_problem(load_manifest_file(path)) == (
        f"adapter manifest {path}: adapters: must be an array, got an object"
    )


def test_adapter_entry_not_an_object(tmp_path: Path) -> None:
    path = write(tmp_path, {"adapters": [valid_entry(), "mytool"]})
    assert only_problem(load_manifest_file(path)) == (
        f"adapter manifest {path}: adapters[1]: must be an object, got a string"
    )


# --- field problems ------------------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    [
        "id",
        "label",
        "executable",
        "interactive_prompt_prefix_args",
        "non_interactive_prompt_prefix_args",
        "install_hint",
    ],
)
def test_missing_required_field(tmp_path: Path, field: str) -> None:
    path, load = load_entry(tmp_path, **{field: _DROP})
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].{field}: required field is missing"
    )


@pytest.mark.parametrize("bad", ["Bad Id", "MyTool", "-x", ".x", "a/b", ""])
def test_invalid_id(tmp_path: Path, bad: str) -> None:
    path, load = load_entry(tmp_path, id=bad)
    message = only_problem(load)
    assert message.startswith(f"adapter manifest {path}: adapters[0].id: ")
    if bad:
        assert f'"{bad}"' in message


@pytest.mark.parametrize("bad", ["/usr/bin/x", "bin/x", "c:\\x.exe", "my tool", "..", "x\x07"])
def test_executable_must_be_a_bare_command(tmp_path: Path, bad: str) -> None:
    path, load = load_entry(tmp_path, executable=bad)
    assert only_problem(load) == (
        f'adapter manifest {path}: adapters[0].executable: must be a bare command name, got "{bad}"'
    )


def test_executable_problem_uses_the_reference_example(tmp_path: Path) -> None:
    load = load_manifest_file(FIXTURES / "broken_executable.json")
    assert only_problem(load) == (
        f"adapter manifest {FIXTURES / 'broken_executable.json'}: adapters[0].executable: "
        'must be a bare command name, got "/usr/bin/x"'
    )


def test_blank_label(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, label="  ")
    assert only_problem(load) == f"adapter manifest {path}: adapters[0].label: must not be blank"


def test_blank_install_hint(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, install_hint="")
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].install_hint: must not be blank"
    )


def test_string_field_of_wrong_type(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, label=7)
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].label: must be a string, got a number"
    )


def test_prefix_args_not_a_list(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, interactive_prompt_prefix_args="chat")
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].interactive_prompt_prefix_args: "
        "must be an array of strings, got a string"
    )


def test_prefix_args_element_not_a_string(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, non_interactive_prompt_prefix_args=["run", 1])
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].non_interactive_prompt_prefix_args[1]: "
        "must be a string, got a number"
    )


def test_nul_in_argument(tmp_path: Path) -> None:
    _, load = load_entry(tmp_path, non_interactive_prompt_prefix_args=["a\0b"])
    assert "non_interactive_prompt_prefix_args[0]: must not contain NUL" in only_problem(load)


def test_flag_with_whitespace(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, model_flag="-c model")
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].model_flag: "
        "must be a single argument without whitespace, got '-c model'"
    )


def test_template_without_model_placeholder(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, modelArgTemplate="-c model=x")
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].modelArgTemplate: must contain `{{model}}`"
    )


def test_preserve_without_model_mechanism(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, model_id_transform="preserve")
    assert only_problem(load).startswith(
        f"adapter manifest {path}: adapters[0].model_id_transform: `preserve` needs a model"
    )


def test_unknown_model_transform(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, model_id_transform="lowercase")
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].model_id_transform: "
        'must be "strip_provider" or "preserve", got "lowercase"'
    )


def test_sandbox_flag_form_incomplete(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, sandbox={"flag": "--perm", "full": "all"})
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].sandbox.read_only: required field is missing"
    )


def test_sandbox_list_form_incomplete(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, sandbox={"fullArgs": ["--yolo"]})
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].sandbox.read_only_args: required field is missing"
    )


def test_sandbox_list_form_empty(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, sandbox={"full_args": [], "read_only_args": ["--ro"]})
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].sandbox.full_args: must not be empty"
    )


def test_sandbox_mixed_forms(tmp_path: Path) -> None:
    _, load = load_entry(
        tmp_path, sandbox={"flag": "--p", "full": "a", "read_only": "b", "full_args": ["x"]}
    )
    assert "adapters[0].sandbox: use either" in only_problem(load)


def test_sandbox_empty(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, sandbox={})
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].sandbox: "
        "must declare flag/full/read_only or full_args/read_only_args"
    )


def test_sandbox_not_an_object(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, sandbox="read-only")
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].sandbox: must be an object, got a string"
    )


def test_capability_not_boolean(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, capabilities={"think": "yes"})
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].capabilities.think: "
        "must be true or false, got a string"
    )


def test_stream_capability_without_stream_args(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, capabilities={"stream": True})
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].stream_args: "
        "required because capabilities.stream is true"
    )


def test_stream_args_without_stream_capability(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, stream_args={"prefix_args": ["--json"]})
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].stream_args: "
        "declared but capabilities.stream is not true"
    )


def test_stream_args_with_empty_prefix(tmp_path: Path) -> None:
    path, load = load_entry(
        tmp_path, capabilities={"stream": True}, stream_args={"prefix_args": []}
    )
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].stream_args.prefix_args: must not be empty"
    )


def test_continuity_args_with_no_usable_launch(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, continuity_args={"init_prefix_args": []})
    assert only_problem(load).startswith(
        f"adapter manifest {path}: adapters[0].continuity_args: declares no way to start"
    )


def test_session_id_flag_without_capability(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, continuity_args={"session_id_flag": "--session-id"})
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].continuity_args.session_id_flag: "
        "requires capabilities.preassigned_session_id to be true"
    )


def test_preassigned_session_id_without_flag(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, capabilities={"preassigned_session_id": True})
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].capabilities.preassigned_session_id: "
        "requires a session_id_flag in stream_args or continuity_args"
    )


def test_snake_and_camel_spelling_together(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, installHint="other")
    assert only_problem(load) == (
        f"adapter manifest {path}: adapters[0].install_hint: "
        "both `install_hint` and `installHint` are given; use one"
    )


def test_every_problem_is_reported_and_the_whole_file_is_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"adapters": [valid_entry(), valid_entry(id="Bad Id", executable="/bin/sh")]},
    )
    load = load_manifest_file(path)
    assert load.adapters == ()  # the valid first entry is not used either
    assert [p.field for p in load.problems] == ["adapters[1].id", "adapters[1].executable"]


def test_problem_converts_to_manifest_error(tmp_path: Path) -> None:
    path, load = load_entry(tmp_path, executable="/usr/bin/x")
    error = load.problems[0].to_error()
    assert isinstance(error, ManifestError)
    assert error.code == "adapter_manifest_invalid"
    assert error.details == {"path": str(path), "field": "adapters[0].executable"}
    assert error.message == str(load.problems[0])


def test_parse_manifest_accepts_text() -> None:
    load = parse_manifest('{"adapters": []}', Path("inline.json"))
    assert load.problems == () and load.adapters == ()
