"""Which size a session's terminal has while several terminals are attached to it.

One PTY has one size, and output is drawn for it. A terminal of another size that
shows the same raw output either pads it (it is larger: the drawing sits in its
top-left corner) or re-wraps it (it is smaller: full-screen drawings turn into
garbage). So the session takes the **smallest** size among the attached terminals
that report one, column and row counts each taken separately (tmux's ``smallest``
policy): every attached terminal can show the output as drawn. When a terminal
detaches the session grows to the smallest of the ones left; when the last one
goes, the size stays as it was. Read-only attaches send no size and do not count.
``POST /sessions/:id/resize`` sets the size directly until the next attach resizes.
"""

from __future__ import annotations


class AttachedSizes:
    """The sizes reported by each attached terminal, per session."""

    def __init__(self) -> None:
        self._sizes: dict[str, dict[object, tuple[int, int]]] = {}

    def report(self, session_id: str, client: object, rows: int, cols: int) -> tuple[int, int]:
        """Record ``client``'s size; returns the size the session should have."""
        sizes = self._sizes.setdefault(session_id, {})
        sizes[client] = (rows, cols)
        return _smallest(sizes)

    def forget(self, session_id: str, client: object) -> tuple[int, int] | None:
        """``client`` detached: the size the others need, or None when no size is reported."""
        sizes = self._sizes.get(session_id)
        if sizes is None or sizes.pop(client, None) is None:
            return None
        if not sizes:
            del self._sizes[session_id]
            return None
        return _smallest(sizes)


def _smallest(sizes: dict[object, tuple[int, int]]) -> tuple[int, int]:
    return min(r for r, _ in sizes.values()), min(c for _, c in sizes.values())
