"""Cast Agent's pure parts: features from health, the activity log, secret-free details."""

from __future__ import annotations

import json

from coven.cockpit.allowlist import Allowed
from coven.cockpit.cast_agent import ActivityLog, _detail, features_of
from coven.cockpit.daemon_link import Upstream


def test_features_are_off_unless_the_daemon_advertises_them() -> None:
    assert not any(features_of(None).values())
    assert not any(features_of({"capabilities": "nonsense"}).values())
    today = features_of({"capabilities": {"attach": "websocket", "rituals": True, "resize": True}})
    assert today["attach"] and today["rituals"] and today["resize"]
    assert not today["attention"] and not today["changes"] and not today["review"]
    lanes = features_of({"capabilities": {"lanes": True, "attention": True}})
    assert lanes["lanes"] and lanes["changes"] and lanes["attention"]


def test_the_activity_log_is_bounded_and_readable_from_a_sequence_number() -> None:
    log = ActivityLog(limit=3)
    for n in range(5):
        log.record("kill", f"s{n}", "ok")
    assert [entry.seq for entry in log.entries] == [3, 4, 5]
    assert [entry.session_id for entry in log.after(3)] == ["s3", "s4"]
    assert log.after(5) == []


def test_details_never_carry_input_text_or_prompts() -> None:
    secret = "sk-live-abcdefghijklmnopqrstuvwxyz"
    launch = json.dumps({"harness": "codex", "prompt": secret, "projectRoot": "/p"}).encode()
    created = Upstream(201, "application/json", json.dumps({"id": "sess-1"}).encode())
    detail = _detail(Allowed("launch", mutating=True), launch, created)
    assert detail == "harness codex, session sess-1"
    typed = json.dumps({"data": secret}).encode()
    detail = _detail(Allowed("input", "sess-1", mutating=True), typed, None)
    assert detail is not None and secret not in detail
    assert detail == f"{len(typed)} bytes of input"
    review = json.dumps({"state": "changes_requested", "comments": [{"body": secret}]}).encode()
    detail = _detail(Allowed("review", "sess-1", mutating=True), review, None)
    assert detail == "review changes_requested, 1 comment"
    forced = json.dumps({"force": True}).encode()
    assert _detail(Allowed("discard", "sess-1", mutating=True), forced, None) == "forced"


def test_close_codes_that_must_not_be_sent_are_never_passed_to_the_browser() -> None:
    # Regression: forwarding 1006 made Chromium fail the socket and drop undispatched output.
    from coven.cockpit.server import close_code_for_browser

    for reserved in (None, 1004, 1005, 1006, 1015, 999, 2000, 5000):
        assert close_code_for_browser(reserved) == 1000
    for kept in (1000, 1001, 1011, 1013, 3000, 4999):
        assert close_code_for_browser(kept) == kept
