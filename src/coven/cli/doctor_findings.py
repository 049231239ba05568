"""What ``coven doctor`` finds: one ``Check`` per finding, gathered in a ``DoctorReport``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Status = Literal["pass", "warn", "fail"]
Section = Literal["store", "daemon", "harnesses", "manifests", "project"]


@dataclass(frozen=True, slots=True)
class Check:
    """One finding. ``label`` is the short name shown in the prose column (may be empty)."""

    id: str
    status: Status
    message: str
    section: Section
    hint: str | None = None
    label: str = ""

    def to_json(self, tokens: Mapping[str, str]) -> dict[str, str]:
        doc = {"id": self.id, "status": self.status, "message": tokenize(self.message, tokens)}
        if self.hint:
            doc["hint"] = tokenize(self.hint, tokens)
        return doc


@dataclass(slots=True)
class DoctorReport:
    """Everything doctor found; ``blocking`` is true exactly when a check failed."""

    store: Path
    project: Path | None
    checks: list[Check] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)

    @property
    def blocking(self) -> bool:
        return any(check.status == "fail" for check in self.checks)


def tokenize(text: str, tokens: Mapping[str, str]) -> str:
    # Longest paths first, so the socket path wins over the home that contains it; a path
    # is replaced only as a whole component run ("/tmp" never rewrites "/tmpfoo"), and "/"
    # alone is never a token.
    for path in sorted(tokens, key=len, reverse=True):
        if path.rstrip("/"):
            pattern = re.escape(path) + r"(?=/|$|[^\w.\-])"
            # A literal replacement: a token is never read as a group reference.
            token = tokens[path]
            text = re.sub(pattern, lambda _match: token, text)  # noqa: B023
    return text
