"""The familiars roster file as daemon state: ``COVEN_HOME/familiars.toml``, read and edited.

The daemon is the only writer (``coven familiars add|remove`` go through
``POST /familiars`` and ``DELETE /familiars/:id``), so one lock here orders
every edit, and each edit replaces the file atomically: a reader sees the old
roster or the new one, never half of each. Every method blocks on the
filesystem; callers run them off the event loop (``Ledger.read``).
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from coven.authority.familiars import (
    MAX_ROSTER_BYTES,
    ROSTER_FILE,
    Familiar,
    Roster,
    add_familiar,
    parse_roster,
    remove_familiar,
)
from coven.errors import RosterInvalid


class FamiliarRoster:
    """Reads and edits one home's roster; a missing file is an empty roster."""

    def __init__(self, home: Path) -> None:
        self.path = home / ROSTER_FILE
        self._lock = threading.Lock()

    def load(self) -> Roster:
        """The parsed roster, or ``RosterInvalid`` (500 ``familiar_lookup_failed``) naming file and line."""
        return parse_roster(self._read(), str(self.path))

    def add(self, familiar: Familiar) -> Familiar:
        """Append ``familiar``; ``InvalidRequest`` if its id is taken or a field breaks a rule."""
        with self._lock:
            text = self._read().decode("utf-8", "surrogateescape")
            self._replace(add_familiar(text, familiar, str(self.path)))
        return familiar

    def remove(self, familiar_id: str) -> None:
        """Drop ``familiar_id``'s table; ``UnknownFamiliar`` when it is not declared."""
        with self._lock:
            text = self._read().decode("utf-8", "surrogateescape")
            self._replace(remove_familiar(text, familiar_id, str(self.path)))

    def _read(self) -> bytes:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return b""
        except OSError as exc:
            raise RosterInvalid(
                f"familiars roster {self.path}: cannot be read ({exc.strerror})",
                {"path": str(self.path)},
            ) from None
        with os.fdopen(fd, "rb") as handle:
            # One byte past the limit is enough for parse_roster to refuse the size.
            return handle.read(MAX_ROSTER_BYTES + 1)

    def _replace(self, text: str) -> None:
        tmp = self.path.with_name(f".{ROSTER_FILE}.tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
