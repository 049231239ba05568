"""Statuses and event kinds have one home: ``coven.schema.vocabulary``.

Outside ``coven.schema`` no module spells a session status or an event kind as
a string literal; it names the enum member. The few literals below that share
a spelling but mean something else are listed with what they mean, and the
copies kept by modules that must not load the schema are checked equal to it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from coven.schema import EventKind, SessionStatus

SRC = Path(__file__).resolve().parents[2] / "src" / "coven"
WORDS = {str(s) for s in SessionStatus} | {str(k) for k in EventKind}

# (module, literal) pairs whose meaning is not a session status or event kind.
OTHER_MEANINGS = {
    ("cli/daemonctl.py", "running"): "the daemon process state",
    ("cli/daemon_cmd.py", "running"): "the daemon process state",
    ("cli/render.py", "created"): "the label of the created_at column",
    ("cli/browser.py", "error"): "a button variant",
    ("cli/browser.py", "kill"): "a key binding's action name",
    ("cli/rituals_cmd.py", "kill"): "the `coven kill` command name",
    ("cli/commands.py", "kill"): "the `coven kill` command name",
    ("cli/commands.py", "cast"): "the `coven cast` command name",
    ("cli/entry.py", "running"): "the daemon process state",
    ("api/router.py", "input"): "a route handler name",
    ("api/router.py", "kill"): "a route handler name",
    ("api/router.py", "cast"): "a route handler name",
    ("api/router.py", "attention"): "a route handler name",
    ("cockpit/cast_agent.py", "attention"): "the health feature flag's name",
    ("cli/casting.py", "attention"): "a session record field's name",
    ("cli/attention_cmd.py", "attention"): "the health feature flag / a record field's name",
    ("cli/attention_cmd.py", "exit"): "a `coven wait --until` choice: the session ended",
    ("cli/status_cmd.py", "running"): "the daemon process state",
    ("cli/cast_cmd.py", "cast"): "the `coven cast` command name",
    ("cli/casting.py", "input"): "the name of the daemon call a cast made",
    ("cli/casting.py", "error"): "the key of a packet's unavailable changes (as in the envelope)",
    ("harness/demo_agent.py", "exit"): "a word the demo agent's user types",
    ("runtime/queries.py", "error"): "a log line's level",
    ("runtime/actions.py", "completed"): "an action result's status",
    ("client/calls.py", "error"): "the key of the error envelope",
    ("store/ops.py", "orphaned"): "a key of the orphan event's payload",
    ("client/ssh.py", "exit"): "ssh's control command (-O exit)",
    ("client/ssh.py", "running"): "a daemon lifecycle state from `daemon status --json`",
    ("cockpit/allowlist.py", "input"): "the name of a forwarded route's operation",
    ("cockpit/allowlist.py", "kill"): "the name of a forwarded route's operation",
    ("cockpit/cast_agent.py", "input"): "an operation name in the activity log",
    ("cockpit/cast_agent.py", "error"): "the key of the error envelope",
    ("cockpit/server.py", "error"): "the key of the error envelope",
    ("api/router.py", "review"): "a route handler name",
    ("cockpit/allowlist.py", "review"): "the name of a forwarded route's operation",
    ("cockpit/cast_agent.py", "review"): "an operation name in the activity log",
    ("runtime/review.py", "review"): "a review event's source (a client's review request)",
}


# (module, literal) pairs that are copies of a schema value, for a path that must not
# import the schema (msgspec): coven attach's first screen. Each copy is compared below.
COPIES = {("cli/attach_words.py", "running"): "RUNNING"}


def test_the_copies_equal_the_schema() -> None:
    from coven.cli import attach_words

    assert attach_words.RUNNING == SessionStatus.RUNNING


def _docstrings(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def literals(source: str) -> list[str]:
    """String constants equal to a status or event kind (docstrings excluded)."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in WORDS
        and id(node) not in skip
    ]


def test_no_status_or_event_kind_literal_outside_schema() -> None:
    found = set()
    for path in SRC.rglob("*.py"):
        rel = str(path.relative_to(SRC))
        if rel.startswith("schema/"):
            continue
        for word in literals(path.read_text()):
            if (rel, word) not in OTHER_MEANINGS and (rel, word) not in COPIES:
                found.add((rel, word))
    assert found == set()


def test_the_checker_sees_a_literal_and_skips_docstrings() -> None:
    source = '"""running"""\ndef f():\n    """killed"""\n    return x == "orphaned"\n'
    assert literals(source) == ["orphaned"]


def test_every_other_meaning_is_still_needed() -> None:
    # A stale allowance would hide a new literal of the same spelling.
    for rel, word in [*OTHER_MEANINGS, *COPIES]:
        assert word in literals((SRC / rel).read_text()), (rel, word)
