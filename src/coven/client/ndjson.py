"""Incremental decoding of the follow stream (``application/x-ndjson`` of EventRecords)."""

from __future__ import annotations

import msgspec

from coven.client.errors import ProtocolError
from coven.schema.wire import EventRecord

_decoder = msgspec.json.Decoder(EventRecord)


class NdjsonEvents:
    """Feed raw chunks in any split; get whole ``EventRecord``s out.

    A record split across chunks is held until its newline arrives. Blank lines
    (keep-alives) are skipped. ``finish()`` raises ``ProtocolError`` if the
    stream ended inside a record.
    """

    def __init__(self) -> None:
        self._pending = bytearray()

    def feed(self, chunk: bytes) -> list[EventRecord]:
        self._pending += chunk
        if b"\n" not in chunk:
            return []
        *lines, rest = bytes(self._pending).split(b"\n")
        self._pending = bytearray(rest)
        return [self._decode(line) for line in lines if line.strip()]

    def finish(self) -> None:
        if self._pending.strip():
            raise ProtocolError(
                f"follow stream ended inside a record: {bytes(self._pending[:200])!r}"
            )

    @staticmethod
    def _decode(line: bytes) -> EventRecord:
        try:
            return _decoder.decode(line)
        except msgspec.DecodeError as exc:
            raise ProtocolError(f"bad record in follow stream: {exc}: {line[:200]!r}") from exc
