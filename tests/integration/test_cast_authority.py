"""The property that matters most: a Cast Code reaches no effect that the same API
operation could not reach directly. Casts run through ``coven.cli.casting.perform``
against a real daemon; each one is compared with the direct call it stands for."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coven.castcodes import Broadcast, Delegate, Handoff
from coven.cli.casting import CastContext, CastRefused, perform
from coven.client import ApiError, CovenClient
from tests.integration.helpers import shared_daemon
from tests.support.daemon import Daemon

ROSTER = """\
[[familiar]]
id = "cody"
display_name = "Cody"
role = "Coder"
description = ""
harness = "codex"

[[familiar]]
id = "broken"
display_name = "Broken"
role = ""
description = "names a harness nobody configured"
harness = "nope"
"""
FAMILIARS = ["cody", "broken", "ghost"]  # known, unknown harness, unknown familiar
TEXT = st.text(alphabet="abc xyz-=", min_size=1, max_size=12).map(str.strip).filter(bool)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: Any) -> Iterator[Daemon]:
    with shared_daemon(tmp_path_factory, "cast-authority") as d:
        (d.home / "familiars.toml").write_text(ROSTER)
        yield d


def roots(daemon: Daemon) -> list[str]:
    project = daemon.env["COVEN_TEST_PROJECT"]
    # inside policy; missing; the Coven home itself (refused as a project root)
    return [project, project + "/missing", str(daemon.home)]


def code_of(call: Any) -> str | None:
    try:
        call()
    except ApiError as exc:
        return exc.code
    return None


def kill_all(api: CovenClient) -> None:
    for record in api.list_sessions():
        if record.status == "running":
            with contextlib.suppress(ApiError):
                api.kill(record.id)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(familiar=st.sampled_from(FAMILIARS), text=TEXT, root_index=st.integers(0, 2))
def test_delegate_is_refused_exactly_like_the_direct_launch(
    daemon: Daemon, familiar: str, text: str, root_index: int
) -> None:
    api = CovenClient.from_home(daemon.home)
    root = roots(daemon)[root_index]
    ctx = CastContext(project_root=root, harness=None)
    try:
        result = perform(Delegate(familiar, text), api, ctx)
        cast_code = next((o.code for o in result.outcomes if not o.ok), None)
        launched = [o.session_id for o in result.outcomes if o.ok]
    except CastRefused as exc:
        cast_code, launched = exc.code, []
    # What the cast sends: the familiar's harness, else none (the daemon refuses).
    harness = {"cody": "codex", "broken": "nope"}.get(familiar, "")
    direct = code_of(
        lambda: api.launch(root, harness, text, familiar_id=familiar, launch_mode="nonInteractive")
    )
    assert cast_code == direct, (familiar, root, text)
    assert bool(launched) == (direct is None)
    kill_all(api)


def test_broadcast_never_reaches_a_dead_session(daemon: Daemon) -> None:
    api = CovenClient.from_home(daemon.home)
    dead = api.launch(
        daemon.env["COVEN_TEST_PROJECT"], "codex", "x", familiar_id="cody"
    )  # echo mode: alive until killed
    api.kill(dead.id)
    daemon.wait_status(dead.id, {"killed"})
    before = [e for e in api.iter_events(dead.id) if e.kind == "input"]
    direct = code_of(lambda: api.send_input(dead.id, "hello\n"))
    assert direct == "session_not_live"
    result = perform(Broadcast("cody", "hello"), api, CastContext(project_root="/"))
    assert all(o.target != dead.id for o in result.outcomes)
    assert [e for e in api.iter_events(dead.id) if e.kind == "input"] == before
    result = perform(Broadcast(None, "hello"), api, CastContext(project_root="/"))
    assert all(o.target != dead.id for o in result.outcomes)


@pytest.mark.parametrize("familiar", ["ghost", "broken"])
def test_handoff_to_a_familiar_is_refused_like_the_direct_launch(
    daemon: Daemon, familiar: str
) -> None:
    api = CovenClient.from_home(daemon.home)
    source = api.launch(daemon.env["COVEN_TEST_PROJECT"], "codex", "work")
    root = daemon.env["COVEN_TEST_PROJECT"]
    try:
        result = perform(Handoff(familiar), api, CastContext(project_root=root))
        cast_code = next((o.code for o in result.outcomes if not o.ok), None)
    except CastRefused as exc:
        cast_code = exc.code
    harness = {"broken": "nope"}.get(familiar, "")
    direct = code_of(lambda: api.launch(root, harness, "packet", familiar_id=familiar))
    assert cast_code == direct is not None
    api.kill(source.id)


def test_broadcast_to_an_unknown_familiar_is_unknown_familiar(daemon: Daemon) -> None:
    api = CovenClient.from_home(daemon.home)
    with pytest.raises(CastRefused) as refused:
        perform(Broadcast("ghost", "hi"), api, CastContext(project_root="/"))
    direct = code_of(
        lambda: api.launch(daemon.env["COVEN_TEST_PROJECT"], "codex", "x", familiar_id="ghost")
    )
    assert refused.value.code == direct == "unknown_familiar"
