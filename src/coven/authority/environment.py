"""Validation of a launch's ``environment``: the variables of the client that asked.

``coven run`` sends its own environment so the harness runs with the user's
``PATH``, virtualenv, exported API keys and terminal type rather than whatever
the daemon was started with. The daemon hands it to that one harness and
nothing else: it is never stored, logged or echoed. Refusals therefore name a
variable, never its value.
"""

from __future__ import annotations

import re

from coven.errors import InvalidRequest
from coven.schema.vocabulary import (
    ENVIRONMENT_NAME_PATTERN,
    MAX_ENVIRONMENT_BYTES,
    MAX_ENVIRONMENT_ENTRIES,
    MAX_ENVIRONMENT_NAME,
)

FIELD = "environment"
# The client filters with the same rule (coven.client.environment), so `coven run`
# never sends a name this refuses.
NAME_PATTERN = re.compile(ENVIRONMENT_NAME_PATTERN)


def _refuse(message: str, name: str | None = None) -> InvalidRequest:
    details: dict[str, object] = {"field": FIELD}
    if name is not None:
        details["name"] = name
    return InvalidRequest(message, details)


def parse_environment(raw: object) -> dict[str, str] | None:
    """The validated ``environment`` member: ``None`` when absent or null.

    An object of at most ``MAX_ENVIRONMENT_ENTRIES`` string values, whose names
    match ``NAME_PATTERN`` (at most ``MAX_ENVIRONMENT_NAME``) and whose values hold no
    NUL and can be passed to ``exec``; ``NAME=value`` strings together at most
    ``MAX_ENVIRONMENT_BYTES``. Raises ``InvalidRequest`` (``details.field`` is
    ``environment``, ``details.name`` the offending name) otherwise.
    """
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _refuse("environment must be an object of string values")
    if len(raw) > MAX_ENVIRONMENT_ENTRIES:
        raise _refuse(f"environment must have at most {MAX_ENVIRONMENT_ENTRIES} variables")
    total = 0
    for name, value in raw.items():
        if len(name) > MAX_ENVIRONMENT_NAME or not NAME_PATTERN.fullmatch(name):
            shown = name if len(name) <= 64 and name.isprintable() else repr(name[:64])
            raise _refuse(
                f"environment variable name {shown} is not allowed: use printable ASCII "
                f"without spaces or `=`, at most {MAX_ENVIRONMENT_NAME} characters",
            )
        if not isinstance(value, str):
            raise _refuse(f"environment variable `{name}` must be a string", name)
        if "\0" in value:
            raise _refuse(f"environment variable `{name}` must not contain NUL", name)
        try:
            size = len(value.encode("utf-8", "surrogateescape"))
        except UnicodeEncodeError:
            raise _refuse(
                f"environment variable `{name}` holds text that cannot be passed to a process",
                name,
            ) from None
        total += len(name) + size + 2
        if total > MAX_ENVIRONMENT_BYTES:
            raise _refuse(
                f"environment must be at most {MAX_ENVIRONMENT_BYTES} bytes (as NAME=value strings)"
            )
    return dict(raw)
