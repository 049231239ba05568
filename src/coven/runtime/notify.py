"""Notifications when a session starts waiting for its user or finishes.

Two channels, both optional, both sent by the daemon on a worker thread (never
on the event loop) with a bounded timeout:

* a desktop notification through ``notify-send`` when it is on the daemon's
  ``PATH``;
* a webhook named by ``COVEN_HOME/notify.toml`` (``url = "https://ntfy.sh/topic"``):
  an ntfy-compatible plain-text POST whose body names the session, its title, the
  state and the reason, with a ``Title`` header.

Only redacted text is ever sent (titles and reasons are redacted before they get
here); output is never sent. A notify.toml that cannot be used is reported once
in the daemon log and by ``notify_config_problem`` (for ``coven doctor``), and
notifications then go to the desktop only — it never stops the daemon.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec

from coven.schema import AttentionState
from coven.schema.notify import NOTIFY_FILE, NotifyConfigError, parse_notify_config

log = logging.getLogger("coven.notify")

SEND_TIMEOUT = 5.0
MAX_PENDING = 32


class Notice(msgspec.Struct, frozen=True):
    """One notification: already redacted."""

    session_id: str
    title: str
    harness: str
    state: str  # an AttentionState, or "finished"
    reason: str | None

    @property
    def headline(self) -> str:
        if self.state == AttentionState.AWAITING_INPUT:
            return f"Coven: {self.title} is waiting for you"
        if self.state == AttentionState.IDLE:
            return f"Coven: {self.title} finished its turn"
        return f"Coven: {self.title} {self.state}"

    @property
    def body(self) -> str:
        reason = f": {self.reason}" if self.reason else ""
        return f'session {self.session_id} ({self.harness}) "{self.title}" is {self.state}{reason}'


def load_webhook(home: Path) -> str | None:
    """The webhook URL of ``home/notify.toml``; None without the file; ``NotifyConfigError``."""
    path = home / NOTIFY_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise NotifyConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    return parse_notify_config(raw, str(path))


def notify_config_problem(home: Path) -> str | None:
    """Why ``home/notify.toml`` cannot be used, or None (absent or fine)."""
    try:
        load_webhook(home)
    except NotifyConfigError as exc:
        return str(exc)
    return None


class Notifier:
    """Sends notices off the event loop; at most ``MAX_PENDING`` queued (more are dropped)."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self._home = home
        self._notify_send = shutil.which("notify-send", path=env.get("PATH", os.defpath))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="coven-notify")
        self._pending = 0
        self._lock = threading.Lock()
        self._reported: str | None = None

    def send(self, notice: Notice) -> None:
        with self._lock:
            if self._pending >= MAX_PENDING:
                log.warning("notification dropped: %d still being sent", self._pending)
                return
            self._pending += 1
        future = self._pool.submit(self._deliver, notice)
        future.add_done_callback(self._done)

    def _done(self, _future: object) -> None:
        with self._lock:
            self._pending -= 1

    def _deliver(self, notice: Notice) -> None:
        if self._notify_send is not None:
            try:
                subprocess.run(
                    [self._notify_send, "--app-name=Coven", notice.headline, notice.body],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=SEND_TIMEOUT,
                    check=False,
                )
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("notify-send failed: %s", exc)
        try:
            url = load_webhook(self._home)
        except NotifyConfigError as exc:
            if self._reported != str(exc):
                self._reported = str(exc)
                log.error("notifications: %s", exc)
            return
        if url is None:
            return
        # Here, not at the top: with http.client and email it is ~10 ms of the daemon's
        # start before a handed-over launch; the API's thread loads it meanwhile anyway.
        import urllib.request

        request = urllib.request.Request(
            url,
            data=notice.body.encode("utf-8"),
            method="POST",
            # Header values must be Latin-1 for http.client; the body carries the full text.
            headers={
                "Title": notice.headline.encode("ascii", "replace").decode("ascii"),
                "Content-Type": "text/plain; charset=utf-8",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=SEND_TIMEOUT) as reply:
                reply.read(1024)
        except (OSError, ValueError) as exc:
            # Not the URL: an ntfy topic name is as good as a password.
            log.warning("notification webhook failed: %s", exc)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
