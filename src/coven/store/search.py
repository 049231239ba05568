"""Full-text search over session output and titles (SQLite FTS5), and event pruning.

Output is not indexed as it is written. The drain path appends events and pays
nothing for search; ``IndexOutput`` then runs on the writer thread in bounded steps
(the runtime schedules them when the writer has nothing else to do). Each step reads
the ``output`` events after the watermark ``search_state.indexed_seq``, turns each
session's run of events into *segments* (the events' text joined and passed through
the caller's ``clean``: terminal controls stripped and redacted again, since
stripping can join the halves of a secret), inserts them (a trigger feeds
``output_index``) and moves the watermark, all in the same transaction as any
output it indexes — the index never claims text that was not committed. A small
newest segment of a session is merged with the next text of that session, so an
interactive session does not become thousands of one-line documents.

The stored payloads are already redacted (the output path redacts before it
writes), so nothing here ever sees an unredacted secret.

Titles have their own small index, kept current by triggers on ``sessions``.

Pruning deletes old events of finished sessions, with the segments that held their
text; text of surviving events from a deleted segment is indexed again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence

import msgspec

from coven.schema.vocabulary import ACTIVE_STATUSES, EventKind
from coven.store.ops import Op

Clean = Callable[[str], str]

SEGMENT_CHARS = 8 * 1024
"""A segment is closed once it holds this much text, and longer text (a flood row) is
cut into segments of at most this much: FTS5's ``snippet()`` costs about the square of
a term's occurrences in one document (a word repeated through 64 KiB: 90 ms per hit;
through 8 KiB: 0.6 ms)."""
INDEX_STEP_CHARS = 512 * 1024
"""Source text one ``IndexOutput`` step reads at most (bounds its time on the writer)."""
PRUNE_STEP_EVENTS = 2000
"""Events one ``PruneSession`` step deletes at most."""

RANKED_MATCHES = 2000
"""At most this many matching output segments, the newest, are ranked for one search."""
HIGHLIGHT_START = "\x02"
HIGHLIGHT_END = "\x03"
"""Markers ``snippet()`` puts around matched terms; cleaned text never contains controls."""
SNIPPET_TOKENS = 16
_ELLIPSIS = "…"
_ACTIVE = tuple(sorted(ACTIVE_STATUSES))


class SourceEvent(msgspec.Struct, frozen=True):
    """One stored ``output`` event, as the indexer reads it."""

    seq: int
    session_id: str
    created_at: str
    data: str


class IndexProgress(msgspec.Struct, frozen=True):
    """After one step: the watermark, the segments written, whether more text waits."""

    indexed_seq: int
    segments: int
    more: bool


class SearchHit(msgspec.Struct, frozen=True):
    """One match: ``kind`` ``output`` (a segment) or ``title``; ``rank`` lower is better.

    ``snippet`` carries ``HIGHLIGHT_START``/``HIGHLIGHT_END`` around matched terms.
    ``seq``/``created_at`` are those of the segment's first event (the session's
    creation for a title); ``event_id`` is that event's id while it is stored.
    """

    kind: str
    session_id: str
    snippet: str
    rank: float
    seq: int | None
    event_id: str | None
    created_at: str


class PruneCandidate(msgspec.Struct, frozen=True):
    """A finished session's events older than the cutoff: up to ``max_seq``, ``events`` of
    them, the oldest created at ``oldest``."""

    session_id: str
    max_seq: int
    events: int
    oldest: str


def _data(payload_json: str) -> str:
    try:
        payload = json.loads(payload_json)
    except ValueError:
        return ""
    data = payload.get("data") if isinstance(payload, dict) else None
    return data if isinstance(data, str) else ""


def _newest_segment(conn: sqlite3.Connection, session_id: str) -> tuple[int, int, str, str] | None:
    """``(id, first_seq, created_at, text)`` of the session's newest segment."""
    row = conn.execute(
        "SELECT id, first_seq, created_at, text FROM output_segments"
        " WHERE session_id = ? ORDER BY last_seq DESC, id DESC LIMIT 1",
        (session_id,),
    ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]), str(row[2]), str(row[3]))


def write_segments(
    conn: sqlite3.Connection, events: Iterable[SourceEvent], clean: Clean, *, merge: bool = True
) -> int:
    """Index ``events`` (ascending seq) as segments per session; returns segments written.

    With ``merge``, a session's newest segment shorter than ``SEGMENT_CHARS`` is
    replaced by one that continues it.
    """
    runs: dict[str, list[SourceEvent]] = {}
    for event in events:
        runs.setdefault(event.session_id, []).append(event)
    written = 0
    for session_id, run in runs.items():
        prefix = ""
        first_seq, created_at = run[0].seq, run[0].created_at
        newest = _newest_segment(conn, session_id) if merge else None
        if newest is not None and len(newest[3]) < SEGMENT_CHARS:
            conn.execute("DELETE FROM output_segments WHERE id = ?", (newest[0],))
            first_seq, created_at, prefix = newest[1], newest[2], newest[3]
        pending: list[SourceEvent] = []
        size = len(prefix)
        for event in run:
            pending.append(event)
            size += len(event.data)
            if size >= SEGMENT_CHARS:
                written += _insert(conn, session_id, first_seq, created_at, prefix, pending, clean)
                prefix, pending, size = "", [], 0
                first_seq, created_at = -1, ""
        if pending or prefix:
            written += _insert(conn, session_id, first_seq, created_at, prefix, pending, clean)
    return written


def _insert(
    conn: sqlite3.Connection,
    session_id: str,
    first_seq: int,
    created_at: str,
    prefix: str,
    events: Sequence[SourceEvent],
    clean: Clean,
) -> int:
    # The prefix (a segment's text, clean already) belongs to ``first_seq``; cleaning it
    # again is a no-op that lets redaction see a secret continuing across the join.
    parts: list[tuple[str, int, str]] = [(prefix, first_seq, created_at)] if prefix else []
    parts += [(e.data, e.seq, e.created_at) for e in events]
    rows = []
    for piece in _pieces(parts, SEGMENT_CHARS):
        text = clean("".join(part for part, _seq, _at in piece))
        if text.strip():
            rows.append((session_id, piece[0][1], piece[-1][1], piece[0][2], text))
    conn.executemany(
        "INSERT INTO output_segments (session_id, first_seq, last_seq, created_at, text)"
        " VALUES (?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)


Part = tuple[str, int, str]  # text, the seq of the event it comes from, that event's time


def _pieces(parts: Sequence[Part], size: int) -> Iterator[list[Part]]:
    """``parts`` regrouped into pieces of at most ``size`` characters each.

    A part that does not fit is cut after its last line end that fits (then after a
    space, then anywhere), so each piece names exactly the events its text comes
    from. Secrets never span lines, so cleaning pieces cut at line ends apart
    redacts what cleaning them together would.
    """
    group: list[Part] = []
    room = size
    for text, seq, at in parts:
        start = 0
        while len(text) - start > room:
            end = start + room
            cut = text.rfind("\n", start, end)
            if cut < 0 and group:  # keep this part's line whole: start a new piece
                yield group
                group, room = [], size
                continue
            if cut < 0:
                cut = text.rfind(" ", start + room // 2, end)
            end = cut + 1 if cut >= 0 else end
            group.append((text[start:end], seq, at))
            yield group
            group, room, start = [], size, end
        if start < len(text):
            group.append((text[start:], seq, at))
            room -= len(text) - start
    if group:
        yield group


def _read_output(
    conn: sqlite3.Connection, sql: str, params: Sequence[object], max_chars: int
) -> tuple[list[SourceEvent], bool]:
    """Output events from ``sql`` until ``max_chars`` of text; ``(events, stopped_early)``."""
    cursor = conn.execute(sql, params)
    events: list[SourceEvent] = []
    chars = 0
    for seq, session_id, payload_json, created_at in cursor:
        data = _data(payload_json)
        events.append(SourceEvent(int(seq), str(session_id), str(created_at), data))
        chars += len(data)
        if chars >= max_chars:
            cursor.close()
            return events, True
    return events, False


class IndexOutput(msgspec.Struct, Op[IndexProgress], frozen=True):
    """One bounded indexing step (see the module docstring); run it until ``more`` is false."""

    clean: Clean
    max_chars: int = INDEX_STEP_CHARS

    def apply(self, conn: sqlite3.Connection) -> IndexProgress:
        start = indexed_seq(conn)
        events, more = _read_output(
            conn,
            "SELECT seq, session_id, payload_json, created_at FROM events"
            " WHERE seq > ? AND kind = ? ORDER BY seq",
            (start, EventKind.OUTPUT),
            self.max_chars,
        )
        if not events:
            return IndexProgress(start, 0, False)
        written = write_segments(conn, events, self.clean)
        through = events[-1].seq
        conn.execute("UPDATE search_state SET indexed_seq = ? WHERE id = 1", (through,))
        return IndexProgress(through, written, more)


def indexed_seq(conn: sqlite3.Connection) -> int:
    """The watermark: every ``output`` event at or below it is indexed."""
    row = conn.execute("SELECT indexed_seq FROM search_state WHERE id = 1").fetchone()
    return 0 if row is None else int(row[0])


def unindexed_output(conn: sqlite3.Connection, after_seq: int) -> bool:
    """Whether an ``output`` event after ``after_seq`` exists (cheap: stops at the first)."""
    row = conn.execute(
        "SELECT 1 FROM events WHERE seq > ? AND kind = ? LIMIT 1", (after_seq, EventKind.OUTPUT)
    ).fetchone()
    return row is not None


def fts_query(text: str) -> str:
    """The user's words as an FTS5 query: every word must match, as a quoted phrase.

    Punctuation and FTS5 syntax in the words are taken literally; a trailing ``*``
    keeps its prefix meaning (``deploy*``). Empty for a blank ``text``. A NUL separates
    words (SQLite would end the query string at it; indexed text holds no controls).
    """
    terms: list[str] = []
    for word in text.replace("\x00", " ").split():
        prefix = word.endswith("*") and len(word) > 1
        core = word[:-1] if prefix else word
        terms.append('"' + core.replace('"', '""') + '"' + ("*" if prefix else ""))
    return " ".join(terms)


def search(conn: sqlite3.Connection, query: str, limit: int) -> list[SearchHit]:
    """The best ``limit`` hits for an ``fts_query`` over output segments and titles."""
    marks = (HIGHLIGHT_START, HIGHLIGHT_END, _ELLIPSIS, SNIPPET_TOKENS)
    # Rank first, then make snippets for the best ``limit`` only, in a second statement: a
    # snippet re-reads its segment, and bm25() in the snippets' statement cost ~100 ms
    # even for 20 rows of a large store. A word found all over the store is ranked among
    # its newest ``RANKED_MATCHES`` segments, so ranking stays bounded as the store grows.
    ranked = conn.execute(
        "SELECT rowid, bm25(output_index) FROM output_index WHERE output_index MATCH ?"
        " ORDER BY rowid DESC LIMIT ?",
        (query, RANKED_MATCHES),
    ).fetchall()
    best = dict(sorted(ranked, key=lambda row: (row[1], -row[0]))[:limit])
    output = []
    if best:
        marks_in = ", ".join("?" for _ in best)
        output = conn.execute(
            "SELECT output_index.rowid, s.session_id, snippet(output_index, 0, ?, ?, ?, ?),"
            " s.first_seq, e.id, s.created_at"
            " FROM output_index JOIN output_segments s ON s.id = output_index.rowid"
            " LEFT JOIN events e ON e.seq = s.first_seq"
            f" WHERE output_index MATCH ? AND output_index.rowid IN ({marks_in})",
            (*marks, query, *best),
        ).fetchall()
    titles = conn.execute(
        "SELECT t.session_id, snippet(title_index, 1, ?, ?, ?, ?), bm25(title_index),"
        " s.created_at"
        " FROM title_index t JOIN sessions s ON s.id = t.session_id"
        " WHERE title_index MATCH ? ORDER BY bm25(title_index) LIMIT ?",
        (*marks, query, limit),
    ).fetchall()
    hits = [
        SearchHit(EventKind.OUTPUT, str(sid), str(snip), float(best[rowid]), int(seq), eid, str(at))
        for rowid, sid, snip, seq, eid, at in output
    ] + [
        SearchHit("title", str(sid), str(snip), float(rank), None, None, str(at))
        for sid, snip, rank, at in titles
    ]
    hits.sort(key=lambda hit: (hit.rank, hit.created_at))
    return hits[:limit]


# -- pruning -----------------------------------------------------------------------------


def prune_candidates(conn: sqlite3.Connection, cutoff: str) -> list[PruneCandidate]:
    """Finished sessions with events created before ``cutoff``, the one holding the oldest
    such event first (one scan; for the reader)."""
    rows = conn.execute(
        "SELECT e.session_id, MAX(e.seq), COUNT(*), MIN(e.created_at) FROM events e"
        " JOIN sessions s ON s.id = e.session_id"
        f" WHERE e.created_at < ? AND s.status NOT IN ({', '.join('?' for _ in _ACTIVE)})"
        " GROUP BY e.session_id ORDER BY MIN(e.created_at), e.session_id",
        (cutoff, *_ACTIVE),
    ).fetchall()
    return [
        PruneCandidate(str(sid), int(top), int(count), str(oldest))
        for sid, top, count, oldest in rows
    ]


def first_event_at(conn: sqlite3.Connection) -> str | None:
    """``created_at`` of the store's first event by ``seq`` (None: no events).

    Events are appended in time order, so while this is newer than a cutoff nothing
    is older: one row read, however large the store (finding old events by
    ``created_at`` scans the whole table, which has no index on it).
    """
    row = conn.execute("SELECT created_at FROM events ORDER BY seq LIMIT 1").fetchone()
    return None if row is None else str(row[0])


class PruneSession(msgspec.Struct, Op[int], frozen=True):
    """Delete up to ``limit`` of one finished session's events older than ``cutoff``
    with ``seq <= max_seq``, in the order written; returns how many (0: done, or the session is
    live again or gone — nothing of a live session is ever deleted).

    Segments holding text of a deleted event go too; the surviving events they also
    held (already indexed) are indexed again.
    """

    session_id: str
    max_seq: int
    cutoff: str
    clean: Clean
    limit: int = PRUNE_STEP_EVENTS

    def apply(self, conn: sqlite3.Connection) -> int:
        status = conn.execute(
            "SELECT status FROM sessions WHERE id = ?", (self.session_id,)
        ).fetchone()
        if status is None or status[0] in ACTIVE_STATUSES:
            return 0
        seqs = [
            int(row[0])
            for row in conn.execute(
                "SELECT seq FROM events WHERE session_id = ? AND seq <= ? AND created_at < ?"
                " ORDER BY seq LIMIT ?",
                (self.session_id, self.max_seq, self.cutoff, self.limit),
            )
        ]
        if not seqs:
            return 0
        conn.executemany("DELETE FROM events WHERE seq = ?", [(seq,) for seq in seqs])
        self._drop_segments(conn, seqs[-1])
        return len(seqs)

    def _drop_segments(self, conn: sqlite3.Connection, through: int) -> None:
        row = conn.execute(
            "SELECT MAX(last_seq) FROM output_segments WHERE session_id = ? AND first_seq <= ?",
            (self.session_id, through),
        ).fetchone()
        if row is None or row[0] is None:
            return
        covered = int(row[0])
        conn.execute(
            "DELETE FROM output_segments WHERE session_id = ? AND first_seq <= ?",
            (self.session_id, through),
        )
        # Survivors a deleted segment also held: index them again (they stay searchable).
        survivors, _ = _read_output(
            conn,
            "SELECT seq, session_id, payload_json, created_at FROM events"
            " WHERE session_id = ? AND kind = ? AND seq > ? AND seq <= ? ORDER BY seq",
            (self.session_id, EventKind.OUTPUT, through, covered),
            1 << 62,
        )
        if survivors:
            write_segments(conn, survivors, self.clean, merge=False)
