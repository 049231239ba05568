"""``coven changes``, ``coven diff``, ``coven merge`` and ``coven discard``: a session's work.

The daemon runs git and guards every change to the user's repository; these
commands only ask and show. ``diff`` pages through ``$PAGER`` when stdout is a
terminal.
"""

from __future__ import annotations

import json
import sys

import click
import msgspec

from coven.cli.context import client, hint, out
from coven.schema.work import SessionChanges

_STATUS_MARK = {
    "added": "A",
    "modified": "M",
    "deleted": "D",
    "renamed": "R",
    "untracked": "?",
}


def _dump(value: object) -> None:
    out(json.dumps(msgspec.to_builtins(value), indent=2, sort_keys=True))


def render_changes(changes: SessionChanges) -> str:
    """One line per file: status mark, +added -deleted, path (``old -> new`` for renames)."""
    if not changes.files:
        return f"no changes against {(changes.baseCommit or 'the base')[:12]} in {changes.tree}"
    lines = []
    for f in changes.files:
        counts = "binary" if f.binary else f"+{f.additions} -{f.deletions}"
        name = f"{f.oldPath} -> {f.path}" if f.oldPath else f.path
        lines.append(f"{_STATUS_MARK.get(f.status, '?')}  {counts:>12}  {name}")
    total_add = sum(f.additions for f in changes.files)
    total_del = sum(f.deletions for f in changes.files)
    lines.append(f"{len(changes.files)} file(s), +{total_add} -{total_del}")
    return "\n".join(lines)


@click.command("changes")
@click.argument("session")
@click.option("--json", "as_json", is_flag=True, help="Print the daemon's JSON.")
def changes_cmd(session: str, as_json: bool) -> None:
    """Show the files a session changed.

    Committed and uncommitted work of SESSION against the commit it started from.
    """
    api = client()
    record = api.resolve_session_ref(session)
    changes = api.changes(record.id)
    if as_json:
        _dump(changes)
        return
    hint(
        f"changes of session {record.id} in {changes.tree} since {(changes.baseCommit or '')[:12]}"
    )
    out(render_changes(changes))


@click.command("diff")
@click.argument("session")
@click.argument("path", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the daemon's JSON.")
@click.option("--max-bytes", type=click.IntRange(1024, 8 << 20), help="Cut the diff at this size.")
def diff_cmd(session: str, path: str | None, as_json: bool, max_bytes: int | None) -> None:
    """Show the unified diff of a session's work.

    All of SESSION's work, or of one PATH (relative to the repository).
    """
    api = client()
    record = api.resolve_session_ref(session)
    found = api.diff(record.id, path, max_bytes)
    if as_json:
        _dump(found)
        return
    if found.truncated:
        hint(f"[diff cut at {len(found.diff.encode())} of {found.bytes} bytes; see --max-bytes]")
    if not found.diff:
        hint("no differences")
        return
    if sys.stdout.isatty():
        click.echo_via_pager(found.diff)
    else:
        click.echo(found.diff, nl=not found.diff.endswith("\n"))


@click.command("merge")
@click.argument("session")
@click.option(
    "-m",
    "--commit-message",
    help="Commit the lane's uncommitted work with this message first (finished sessions only).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the daemon's JSON.")
def merge_cmd(session: str, commit_message: str | None, as_json: bool) -> None:
    """Merge a session's lane into your branch.

    SESSION's lane goes into the branch it started from, in your checkout:
    fast-forward or a merge commit; on a conflict nothing is changed and the files
    are listed. A running session's committed work can be merged.
    """
    api = client()
    record = api.resolve_session_ref(session)
    result = api.merge(record.id, commit_message)
    if as_json:
        _dump(result)
        return
    how = {
        "fast_forward": "fast-forwarded",
        "merge_commit": "merged with a merge commit",
        "up_to_date": "already up to date",
    }[result.mode]
    out(f"{record.branch or 'lane'} -> {result.branch}: {how} (now {result.head[:12]})")


@click.command("discard")
@click.argument("session")
@click.option("--force", is_flag=True, help="Also throw away uncommitted and unmerged work.")
@click.option("--json", "as_json", is_flag=True, help="Print the daemon's JSON.")
def discard_cmd(session: str, force: bool, as_json: bool) -> None:
    """Remove a session's lane (worktree and branch).

    Refused while the lane holds uncommitted or unmerged work, unless --force.
    """
    api = client()
    record = api.resolve_session_ref(session)
    result = api.discard(record.id, force)
    if as_json:
        _dump(result)
        return
    lost = ""
    if result.dirtyFiles or result.unmergedCommits:
        lost = (
            f" (threw away {len(result.dirtyFiles)} uncommitted file(s) and "
            f"{result.unmergedCommits} unmerged commit(s))"
        )
    out(f"discarded lane {record.branch or ''} of session {record.id}{lost}")
    if result.branchKept:
        hint(f"the branch was kept: {result.branchKept}")
