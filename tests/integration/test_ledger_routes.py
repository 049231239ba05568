"""Event paging, session lists, external sessions and rituals over the socket."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.helpers import error_of, shared_daemon
from tests.support.daemon import Daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: Any) -> Iterator[Daemon]:
    with shared_daemon(tmp_path_factory, "ledger") as d:
        yield d


@pytest.fixture(scope="module")
def finished(daemon: Daemon) -> tuple[str, list[dict[str, Any]]]:
    """A finished session with a handful of events (outputs, inputs, exit)."""
    sid = daemon.launch("--fake-mode=echo")["id"]
    daemon.wait_output(sid, "ready")
    for n in range(4):
        daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": f"m{n}\r"})
        daemon.wait_output(sid, f"echo: m{n}")
    daemon.call("POST", f"/api/v1/sessions/{sid}/input", {"data": "exit\r"})
    daemon.wait_status(sid, {"completed"})
    events = daemon.events(sid)
    assert len(events) >= 6
    return sid, events


def _page(daemon: Daemon, query: str) -> dict[str, Any]:
    reply = daemon.call("GET", f"/api/v1/events?{query}")
    assert reply.status == 200, reply.body
    page: dict[str, Any] = reply.json()
    return page


# -- events -----------------------------------------------------------------------------------
def test_after_seq_returns_only_later_events_in_order(daemon: Daemon, finished: Any) -> None:
    sid, events = finished
    page = _page(daemon, f"sessionId={sid}&afterSeq={events[1]['seq']}")
    assert [e["seq"] for e in page["events"]] == [e["seq"] for e in events[2:]]
    assert page["hasMore"] is False
    assert page["nextCursor"] == {"afterSeq": events[-1]["seq"]}


def test_limit_pages_with_has_more_and_cursor(daemon: Daemon, finished: Any) -> None:
    sid, events = finished
    page = _page(daemon, f"sessionId={sid}&limit=2")
    assert [e["seq"] for e in page["events"]] == [e["seq"] for e in events[:2]]
    assert page["hasMore"] is True and page["nextCursor"] == {"afterSeq": events[1]["seq"]}
    exact = _page(daemon, f"sessionId={sid}&afterSeq={events[-3]['seq']}&limit=2")
    assert exact["hasMore"] is False and len(exact["events"]) == 2


def test_limit_is_clamped_to_1_and_1000(daemon: Daemon, finished: Any) -> None:
    sid, events = finished
    for raw in ("0", "-3"):
        assert len(_page(daemon, f"sessionId={sid}&limit={raw}")["events"]) == 1
    assert len(_page(daemon, f"sessionId={sid}&limit=5000")["events"]) == len(events)


def test_empty_page_has_null_cursor_and_no_more(daemon: Daemon, finished: Any) -> None:
    sid, events = finished
    page = _page(daemon, f"sessionId={sid}&afterSeq={events[-1]['seq']}&limit=5")
    assert page == {"events": [], "nextCursor": None, "hasMore": False}


def test_after_event_id_resumes_after_that_event(daemon: Daemon, finished: Any) -> None:
    sid, events = finished
    page = _page(daemon, f"sessionId={sid}&afterEventId={events[2]['id']}")
    assert [e["id"] for e in page["events"]] == [e["id"] for e in events[3:]]


def test_an_after_event_id_naming_no_event_of_the_session_reads_from_the_start(
    daemon: Daemon, finished: Any
) -> None:
    """Before: 400. The reference (and the OpenClaw poller that relies on it) starts over."""
    sid, events = finished
    other = daemon.launch("--fake-mode=exit")["id"]
    daemon.wait_status(other, {"completed"})
    foreign = daemon.events(other)[0]["id"]
    for event_id in ("not-an-event", foreign):
        page = _page(daemon, f"sessionId={sid}&afterEventId={event_id}")
        assert [e["id"] for e in page["events"]] == [e["id"] for e in events]
        assert page["hasMore"] is False
    # afterSeq still wins when both are given.
    both = _page(daemon, f"sessionId={sid}&afterSeq={events[1]['seq']}&afterEventId=nope")
    assert [e["id"] for e in both["events"]] == [e["id"] for e in events[2:]]


@pytest.mark.parametrize(
    ("param", "raw"),
    [("afterSeq", "1.5"), ("afterSeq", "abc"), ("afterSeq", ""), ("limit", "x"), ("limit", "")],
)
def test_non_integer_after_seq_or_limit_is_400(
    daemon: Daemon, finished: Any, param: str, raw: str
) -> None:
    sid, _ = finished
    reply = daemon.call("GET", f"/api/v1/events?sessionId={sid}&{param}={raw}")
    assert reply.status == 400
    assert error_of(reply)["details"] == {param: raw}


def test_query_errors_come_before_the_session_lookup(daemon: Daemon) -> None:
    reply = daemon.call("GET", "/api/v1/events?sessionId=nope&afterSeq=x")
    assert (reply.status, error_of(reply)["code"]) == (400, "invalid_request")


def test_missing_session_id_is_400(daemon: Daemon) -> None:
    for query in ("", "?SessionId=x", "?afterSeq=1"):
        reply = daemon.call("GET", f"/api/v1/events{query}")
        assert reply.status == 400
        assert error_of(reply) == {
            "code": "invalid_request",
            "message": "sessionId query parameter is required.",
        }


def test_path_form_ignores_the_session_id_query(daemon: Daemon, finished: Any) -> None:
    sid, events = finished
    reply = daemon.call("GET", f"/api/v1/sessions/{sid}/events?sessionId=other&limit=1000")
    assert [e["seq"] for e in reply.json()["events"]] == [e["seq"] for e in events]


def test_log_preview_lists_every_event(daemon: Daemon, finished: Any) -> None:
    sid, events = finished
    lines = daemon.call("GET", f"/sessions/{sid}/log").json()
    assert len(lines) == len(events)
    assert lines[-1]["message"].startswith("exit: ")
    assert any(line["message"] == "> m0\r" for line in lines)


# -- session lists ----------------------------------------------------------------------------
def _external(daemon: Daemon, sid: str, **extra: Any) -> Any:
    root = daemon.env["COVEN_TEST_PROJECT"]
    body = {"id": sid, "projectRoot": root, "harness": "coven-code", **extra}
    return daemon.call("POST", "/api/v1/sessions/external", body)


def test_plain_list_is_a_bare_array_and_any_param_gives_the_envelope(daemon: Daemon) -> None:
    bare = daemon.call("GET", "/api/v1/sessions?other=1").json()
    assert isinstance(bare, list)
    envelope = daemon.call("GET", "/api/v1/sessions?includeArchived=false").json()
    assert set(envelope) == {"sessions", "next_cursor"}
    assert [s["id"] for s in envelope["sessions"]][: len(bare)] == [s["id"] for s in bare]


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=", "limit"),
        ("includeArchived=TRUE", "includeArchived"),
        ("includeArchived=1", "includeArchived"),
        ("includeArchived=", "includeArchived"),
        ("cursor=%%%", "cursor"),
        ("cursor=" + base64.urlsafe_b64encode(b"[1]").decode().rstrip("="), "cursor"),
    ],
)
def test_list_query_validation(daemon: Daemon, query: str, key: str) -> None:
    reply = daemon.call("GET", f"/api/v1/sessions?{query}")
    assert reply.status == 400
    error = error_of(reply)
    assert error["code"] == "invalid_request"
    assert error["details"][key] == query.partition("=")[2]


def test_cursor_paging_covers_every_row_exactly_once(daemon: Daemon) -> None:
    for n in range(7):
        assert _external(daemon, f"page-{n}").status in (200, 201)
    everything = daemon.call("GET", "/api/v1/sessions?limit=1000&includeArchived=true").json()
    assert everything["next_cursor"] is None
    seen: list[str] = []
    cursor = None
    for _ in range(100):
        query = "limit=3&includeArchived=true" + (f"&cursor={cursor}" if cursor else "")
        page = daemon.call("GET", f"/api/v1/sessions?{query}").json()
        assert page["sessions"], "a cursor never leads to an empty page"
        seen += [s["id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [s["id"] for s in everything["sessions"]]
    assert len(seen) == len(set(seen))


# -- external sessions --------------------------------------------------------------------------
def test_external_registration_is_201_then_idempotent_200(daemon: Daemon) -> None:
    first = _external(daemon, "ext-1", title=" Ext ", labels=["lane:a", "b.c"])
    assert first.status == 201
    record = first.json()
    assert (record["status"], record["external"], record["title"]) == ("running", True, "Ext")
    assert record["labels"] == ["lane:a", "b.c"] and record["visibility"] == "private"
    again = _external(daemon, "ext-1", title="Other", harness="claude")
    assert (again.status, again.json()) == (200, record)


def test_external_registration_of_a_daemon_owned_id_is_409(daemon: Daemon, finished: Any) -> None:
    sid, _ = finished
    reply = _external(daemon, sid)
    assert reply.status == 409
    assert error_of(reply)["code"] == "session_id_conflict"
    assert error_of(reply)["details"] == {"sessionId": sid}


@pytest.mark.parametrize(
    "labels",
    ["lane", ["has space"], ["dup", "dup"], [""], ["x" * 65], [f"l{n}" for n in range(17)], [5]],
)
def test_external_label_rules(daemon: Daemon, labels: Any) -> None:
    reply = _external(daemon, "ext-labels", labels=labels)
    assert (reply.status, error_of(reply)["code"]) == (400, "invalid_request")
    assert daemon.call("GET", "/api/v1/sessions/ext-labels").status == 404


@pytest.mark.parametrize("missing", ["id", "projectRoot", "harness"])
def test_external_requires_id_root_and_harness(daemon: Daemon, missing: str) -> None:
    body = {"id": "ext-req", "projectRoot": daemon.env["COVEN_TEST_PROJECT"], "harness": "codex"}
    body[missing] = "  "
    reply = daemon.call("POST", "/api/v1/sessions/external", body)
    assert (reply.status, error_of(reply)["code"]) == (400, "invalid_request")


def test_complete_external_and_refusals(daemon: Daemon, finished: Any) -> None:
    assert _external(daemon, "ext-2").status == 201
    kill = daemon.call("POST", "/api/v1/sessions/ext-2/kill", {})
    assert (kill.status, error_of(kill)["code"]) == (422, "external_session_not_killable")
    send = daemon.call("POST", "/api/v1/sessions/ext-2/input", {"data": "x"})
    assert (send.status, error_of(send)["code"]) == (409, "session_not_live")
    done = daemon.call("POST", "/api/v1/sessions/ext-2/complete", {"exitCode": 4})
    assert done.status == 200
    assert (done.json()["status"], done.json()["exit_code"]) == ("failed", 4)
    assert _external(daemon, "ext-3").status == 201
    ok = daemon.call("POST", "/api/v1/sessions/ext-3/complete", b"{not json")
    assert (ok.json()["status"], ok.json()["exit_code"]) == ("completed", None)
    sid, _ = finished
    managed = daemon.call("POST", f"/api/v1/sessions/{sid}/complete", {})
    assert (managed.status, error_of(managed)["code"]) == (422, "not_external_session")


@pytest.mark.parametrize("harness", ["bash", "Codex", "sh -c x", "not-configured"])
def test_external_registration_applies_the_launch_harness_policy(
    daemon: Daemon, harness: str
) -> None:
    """Before: any string was accepted as the harness of an external session."""
    reply = _external(daemon, "ext-policy", harness=harness)
    assert (reply.status, error_of(reply)["code"]) == (400, "invalid_request")
    assert error_of(reply)["details"]["field"] == "harness"
    assert daemon.call("GET", "/api/v1/sessions/ext-policy").status == 404


@pytest.mark.parametrize("harness", ["codex", "claude", "coven-code", "copilot"])
def test_external_registration_takes_configured_and_reference_harnesses(
    daemon: Daemon, harness: str
) -> None:
    reply = _external(daemon, f"ext-ok-{harness}", harness=harness)
    assert reply.status == 201, reply.body
    assert reply.json()["harness"] == harness


def test_completing_an_external_session_twice_is_a_409(daemon: Daemon) -> None:
    """Before: every repeat answered 200 and rewrote the recorded outcome."""
    assert _external(daemon, "ext-twice").status == 201
    first = daemon.call("POST", "/api/v1/sessions/ext-twice/complete", {"exitCode": 0})
    assert (first.status, first.json()["status"]) == (200, "completed")
    again = daemon.call("POST", "/api/v1/sessions/ext-twice/complete", {"exitCode": 3})
    assert again.status == 409, again.body
    error = error_of(again)
    assert error["code"] == "session_conflict"
    assert error["details"] == {"sessionId": "ext-twice", "status": "completed"}
    record = daemon.call("GET", "/api/v1/sessions/ext-twice").json()
    assert (record["status"], record["exit_code"]) == ("completed", 0)


# -- rituals -----------------------------------------------------------------------------------
def test_archive_refuses_a_running_session(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=sleep")["id"]
    reply = daemon.call("POST", f"/api/v1/sessions/{sid}/archive", {})
    assert reply.status == 409
    assert daemon.call("GET", f"/api/v1/sessions/{sid}").json()["archived_at"] is None
    daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})


@pytest.mark.parametrize("route", ["/api/v1/sessions/{}/summon", "/sessions/{}/summon"])
def test_summon_refuses_a_live_session(daemon: Daemon, route: str) -> None:
    """Before: summoning live work answered 200, unlike archive and sacrifice."""
    sid = daemon.launch("--fake-mode=sleep")["id"]
    reply = daemon.call("POST", route.format(sid), {})
    assert reply.status == 409, reply.body
    error = error_of(reply)
    assert error["code"] == "session_conflict"
    assert error["details"] == {"sessionId": sid, "status": "running"}
    action = daemon.call(
        "POST", "/api/v1/actions", {"action": "coven.sessions.summon", "args": {"sessionId": sid}}
    )
    assert action.status == 409 and action.json()["code"] == "session_conflict"
    daemon.call("POST", f"/api/v1/sessions/{sid}/kill", {})
    daemon.wait_status(sid, {"killed"})
    # Finished and never archived: summoning is a harmless no-op, as before.
    assert daemon.call("POST", route.format(sid), {}).status == 200


def test_archive_hides_and_summon_restores(daemon: Daemon) -> None:
    sid = daemon.launch("--fake-mode=exit")["id"]
    daemon.wait_status(sid, {"completed"})
    archived = daemon.call("POST", f"/api/v1/sessions/{sid}/archive", {})
    assert archived.status == 200 and archived.json()["archived_at"] is not None
    listed = [s["id"] for s in daemon.call("GET", "/api/v1/sessions").json()]
    assert sid not in listed
    page = daemon.call("GET", "/api/v1/sessions?includeArchived=true&limit=1000").json()
    assert sid in [s["id"] for s in page["sessions"]]
    assert daemon.call("GET", f"/api/v1/sessions/{sid}/events").status == 200
    summoned = daemon.call("POST", f"/sessions/{sid}/summon", {})
    assert summoned.status == 200 and summoned.json()["archived_at"] is None
    assert sid in [s["id"] for s in daemon.call("GET", "/api/v1/sessions").json()]


def test_sacrifice_needs_the_exact_id_and_refuses_running(daemon: Daemon) -> None:
    live = daemon.launch("--fake-mode=sleep")["id"]
    refused = daemon.call("POST", f"/api/v1/sessions/{live}/sacrifice", {"confirm": live})
    assert refused.status == 409
    daemon.call("POST", f"/api/v1/sessions/{live}/kill", {})
    daemon.wait_status(live, {"killed"})
    for body in ({}, {"confirm": live[:8]}, {"confirm": True}, b""):
        reply = daemon.call("POST", f"/api/v1/sessions/{live}/sacrifice", body)
        assert (reply.status, error_of(reply)["code"]) == (400, "invalid_request")
        assert daemon.call("GET", f"/api/v1/sessions/{live}").status == 200
    done = daemon.call("POST", f"/api/v1/sessions/{live}/sacrifice", {"confirm": live})
    assert done.status == 200
    assert daemon.call("GET", f"/api/v1/sessions/{live}").status == 404
    gone = daemon.call("GET", f"/api/v1/events?sessionId={live}")
    assert gone.status == 404
