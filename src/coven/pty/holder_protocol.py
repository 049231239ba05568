"""The wire protocol between the daemon and a session's holder process (version 1).

A holder (``coven.pty.holder``) owns one harness's PTY and serves one private Unix
stream socket. Everything on that socket is a *frame*::

    type: u8 | length: u32 (little endian, payload bytes) | payload

All integers are little endian. A payload longer than ``MAX_PAYLOAD`` is a protocol
error. ``offset`` is a position in the harness's output stream: byte 0 is the first
byte the holder read from the PTY, and offsets never restart.

Holder → daemon:

``HELLO`` (sent first on every accepted connection)
    ``magic "COVH" | version u16 | holder_pid u32 | holder_start u64 |
    harness_pid u32 | harness_start u64 | base u64 | end u64 |
    input_received u64 | input_written u64 | session_id (UTF-8, the rest)``.
    ``*_start`` are start times from ``/proc/<pid>/stat`` (field 22); ``base`` is the
    oldest offset the holder still keeps (everything below was acknowledged), ``end``
    the offset after the last byte it read.
``OUTPUT``
    ``offset u64 | bytes``. Frames on one connection are contiguous: each starts
    where the previous ended, the first at the ``RESUME`` offset.
``INPUT_DONE``
    ``input_written u64``: input bytes written to the PTY so far (all connections).
``EXIT``
    ``final u64 | kind u8 (0 code, 1 signal) | value i32``. Sent once the harness is
    reaped *and* its output has ended, after the ``OUTPUT`` frames up to ``final``.
``ERROR``
    ``code`` UTF-8 (``protocol_error``, ``resume_out_of_range``, ...); the holder
    closes the connection after it.

Daemon → holder (nothing but ``RESUME`` is required, in any order after it):

``RESUME``
    ``offset u64``: stream output from ``offset`` (``base <= offset <= end``).
    Implies ``ACK(offset)``. Exactly once per connection, before ``OUTPUT`` flows.
``ACK``
    ``offset u64``: everything below ``offset`` is committed in the store; the holder
    discards it. Never beyond what was sent on this connection.
``INPUT``
    bytes for the harness's terminal. A client keeps ``received - written`` (from
    ``HELLO`` and ``INPUT_DONE``) within ``INPUT_WINDOW``; the holder drops a
    connection that overruns ``INPUT_QUEUE_LIMIT``.
``RESIZE``
    ``rows u16 | cols u16``.
``SIGNAL``
    ``signo i32``: sent to the harness's process group and session.
``KILL``
    ``grace_ms u32``: SIGHUP, SIGTERM and SIGCONT to the session now, SIGKILL to
    whatever is left after the grace period.
``RELEASE``
    ``final u64``: the exit status and all output up to ``final`` are recorded; the
    holder removes its socket and exits. Refused before ``EXIT``.

Start-up, over the holder's stdin and stdout pipes (not the socket): the daemon writes
one ``SPEC`` frame (``rows u16 | cols u16 | argc u32 | envc u32``, then the working
directory, each argument, and each variable's name and value as ``u32`` length +
UTF-8 with surrogate escapes); the holder answers with ``READY`` (``holder_pid u32 |
holder_start u64 | harness_pid u32 | harness_start u64 | session_id``) or ``FAILED`` (JSON:
``code``, ``message``, ``details``) and closes the pipe.

A harness that reads a prompt on stdin (``coven.pty.spawn``'s ``stdin_data``) gets it
through two reserved entries of the ``SPEC`` environment, which the holder removes
before starting it: ``STDIN_VARIABLE`` (the bytes, UTF-8 with surrogate escapes) and
``STDIN_DIR_VARIABLE`` (the private directory for the prompt file). The harness's umask
travels the same way, in ``UMASK_VARIABLE`` (octal digits).

Through the fork server (``coven.pty.holder``'s ``--forkserver`` mode), over its stdin
and stdout pipes: it announces ``SERVING`` (``pid u32 | start u64``) once, then for
each ``START`` frame (``buffer u32``, the socket path and the session id as length +
UTF-8, then a ``SPEC`` payload) a new holder answers ``READY`` or ``FAILED`` as above
(or the fork server answers ``FAILED`` if it could not fork one).

Only the standard library is imported here: the holder process loads this module.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import NamedTuple

VERSION = 1
MAGIC = b"COVH"

# Frame types (ASCII letters, so a hex dump of the stream reads).
HELLO = ord("H")
OUTPUT = ord("O")
INPUT_DONE = ord("D")
EXIT = ord("X")
ERROR = ord("E")
RESUME = ord("R")
ACK = ord("A")
INPUT = ord("I")
RESIZE = ord("Z")
SIGNAL = ord("S")
KILL = ord("K")
RELEASE = ord("L")
SPEC = ord("P")
READY = ord("Y")
FAILED = ord("F")
SERVING = ord("W")
START = ord("T")

HEADER = struct.Struct("<BI")
OFFSET = struct.Struct("<Q")
HELLO_FIXED = struct.Struct("<4sHIQIQQQQQ")
EXIT_BODY = struct.Struct("<QBi")
WINDOW = struct.Struct("<HH")
SIGNO = struct.Struct("<i")
GRACE = struct.Struct("<I")
READY_BODY = struct.Struct("<IQIQ")
SERVING_BODY = struct.Struct("<IQ")
SPEC_FIXED = struct.Struct("<HHII")
_LENGTH = struct.Struct("<I")

MAX_PAYLOAD = 4 * 1024 * 1024
# Output bytes per OUTPUT frame the holder sends.
MAX_OUTPUT_FRAME = 1024 * 1024
# Input bytes a client may have sent that the holder has not yet written to the PTY.
INPUT_WINDOW = 1024 * 1024
INPUT_QUEUE_LIMIT = 2 * INPUT_WINDOW

STDIN_VARIABLE = "COVEN_HOLDER_STDIN"
STDIN_DIR_VARIABLE = "COVEN_HOLDER_STDIN_DIR"
UMASK_VARIABLE = "COVEN_HOLDER_UMASK"  # octal; the harness's umask (coven.pty.spawn)

EXIT_CODE = 0
EXIT_SIGNAL = 1


class ProtocolError(Exception):
    """The peer sent something this protocol does not allow; the connection is unusable."""


class Hello(NamedTuple):
    """The identity and stream state a holder announces on every connection."""

    version: int
    holder_pid: int
    holder_start: int
    harness_pid: int
    harness_start: int
    base: int
    end: int
    input_received: int
    input_written: int
    session_id: str


class Ready(NamedTuple):
    holder_pid: int
    holder_start: int
    harness_pid: int
    harness_start: int


class Spec(NamedTuple):
    """What the holder starts: as ``coven.pty.spawn`` takes it."""

    argv: list[str]
    env: dict[str, str]
    cwd: str
    rows: int
    cols: int


def frame(kind: int, payload: bytes = b"") -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def offset_frame(kind: int, offset: int) -> bytes:
    return HEADER.pack(kind, OFFSET.size) + OFFSET.pack(offset)


def encode_hello(hello: Hello) -> bytes:
    fixed = HELLO_FIXED.pack(MAGIC, *hello[:9])
    return frame(HELLO, fixed + hello.session_id.encode())


def decode_hello(payload: bytes) -> Hello:
    if len(payload) < HELLO_FIXED.size:
        raise ProtocolError("short HELLO")
    magic, *numbers = HELLO_FIXED.unpack_from(payload)
    if magic != MAGIC:
        raise ProtocolError("not a Coven holder")
    try:
        session_id = payload[HELLO_FIXED.size :].decode()
    except UnicodeDecodeError as exc:
        raise ProtocolError("session id is not UTF-8") from exc
    return Hello._make([*numbers, session_id])


def encode_exit(final: int, code: int | None, signo: int | None) -> bytes:
    if signo is not None:
        body = EXIT_BODY.pack(final, EXIT_SIGNAL, signo)
    else:
        body = EXIT_BODY.pack(final, EXIT_CODE, code if code is not None else 0)
    return frame(EXIT, body)


def decode_exit(payload: bytes) -> tuple[int, int | None, int | None]:
    """``(final, code, signal)`` with exactly one of ``code``/``signal`` set."""
    if len(payload) != EXIT_BODY.size:
        raise ProtocolError("bad EXIT")
    final, kind, value = EXIT_BODY.unpack(payload)
    if kind == EXIT_SIGNAL:
        return final, None, value
    if kind == EXIT_CODE:
        return final, value, None
    raise ProtocolError("bad EXIT kind")


def unpack_offset(payload: bytes) -> int:
    if len(payload) != OFFSET.size:
        raise ProtocolError("bad offset payload")
    value: int = OFFSET.unpack(payload)[0]
    return value


def _put(parts: list[bytes], text: str) -> None:
    data = text.encode("utf-8", "surrogateescape")
    parts.append(_LENGTH.pack(len(data)))
    parts.append(data)


def encode_spec(
    argv: Sequence[str], env: Mapping[str, str], cwd: str, rows: int, cols: int
) -> bytes:
    parts = [SPEC_FIXED.pack(rows, cols, len(argv), len(env))]
    _put(parts, cwd)
    for arg in argv:
        _put(parts, arg)
    for name, value in env.items():
        _put(parts, name)
        _put(parts, value)
    return frame(SPEC, b"".join(parts))


def _take_texts(payload: bytes, pos: int, count: int) -> tuple[list[str], int]:
    texts: list[str] = []
    try:
        for _ in range(count):
            (size,) = _LENGTH.unpack_from(payload, pos)
            pos += _LENGTH.size
            if pos + size > len(payload):
                raise ProtocolError("truncated text")
            texts.append(payload[pos : pos + size].decode("utf-8", "surrogateescape"))
            pos += size
    except struct.error as exc:
        raise ProtocolError("truncated text") from exc
    return texts, pos


def decode_spec(payload: bytes) -> Spec:
    try:
        rows, cols, argc, envc = SPEC_FIXED.unpack_from(payload)
    except struct.error as exc:
        raise ProtocolError("truncated SPEC") from exc
    texts, pos = _take_texts(payload, SPEC_FIXED.size, 1 + argc + 2 * envc)
    if pos != len(payload):
        raise ProtocolError("trailing bytes in SPEC")
    names = texts[1 + argc :: 2]
    values = texts[2 + argc :: 2]
    return Spec(texts[1 : 1 + argc], dict(zip(names, values, strict=True)), texts[0], rows, cols)


def encode_start(spec_frame: bytes, socket_path: str, session_id: str, buffer: int) -> bytes:
    """A fork-server request: a holder for the ``SPEC`` frame ``spec_frame``."""
    parts = [_LENGTH.pack(buffer)]
    _put(parts, socket_path)
    _put(parts, session_id)
    parts.append(spec_frame[HEADER.size :])
    return frame(START, b"".join(parts))


def decode_start(payload: bytes) -> tuple[Spec, str, str, int]:
    """``(spec, socket_path, session_id, buffer)`` of a ``START`` payload."""
    try:
        (buffer,) = _LENGTH.unpack_from(payload)
    except struct.error as exc:
        raise ProtocolError("truncated START") from exc
    (socket_path, session_id), pos = _take_texts(payload, _LENGTH.size, 2)
    return decode_spec(payload[pos:]), socket_path, session_id, buffer


class FrameDecoder:
    """Splits a byte stream into ``(type, payload)`` frames; feed it whatever arrived."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a whole frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Every frame completed by ``data``, in order. Raises ``ProtocolError``."""
        buf = self._buf
        buf += data
        frames: list[tuple[int, bytes]] = []
        pos = 0
        size = len(buf)
        unpack = HEADER.unpack_from
        header = HEADER.size
        while size - pos >= header:
            kind, length = unpack(buf, pos)
            if length > MAX_PAYLOAD:
                raise ProtocolError(f"frame of {length} bytes is over the limit")
            stop = pos + header + length
            if stop > size:
                break
            frames.append((kind, bytes(buf[pos + header : stop])))
            pos = stop
        if pos:
            del buf[:pos]
        return frames
