"""The launch body's ``environment``: validated, bounded, and never echoed in a refusal."""

from __future__ import annotations

import pytest

from coven.authority import parse_environment
from coven.errors import InvalidRequest
from coven.schema.vocabulary import MAX_ENVIRONMENT_BYTES, MAX_ENVIRONMENT_ENTRIES

SECRET = "s3cr3t-value-never-echoed"


def test_absent_or_null_means_the_client_sent_none() -> None:
    assert parse_environment(None) is None


def test_a_real_environment_passes_unchanged() -> None:
    env = {
        "PATH": "/home/me/.venv/bin:/usr/bin",
        "VIRTUAL_ENV": "/home/me/.venv",
        "OPENAI_API_KEY": SECRET,
        "TERM": "xterm-kitty",
        "BASH_FUNC_greet%%": "() {  echo hi\n}",
        "EMPTY": "",
        "UNICODE": "grüße",
    }
    assert parse_environment(env) == env
    assert parse_environment({}) == {}


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        (["PATH=/bin"], "must be an object"),
        ("PATH=/bin", "must be an object"),
        ({"HAS SPACE": SECRET}, "is not allowed"),
        ({"A=B": SECRET}, "is not allowed"),
        ({"": SECRET}, "is not allowed"),
        ({"NÄME": SECRET}, "is not allowed"),
        ({"N" * 1025: SECRET}, "is not allowed"),
        ({"NUMBER": 5}, "`NUMBER` must be a string"),
        ({"NULL": None}, "`NULL` must be a string"),
        ({"NUL": SECRET + "\0"}, "`NUL` must not contain NUL"),
        ({"LONE": SECRET + "\ud800"}, "`LONE` holds text that cannot be passed"),
        ({"BIG": "x" * MAX_ENVIRONMENT_BYTES}, f"at most {MAX_ENVIRONMENT_BYTES} bytes"),
        ({f"V{i}": "" for i in range(MAX_ENVIRONMENT_ENTRIES + 1)}, "at most 4096 variables"),
    ],
)
def test_bad_environments_are_refused_without_echoing_a_value(env: object, fragment: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse_environment(env)
    assert fragment in info.value.message
    assert info.value.details is not None and info.value.details["field"] == "environment"
    assert SECRET not in info.value.message
    assert SECRET not in repr(info.value.details)
    assert SECRET not in str(info.value.__context__)
