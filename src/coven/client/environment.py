"""The launching process's environment, as a launch sends it to the daemon.

A session runs with the environment of the command that launched it (its
``PATH``, virtualenv, exported API keys, ``TERM``), not the one the daemon was
started with. The daemon refuses a launch whose environment holds a name
outside ``schema.vocabulary.ENVIRONMENT_NAME_PATTERN``, so the client leaves out
those few names (non-ASCII, or with spaces) instead of failing the user's launch.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from coven.schema.vocabulary import ENVIRONMENT_NAME_PATTERN, MAX_ENVIRONMENT_NAME

_NAME = re.compile(ENVIRONMENT_NAME_PATTERN)


def launch_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default ``os.environ``) without names the daemon would refuse.

    Values are passed unchanged: the daemon hands them to the harness only and
    never stores, logs or echoes them.
    """
    source = os.environ if environ is None else environ
    return {
        name: value
        for name, value in source.items()
        if len(name) <= MAX_ENVIRONMENT_NAME and _NAME.fullmatch(name) and "\0" not in value
    }
