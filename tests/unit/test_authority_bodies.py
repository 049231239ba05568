"""Launch, external-registration, input and resize body validation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coven.authority import (
    ExecutionBindingInvalid,
    LaunchRequest,
    RequestAdoptionInvalid,
    parse_input,
    parse_launch,
    parse_resize,
)
from coven.authority.external import parse_external as _parse_external
from coven.authority.launch import MAX_PROMPT_BYTES
from coven.errors import InvalidRequest

HARNESSES = ("codex", "claude")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "proj"
    (path / "sub").mkdir(parents=True)
    return path.resolve()


def launch(body: object, home: Path) -> LaunchRequest:
    return parse_launch(body, harness_ids=HARNESSES, coven_home=home)


def base(root: Path, **extra: Any) -> dict[str, Any]:
    return {"projectRoot": str(root), "harness": "codex", "prompt": "  do it  ", **extra}


def test_minimal_launch_defaults(root: Path, home: Path) -> None:
    req = launch(base(root), home)
    assert req.project_root == root
    assert req.cwd == root
    assert req.harness == "codex"
    assert req.launch_mode == "interactive"
    assert req.prompt == "  do it  "  # raw prompt kept
    assert req.title == "do it"
    assert (req.cols, req.rows) == (80, 24)
    assert req.model is None and req.conversation is None and req.labels == ()


def test_full_launch(root: Path, home: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    req = launch(
        base(
            root,
            cwd="sub",
            harness=" claude ",
            launchMode="nonInteractive",
            model=" opus ",
            title=" T ",
            conversationId=" c1 ",
            conversation={"mode": "resume", "id": "abc-1.2_3"},
            permission="read-only",
            addDirs=[str(extra), str(extra) + "/."],
            cols=120,
            rows=40,
            labels=["a", "b:c"],
            unknownField={"ignored": True},
        ),
        home,
    )
    assert req.cwd == root / "sub"
    assert req.harness == "claude"
    assert req.launch_mode == "nonInteractive"
    assert req.model == "opus" and req.title == "T" and req.conversation_id == "c1"
    assert req.conversation is not None and req.conversation.mode == "resume"
    assert req.permission == "read-only"
    assert req.add_dirs == (extra.resolve(),)
    assert (req.cols, req.rows, req.labels) == (120, 40, ("a", "b:c"))


@pytest.mark.parametrize("body", [[], "x", 3, None])
def test_body_must_be_an_object(body: object, home: Path) -> None:
    with pytest.raises(InvalidRequest, match="JSON object"):
        launch(body, home)


@pytest.mark.parametrize(
    ("member", "error", "code"),
    [
        ("executionBinding", ExecutionBindingInvalid, "execution_binding_invalid"),
        ("requestAdoption", RequestAdoptionInvalid, "request_adoption_invalid"),
    ],
)
def test_reserved_members_are_refused_first(
    member: str, error: type[InvalidRequest], code: str, home: Path
) -> None:
    with pytest.raises(error) as info:
        launch({member: None}, home)  # before the projectRoot check
    assert info.value.code == code
    assert info.value.status == 400
    assert info.value.details == {"fields": ["executionBinding"]}


@pytest.mark.parametrize("member", ["sessionPolicy", "launchPolicy"])
def test_policies_are_refused(member: str, root: Path, home: Path) -> None:
    with pytest.raises(InvalidRequest, match=member) as info:
        launch(base(root, **{member: {}}), home)
    assert info.value.code == "invalid_request"


def test_fields_are_checked_in_reference_order(root: Path, home: Path) -> None:
    with pytest.raises(InvalidRequest, match="projectRoot"):
        launch({"harness": "nope", "prompt": ""}, home)
    with pytest.raises(InvalidRequest, match="cwd"):
        launch({"projectRoot": str(root), "cwd": 5, "harness": "nope"}, home)
    with pytest.raises(InvalidRequest, match="unsupported harness"):
        launch({"projectRoot": str(root), "harness": "nope", "launchMode": "bad"}, home)
    with pytest.raises(InvalidRequest, match="launchMode"):
        launch({"projectRoot": str(root), "harness": "codex", "launchMode": "bad"}, home)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("cwd", 5, "must be a string"),
        ("cwd", "..", "outside"),
        ("harness", None, "requires string field `harness`"),
        ("harness", 7, "requires string field `harness`"),
        ("harness", "  ", "requires string field `harness`"),
        ("harness", "gemini", "unsupported harness `gemini`. Configured harnesses: claude, codex"),
        ("launchMode", "bogus", "got `bogus`"),
        ("launchMode", 1, "got `number`"),
        ("launchMode", "stream", "launchMode `stream` is not supported by this daemon"),
        ("model", 3, "`model` must be a string"),
        ("prompt", ["x"], "requires string field `prompt`"),
        ("prompt", 3, "requires string field `prompt`"),
        ("prompt", "x" * (MAX_PROMPT_BYTES + 1), "at most"),
        ("prompt", "é" * (MAX_PROMPT_BYTES // 2 + 1), "at most"),
        ("prompt", "ok \ud800", "unpaired surrogate"),
        ("title", 1, "`title` must be a string"),
        ("conversationId", False, "`conversationId` must be a string"),
        ("conversation", "x", "must be an object with `mode` and `id`"),
        ("conversation", {"mode": "init"}, "must be an object with `mode` and `id`"),
        ("conversation", {"mode": "fork", "id": "a"}, "got `fork`"),
        ("conversation", {"mode": "init", "id": "a b"}, "only letters"),
        ("conversation", {"mode": "init", "id": ""}, "only letters"),
        ("conversation", {"mode": "init", "id": 5}, "only letters"),
        ("permission", "root", "`full` or `read-only`"),
        ("permission", 1, "`full` or `read-only`"),
        ("addDirs", "/tmp", "array"),
        ("addDirs", [1], "non-empty string"),
        ("addDirs", ["relative"], "absolute"),
        ("addDirs", ["/no/such/dir"], "no such directory: /no/such/dir (`addDirs`)"),
        ("addDirs", ["/"], "filesystem root"),
        ("cols", 0, "between 1 and 1000"),
        ("cols", 1001, "between 1 and 1000"),
        ("cols", "80", "must be an integer"),
        ("rows", True, "must be an integer"),
        ("rows", 2.5, "must be an integer"),
        ("labels", "a", "labels must be an array"),
        ("labels", ["a", "a"], "duplicates"),
        ("labels", [1], "every label must be a string"),
        ("labels", [""], "1 to 64 ASCII bytes"),
        ("labels", ["x" * 65], "1 to 64 ASCII bytes"),
        ("labels", ["é"], "1 to 64 ASCII bytes"),
        ("labels", ["a b"], "only ASCII alphanumeric"),
        ("labels", [str(i) for i in range(17)], "at most 16"),
    ],
)
def test_each_bad_launch_field(
    field: str, value: object, fragment: str, root: Path, home: Path
) -> None:
    with pytest.raises(InvalidRequest) as info:
        launch(base(root, **{field: value}), home)
    assert fragment in info.value.message
    assert info.value.status == 400


def test_a_blank_prompt_is_refused_for_a_one_shot_launch(root: Path, home: Path) -> None:
    body = base(root, prompt=" \n ", launchMode="nonInteractive")
    with pytest.raises(InvalidRequest, match="requires string field `prompt`") as info:
        launch(body, home)
    assert info.value.details == {"field": "prompt"}


def test_a_blank_prompt_starts_an_interactive_agent_titled_by_its_harness(
    root: Path, home: Path
) -> None:
    missing = base(root)
    del missing["prompt"]
    for body in (
        base(root, prompt=" \n "),
        base(root, prompt="", launchMode="interactive"),
        base(root, prompt=None),
        missing,  # how CastCodes opens a lane
    ):
        req = launch(body, home)
        assert (req.prompt, req.title, req.launch_mode) == ("", "codex", "interactive")
    for body in (base(root, prompt=None, launchMode="nonInteractive"), base(root, prompt=[])):
        with pytest.raises(InvalidRequest, match="requires string field `prompt`"):
            launch(body, home)


def test_add_dir_inside_home_is_refused(root: Path, home: Path) -> None:
    with pytest.raises(InvalidRequest, match="Coven home"):
        launch(base(root, addDirs=[str(home)]), home)


def test_custom_unsupported_message(root: Path, home: Path) -> None:
    with pytest.raises(InvalidRequest, match="no such harness: x!"):
        parse_launch(
            base(root, harness="x"),
            harness_ids=HARNESSES,
            coven_home=home,
            unsupported_message=lambda h: f"no such harness: {h}!",
        )


# --- external ---------------------------------------------------------------


def ext(root: Path, **extra: Any) -> dict[str, Any]:
    return {"id": "engine/42", "projectRoot": str(root), "harness": "coven-code", **extra}


KNOWN = ("codex", "claude", "coven-code")


def parse_external(body: object, *, coven_home: Path) -> Any:
    return _parse_external(
        body, coven_home=coven_home, harness_ids=KNOWN, unsupported_message=lambda h: f"no {h}"
    )


def test_external_defaults(root: Path, home: Path) -> None:
    reg = parse_external(ext(root), coven_home=home)
    assert (reg.id, reg.project_root, reg.harness) == ("engine/42", root, "coven-code")
    assert reg.title == "External session"
    assert reg.transcript_path is None and reg.labels == ()


def test_external_full(root: Path, home: Path) -> None:
    reg = parse_external(
        ext(root, title=" t ", transcriptPath=" /x.jsonl", labels=["l"]), coven_home=home
    )
    assert (reg.title, reg.transcript_path, reg.labels) == ("t", " /x.jsonl", ("l",))


def test_external_reserved_members(root: Path, home: Path) -> None:
    with pytest.raises(RequestAdoptionInvalid) as info:
        parse_external({"requestAdoption": 1, "executionBinding": None}, coven_home=home)
    assert info.value.details == {"fields": ["requestAdoption"]}
    with pytest.raises(ExecutionBindingInvalid, match="cannot carry execution bindings"):
        parse_external(ext(root, executionBinding=None), coven_home=home)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("id", None, "requires string field `id`"),
        ("id", "  ", "requires string field `id`"),
        ("id", 5, "requires string field `id`"),
        ("id", "x" * 129, "at most 128"),
        ("id", "a b", "whitespace"),
        ("id", " a", "whitespace"),
        ("id", "a\x01", "control"),
        ("id", "a?b", "`?`"),
        ("id", "a&b", "`?`"),
        ("id", "a#b", "`?`"),
        ("id", "a%2Fb", "`?`"),
        ("id", "a//b", "path segments"),
        ("id", "../x", "path segments"),
        ("id", "/x", "path segments"),
        ("id", "x/", "path segments"),
        ("id", "x/events", "route suffix"),
        ("id", "x/log", "route suffix"),
        ("id", "x/kill", "route suffix"),
        ("id", "x/input", "route suffix"),
        ("id", "x/complete", "route suffix"),
        ("id", "x/artifacts/1", "route suffix"),
        ("projectRoot", "relative", "absolute"),
        ("projectRoot", None, "requires string field `projectRoot`"),
        ("harness", None, "requires string field `harness`"),
        ("harness", "Codex", "must match"),
        ("harness", "-x", "must match"),
        ("harness", "a b", "must match"),
        ("harness", "a" * 65, "must match"),
        ("harness", "bash", "no bash"),
        ("title", 5, "`title` must be a string"),
        ("transcriptPath", 5, "`transcriptPath` must be a string or null"),
        ("labels", ["a", "a"], "duplicates"),
    ],
)
def test_each_bad_external_field(
    field: str, value: object, fragment: str, root: Path, home: Path
) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_external(ext(root, **{field: value}), coven_home=home)
    assert fragment in info.value.message
    assert info.value.code == "invalid_request"


def test_external_body_must_be_object(home: Path) -> None:
    with pytest.raises(InvalidRequest, match="JSON object"):
        parse_external([], coven_home=home)


# --- input / resize -----------------------------------------------------------


def test_input_data() -> None:
    assert parse_input({"data": "ls\r", "cols": 3}) == "ls\r"
    assert parse_input({"data": ""}) == ""


@pytest.mark.parametrize("body", [{}, {"data": 1}, {"data": None}, {"input": "x"}, [], "x"])
def test_bad_input(body: object) -> None:
    with pytest.raises(InvalidRequest, match="input payload requires string field `data`"):
        parse_input(body)


def test_resize() -> None:
    assert parse_resize({"rows": 40, "cols": 120}) == (40, 120)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"cols": 80}, "requires integer field `rows`"),
        ({"rows": 24}, "requires integer field `cols`"),
        ({"rows": 0, "cols": 80}, "between 1 and 1000"),
        ({"rows": 24, "cols": 1001}, "between 1 and 1000"),
        ({"rows": "24", "cols": 80}, "must be an integer"),
        ([], "JSON object"),
    ],
)
def test_bad_resize(body: object, fragment: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_resize(body)
    assert fragment in info.value.message


def test_familiar_ids_are_parsed_and_impossible_ones_refused(tmp_path: Path) -> None:
    from coven.authority import parse_launch
    from coven.authority.refusals import UnknownFamiliar

    body = {"projectRoot": str(tmp_path), "harness": "codex", "prompt": "hi", "familiarId": "sage"}
    home = tmp_path / "home"
    request = parse_launch(
        {**body, "callerFamiliarId": " cody "}, harness_ids=["codex"], coven_home=home
    )
    assert (request.familiar_id, request.caller_familiar_id) == ("sage", "cody")
    # Whether the roster declares it is the launcher's check; a shape no roster
    # can declare is unknown already.
    with pytest.raises(UnknownFamiliar) as info:
        parse_launch({**body, "familiarId": "no such"}, harness_ids=["codex"], coven_home=home)
    assert info.value.code == "unknown_familiar"
    assert info.value.details == {"familiarId": "no such"}
    for blank in (None, "", "  "):
        request = parse_launch(
            {**body, "familiarId": blank}, harness_ids=["codex"], coven_home=home
        )
        assert request.familiar_id is None
    with pytest.raises(InvalidRequest):
        parse_launch({**body, "familiarId": 7}, harness_ids=["codex"], coven_home=home)
    with pytest.raises(InvalidRequest) as caller:
        parse_launch({**body, "callerFamiliarId": "a b"}, harness_ids=["codex"], coven_home=home)
    assert caller.value.details == {"field": "callerFamiliarId"}
