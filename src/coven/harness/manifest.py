"""Adapter manifests: JSON files that declare user harnesses.

Format (the reference's manifest format): ``{"adapters": [{...}, ...]}``. Every field has a
camelCase alias (``executable``, ``installHint``, ``sandbox.readOnly`` ...);
unknown fields are ignored. A manifest is all-or-nothing: when any part of it
is invalid, none of its adapters is used and every problem found is reported
with the file and the field's path (``adapters[0].executable``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, cast

import msgspec

from coven.errors import ManifestError
from coven.harness.adapter import (
    Adapter,
    Capabilities,
    ContinuityArgs,
    ModelIdTransform,
    Sandbox,
    StreamArgs,
)

MAX_MANIFEST_BYTES = 1024 * 1024

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*\Z")
_WHITESPACE = re.compile(r"\s")
# Marks a field spelled both ways: already reported, so callers skip further checks.
_CONFLICT = object()


class ManifestProblem(msgspec.Struct, frozen=True):
    """Why a manifest (or one field of it) was rejected.

    ``field`` is a path such as ``adapters[0].sandbox.read_only`` (using the key
    the file spelled), or ``None`` when the file as a whole is at fault.
    ``str(problem)`` is the sentence to show a user.
    """

    path: Path
    field: str | None
    message: str

    def __str__(self) -> str:
        if self.field is None:
            return f"adapter manifest {self.path}: {self.message}"
        return f"adapter manifest {self.path}: {self.field}: {self.message}"

    def to_error(self) -> ManifestError:
        """The same problem as a raisable ``ManifestError``."""
        details: dict[str, Any] = {"path": str(self.path)}
        if self.field is not None:
            details["field"] = self.field
        return ManifestError(str(self), details)


class ManifestLoad(msgspec.Struct, frozen=True):
    """The outcome of reading one manifest: adapters, or problems (never both)."""

    path: Path
    adapters: tuple[Adapter, ...]
    problems: tuple[ManifestProblem, ...]


def camel_case(name: str) -> str:
    """``read_only_args`` -> ``readOnlyArgs``."""
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def load_manifest_file(path: Path) -> ManifestLoad:
    """Read and parse the manifest at ``path``; never raises for bad content."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return _failed(path, None, f"cannot read file: {reason}")
    if len(data) > MAX_MANIFEST_BYTES:
        return _failed(path, None, f"file is larger than {MAX_MANIFEST_BYTES} bytes")
    return parse_manifest(data, path)


def parse_manifest(data: bytes | str, path: Path) -> ManifestLoad:
    """Parse manifest text; ``path`` names the file in problems and adapters."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        return _failed(path, None, f"not valid UTF-8 (byte {exc.start})")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        return _failed(
            path, None, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        )
    problems: list[ManifestProblem] = []
    if not isinstance(document, dict):
        return _failed(path, None, "must be a JSON object with an `adapters` array")
    if "adapters" not in document:
        return _failed(path, "adapters", "required field is missing")
    entries = document["adapters"]
    if not isinstance(entries, list):
        return _failed(path, "adapters", f"must be an array, got {_json_type(entries)}")
    adapters: list[Adapter] = []
    for index, entry in enumerate(entries):
        reader = _Reader(path, f"adapters[{index}]", problems)
        adapter = _parse_adapter(reader, entry)
        if adapter is not None:
            adapters.append(adapter)
    if problems:
        return ManifestLoad(path, (), tuple(problems))
    return ManifestLoad(path, tuple(adapters), ())


def _failed(path: Path, field: str | None, message: str) -> ManifestLoad:
    return ManifestLoad(path, (), (ManifestProblem(path, field, message),))


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


class _Reader:
    """Reads typed fields of one JSON object, recording problems with their path."""

    def __init__(self, path: Path, where: str, problems: list[ManifestProblem]) -> None:
        self.path = path
        self.where = where
        self.problems = problems
        self.obj: dict[str, Any] = {}
        self._conflicts: set[str] = set()

    def problem(self, key: str | None, message: str) -> None:
        field = self.where if key is None else f"{self.where}.{key}"
        self.problems.append(ManifestProblem(self.path, field, message))

    def child(self, key: str) -> _Reader:
        return _Reader(self.path, f"{self.where}.{key}", self.problems)

    def bind(self, value: object) -> bool:
        """Attach the object to read; a non-object is recorded as a problem."""
        if not isinstance(value, dict):
            self.problems.append(
                ManifestProblem(
                    self.path, self.where, f"must be an object, got {_json_type(value)}"
                )
            )
            return False
        self.obj = cast(dict[str, Any], value)
        return True

    def raw(self, name: str) -> tuple[str, object]:
        """The key used and its value; ``None`` when absent or null, ``_CONFLICT``
        when both spellings are present (reported once here)."""
        alias = camel_case(name)
        has_snake = self.obj.get(name) is not None
        has_camel = alias != name and self.obj.get(alias) is not None
        if has_snake and has_camel:
            if name not in self._conflicts:
                self._conflicts.add(name)
                self.problem(name, f"both `{name}` and `{alias}` are given; use one")
            return name, _CONFLICT
        if has_camel:
            return alias, self.obj[alias]
        return name, self.obj.get(name)

    def present(self, name: str) -> bool:
        return self.obj.get(name) is not None or self.obj.get(camel_case(name)) is not None

    def given(self, name: str, required: bool) -> tuple[str, object]:
        """``(key, value)``; value None when absent, conflicting (reported) or missing."""
        key, value = self.raw(name)
        if value is _CONFLICT:
            return key, None
        if value is None and required:
            self.problem(key, "required field is missing")
        return key, value

    def string(self, name: str, *, required: bool = False) -> str | None:
        key, value = self.given(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            self.problem(key, f"must be a string, got {_json_type(value)}")
            return None
        if not value.strip():
            self.problem(key, "must not be blank")
            return None
        if "\0" in value:
            self.problem(key, "must not contain NUL characters")
            return None
        return value

    def flag(self, name: str, *, required: bool = False) -> str | None:
        """A single argv token such as ``--model``."""
        value = self.string(name, required=required)
        if value is not None and _WHITESPACE.search(value):
            key, _ = self.raw(name)
            self.problem(key, f"must be a single argument without whitespace, got {value!r}")
            return None
        return value

    def string_list(
        self, name: str, *, required: bool = False, non_empty: bool = False
    ) -> tuple[str, ...] | None:
        key, value = self.given(name, required)
        if value is None:
            return None
        if not isinstance(value, list):
            self.problem(key, f"must be an array of strings, got {_json_type(value)}")
            return None
        items: list[str] = []
        for index, item in enumerate(cast(list[object], value)):
            if not isinstance(item, str):
                self.problem(f"{key}[{index}]", f"must be a string, got {_json_type(item)}")
                return None
            if "\0" in item:
                self.problem(f"{key}[{index}]", "must not contain NUL characters")
                return None
            items.append(item)
        if non_empty and not items:
            self.problem(key, "must not be empty")
            return None
        return tuple(items)

    def boolean(self, name: str) -> bool:
        key, value = self.raw(name)
        if value is None or value is _CONFLICT:
            return False
        if not isinstance(value, bool):
            self.problem(key, f"must be true or false, got {_json_type(value)}")
            return False
        return value

    def sub(self, name: str) -> _Reader | None:
        """A reader for the nested object ``name``, or ``None`` when absent or bad."""
        key, value = self.raw(name)
        if value is None or value is _CONFLICT:
            return None
        reader = self.child(key)
        return reader if reader.bind(value) else None


def _parse_adapter(r: _Reader, entry: object) -> Adapter | None:
    before = len(r.problems)
    if not r.bind(entry):
        return None
    adapter_id = r.string("id", required=True)
    if adapter_id is not None and not ID_PATTERN.match(adapter_id):
        r.problem(
            "id",
            "must use lowercase letters, digits, '.', '_' or '-' and start with a letter "
            f'or digit, got "{adapter_id}"',
        )
    label = r.string("label", required=True)
    executable = r.string("executable", required=True)
    if executable is not None and not _is_bare_command(executable):
        key, _ = r.raw("executable")
        r.problem(key, f'must be a bare command name, got "{executable}"')
    interactive_prefix = r.string_list("interactive_prompt_prefix_args", required=True)
    non_interactive_prefix = r.string_list("non_interactive_prompt_prefix_args", required=True)
    install_hint = r.string("install_hint", required=True)
    prompt_flag = r.flag("prompt_flag")
    interactive_prompt_flag = r.flag("interactive_prompt_flag")
    system_prompt_flag = r.flag("system_prompt_flag")
    model_flag = r.flag("model_flag")
    add_dir_flag = r.flag("add_dir_flag")
    stdin_prompt_args = r.string_list("stdin_prompt_args")

    model_arg_template = r.string("model_arg_template")
    if model_arg_template is not None and "{model}" not in model_arg_template:
        key, _ = r.raw("model_arg_template")
        r.problem(key, "must contain `{model}`")

    transform: ModelIdTransform = "strip_provider"
    transform_key, transform_raw = r.raw("model_id_transform")
    if transform_raw is not None and transform_raw is not _CONFLICT:
        if transform_raw == "preserve":
            transform = "preserve"
            if model_flag is None and model_arg_template is None:
                r.problem(
                    transform_key,
                    "`preserve` needs a model mechanism; declare model_flag or model_arg_template",
                )
        elif transform_raw != "strip_provider":
            r.problem(
                transform_key,
                f'must be "strip_provider" or "preserve", got {json.dumps(transform_raw)}',
            )

    sandbox = _parse_sandbox(r.sub("sandbox"))
    capabilities = _parse_capabilities(r.sub("capabilities"))
    stream_args = _parse_stream_args(r)
    continuity_args = _parse_continuity_args(r)
    _check_capability_consistency(r, capabilities, stream_args, continuity_args)

    if len(r.problems) > before:
        return None
    assert adapter_id is not None and label is not None and executable is not None
    assert interactive_prefix is not None and non_interactive_prefix is not None
    assert install_hint is not None
    return Adapter(
        id=adapter_id,
        label=label,
        executable=executable,
        interactive_prompt_prefix_args=interactive_prefix,
        non_interactive_prompt_prefix_args=non_interactive_prefix,
        install_hint=install_hint,
        prompt_flag=prompt_flag,
        interactive_prompt_flag=interactive_prompt_flag,
        system_prompt_flag=system_prompt_flag,
        model_flag=model_flag,
        model_arg_template=model_arg_template,
        model_id_transform=transform,
        sandbox=sandbox,
        add_dir_flag=add_dir_flag,
        capabilities=capabilities,
        stream_args=stream_args,
        continuity_args=continuity_args,
        stdin_prompt_args=stdin_prompt_args,
        source="manifest",
        manifest_path=r.path,
    )


def _is_bare_command(name: str) -> bool:
    return (
        name not in (".", "..")
        and "/" not in name
        and "\\" not in name
        and not _WHITESPACE.search(name)
        and name.isprintable()
    )


def _parse_sandbox(r: _Reader | None) -> Sandbox | None:
    if r is None:
        return None
    flag_form = any(r.present(n) for n in ("flag", "full", "read_only"))
    list_form = any(r.present(n) for n in ("full_args", "read_only_args"))
    if flag_form and list_form:
        r.problem(None, "use either flag/full/read_only or full_args/read_only_args, not both")
        return None
    if flag_form:
        flag = r.flag("flag", required=True)
        full = r.string("full", required=True)
        read_only = r.string("read_only", required=True)
        if flag is None or full is None or read_only is None:
            return None
        return Sandbox(flag=flag, full=full, read_only=read_only)
    if list_form:
        full_args = r.string_list("full_args", required=True, non_empty=True)
        read_only_args = r.string_list("read_only_args", required=True, non_empty=True)
        if full_args is None or read_only_args is None:
            return None
        return Sandbox(full_args=full_args, read_only_args=read_only_args)
    r.problem(None, "must declare flag/full/read_only or full_args/read_only_args")
    return None


def _parse_capabilities(r: _Reader | None) -> Capabilities:
    if r is None:
        return Capabilities()
    return Capabilities(
        stream=r.boolean("stream"),
        preassigned_session_id=r.boolean("preassigned_session_id"),
        think=r.boolean("think"),
        speed=r.boolean("speed"),
    )


def _parse_stream_args(parent: _Reader) -> StreamArgs | None:
    r = parent.sub("stream_args")
    if r is None:
        return None
    prefix = r.string_list("prefix_args", required=True, non_empty=True)
    session_id_flag = r.flag("session_id_flag")
    resume_flag = r.flag("resume_flag")
    if prefix is None:
        return None
    return StreamArgs(prefix, session_id_flag, resume_flag)


def _parse_continuity_args(parent: _Reader) -> ContinuityArgs | None:
    r = parent.sub("continuity_args")
    if r is None:
        return None
    args = ContinuityArgs(
        init_prefix_args=r.string_list("init_prefix_args"),
        resume_prefix_args=r.string_list("resume_prefix_args"),
        session_id_flag=r.flag("session_id_flag"),
        resume_flag=r.flag("resume_flag"),
    )
    if (
        not args.init_prefix_args
        and not args.resume_prefix_args
        and args.session_id_flag is None
        and args.resume_flag is None
    ):
        r.problem(
            None,
            "declares no way to start or resume a conversation; give init_prefix_args, "
            "resume_prefix_args, session_id_flag or resume_flag",
        )
    return args


def _check_capability_consistency(
    r: _Reader,
    capabilities: Capabilities,
    stream_args: StreamArgs | None,
    continuity_args: ContinuityArgs | None,
) -> None:
    stream_key, _ = r.raw("stream_args")
    if capabilities.stream and stream_args is None and not r.present("stream_args"):
        r.problem(stream_key, "required because capabilities.stream is true")
    if stream_args is not None and not capabilities.stream:
        r.problem(stream_key, "declared but capabilities.stream is not true")
    flags: list[tuple[str, str | None]] = [
        (f"{stream_key}.session_id_flag", stream_args.session_id_flag if stream_args else None),
        (
            f"{r.raw('continuity_args')[0]}.session_id_flag",
            continuity_args.session_id_flag if continuity_args else None,
        ),
    ]
    declared = [field for field, flag in flags if flag is not None]
    if not capabilities.preassigned_session_id:
        for field in declared:
            r.problem(field, "requires capabilities.preassigned_session_id to be true")
    elif not declared:
        r.problem(
            "capabilities.preassigned_session_id",
            "requires a session_id_flag in stream_args or continuity_args",
        )
