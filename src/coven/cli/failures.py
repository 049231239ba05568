"""How the CLI fails: one sentence on stderr, ``Error: <sentence>``, exit 1; never a traceback.

Client errors already carry user-facing sentences (the daemon's message, or the
client's own for sockets and session references); this module only decides
the wording where the CLI adds context and turns everything into
``click.ClickException``, which click prints as ``Error: <message>``.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import click

from coven.cli.daemonctl import DaemonControlError
from coven.cli.home_files import HomeUnusable, LifecycleBusy
from coven.cli.remote import selected_host
from coven.client import ApiError, CovenClientError, DaemonNotRunning

DEBUG_ENV = "COVEN_DEBUG"
MAX_FILES_SHOWN = 20


class CliError(click.ClickException):
    """A runtime failure: printed as ``Error: <message>``, exit status 1."""

    exit_code = 1


def sentence(exc: BaseException) -> str:
    """The user-facing sentence for a client or daemon-control failure."""
    if isinstance(exc, DaemonNotRunning) and (host := selected_host()) is not None:
        return (
            f"the Coven daemon on {host} stopped answering through ssh; "
            f"check it with `coven --host {host} daemon status`"
        )
    if isinstance(exc, DaemonNotRunning):
        return f"the Coven daemon is not running (no daemon at {exc.socket_path}); start it with `coven daemon start`"
    if isinstance(exc, ApiError):
        files = (exc.details or {}).get("files")
        if isinstance(files, list) and files:
            # Refusals about work (conflicts, uncommitted files) name the files.
            shown = ", ".join(str(f) for f in files[:MAX_FILES_SHOWN])
            more = (
                f" and {len(files) - MAX_FILES_SHOWN} more" if len(files) > MAX_FILES_SHOWN else ""
            )
            return f"{exc.message} [{exc.code}]: {shown}{more}"
        return exc.message
    text = str(exc).strip()
    return text or type(exc).__name__


@contextmanager
def translated() -> Iterator[None]:
    """Turn client, daemon-control and unexpected errors into ``CliError``.

    Click's own exceptions (usage errors, exits, aborts) pass through untouched.
    ``COVEN_DEBUG=1`` adds the traceback of an unexpected error on stderr.
    """
    try:
        yield
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except (CovenClientError, DaemonControlError, HomeUnusable, LifecycleBusy) as exc:
        raise CliError(sentence(exc)) from exc
    except BrokenPipeError as exc:
        # The reader of our stdout went away (e.g. `| head`): nothing left to say.
        raise click.exceptions.Exit(1) from exc
    except KeyboardInterrupt as exc:
        raise click.exceptions.Exit(130) from exc
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        raise CliError(f"unexpected internal error: {exc!r}") from exc
