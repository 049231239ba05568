"""The Coven Calls ledger: delegations from one familiar to another, in ``cave-coven-calls.json``.

A launch that names both ``familiarId`` (the callee) and ``callerFamiliarId``
appends a ``running`` record; when that session ends the record becomes
``completed``, ``failed`` or ``cancelled`` (killed) with ``endedAt``. The file
is the reference's (``{"version": 1, "calls": [...]}``, written atomically via
a temporary file and a rename), so other clients read it unchanged. Writing it
is best effort, as in the reference: a failure is logged and never fails the
launch. Methods block on the filesystem; call them off the event loop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from coven.errors import CallNotFound
from coven.schema.cockpit import (
    COVEN_CALL_RUNNING,
    CovenCall,
    CovenCallsFile,
    call_status_after,
    truncate_call_request,
)

log = logging.getLogger("coven.runtime.coven_calls")

CALLS_FILE = "cave-coven-calls.json"
MAX_CALLS_BYTES = 16 * 1024 * 1024


def now_millis() -> str:
    """RFC 3339 UTC with milliseconds and ``Z``, as the ledger's times are written."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class CovenCalls:
    """One home's delegation ledger."""

    def __init__(self, home: Path) -> None:
        self.path = home / CALLS_FILE
        self._lock = threading.Lock()
        self._decoder = msgspec.json.Decoder(CovenCallsFile)

    def all(self) -> list[CovenCall]:
        """Every record, oldest first; an unreadable file reads as empty (and is logged)."""
        return self._load()

    def get(self, call_id: str) -> CovenCall:
        for call in self._load():
            if call.id == call_id:
                return call
        raise CallNotFound("Coven call was not found.", {"callId": call_id})

    def started(self, caller: str, callee: str, prompt: str, session_id: str) -> None:
        """Record a delegation that has just been launched as ``session_id``."""
        call = CovenCall(
            id=str(uuid.uuid4()),
            caller_familiar_id=caller,
            callee_familiar_id=callee,
            request=truncate_call_request(prompt),
            status=COVEN_CALL_RUNNING,
            created_at=now_millis(),
            session_id=session_id,
        )
        with self._lock:
            self._save([*self._load(), call])

    def finished(self, session_id: str, status: str) -> None:
        """Close the running delegation of ``session_id`` (if any) with the session's outcome."""
        with self._lock:
            calls = self._load()
            changed = False
            for index, call in enumerate(calls):
                if call.session_id == session_id and call.status == COVEN_CALL_RUNNING:
                    calls[index] = msgspec.structs.replace(
                        call, status=call_status_after(status), ended_at=now_millis()
                    )
                    changed = True
            if changed:
                self._save(calls)

    def _load(self) -> list[CovenCall]:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.warning("cannot read %s: %s", self.path, exc)
            return []
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(MAX_CALLS_BYTES + 1)
        try:
            return list(self._decoder.decode(data).calls)
        except msgspec.DecodeError as exc:
            log.warning("ignoring unreadable %s: %s", self.path, exc)
            return []

    def _save(self, calls: list[CovenCall]) -> None:
        tmp = self.path.with_name(f".{CALLS_FILE}.tmp")
        try:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(msgspec.json.encode(CovenCallsFile(calls=calls)))
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("cannot write %s: %s", self.path, exc)
