"""RFC 6455 for a client, without I/O: the upgrade's text and frame headers.

Shared by the asyncio connection (``coven.client.websocket``) and ``coven attach``'s
first screen (``coven.cli.attach_prelude``), which reads it from a blocking socket
before asyncio is even imported. Standard library only, and cheap to import.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from enum import IntEnum

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE = 64 * 1024 * 1024  # a replay chunk is far smaller; a bound, not a size
MAX_HEAD = 64 * 1024  # the upgrade answer's status line and headers
MAX_REFUSAL_BODY = 1024 * 1024


class Opcode(IntEnum):
    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


CONTROL = frozenset({Opcode.CLOSE, Opcode.PING, Opcode.PONG})
_KNOWN = frozenset(Opcode)


class WebSocketError(Exception):
    """The server broke the protocol (or the upgrade); the connection is unusable."""


class UpgradeRefused(WebSocketError):
    """The server answered the upgrade with ``status`` (not 101) and ``body``."""

    def __init__(self, status: int, reason: str, body: bytes) -> None:
        super().__init__(f"HTTP {status} {reason}".strip())
        self.status = status
        self.reason = reason
        self.body = body


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` a server must answer to ``key`` (RFC 6455 §4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()


def upgrade_request(path: str, key: str, host: str = "coven") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode("latin-1")


def parse_upgrade_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    """``(status, reason, headers)`` of an HTTP/1.1 answer's head (lower-cased names)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise WebSocketError(f"not an HTTP answer to the upgrade: {lines[0][:200]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), parts[2] if len(parts) > 2 else "", headers


def new_key() -> str:
    """A fresh ``Sec-WebSocket-Key``: 16 random bytes, base64 (RFC 6455 §4.1)."""
    return base64.b64encode(os.urandom(16)).decode()


def upgrade_answer(head: bytes, key: str) -> tuple[int, str, dict[str, str]]:
    """``(status, reason, headers)`` of the answer to an upgrade sent with ``key``; a
    101 must also prove it read the key (``check_accepted``)."""
    status, reason, headers = parse_upgrade_head(head)
    if status == 101:
        check_accepted(headers, key)
    return status, reason, headers


def check_accepted(headers: dict[str, str], key: str) -> None:
    """A 101 answer must name the upgrade and prove it read our key; no extension."""
    if headers.get("upgrade", "").lower() != "websocket":
        raise WebSocketError("the server switched protocols, but not to websocket")
    if "upgrade" not in headers.get("connection", "").lower():
        raise WebSocketError("the upgrade answer lacks `Connection: Upgrade`")
    if headers.get("sec-websocket-accept") != accept_key(key):
        raise WebSocketError("the upgrade answer has the wrong Sec-WebSocket-Accept")
    if headers.get("sec-websocket-extensions"):
        raise WebSocketError("the server chose an extension that was not offered")


def encode_frame(opcode: Opcode, payload: bytes, mask: bytes, *, fin: bool = True) -> bytes:
    """A client frame: always masked with the 4-byte ``mask`` (RFC 6455 §5.3)."""
    size = len(payload)
    first = (0x80 if fin else 0) | opcode
    if size < 126:
        head = struct.pack("!BB", first, 0x80 | size)
    elif size < 1 << 16:
        head = struct.pack("!BBH", first, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, size)
    return head + mask + apply_mask(payload, mask)


def apply_mask(data: bytes, mask: bytes) -> bytes:
    """XOR ``data`` with the repeated 4-byte ``mask`` (its own inverse)."""
    if not data:
        return b""
    size = len(data)
    repeated = (mask * (size // 4 + 1))[:size]
    value = int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")
    return value.to_bytes(size, "big")


def frame_head(first: int, second: int) -> tuple[bool, Opcode, int]:
    """``(fin, opcode, length code)`` of a server frame's first two bytes, checked.

    The length code is the payload length below 126; 126 and 127 say a 2- or 8-byte
    length follows (``EXTENDED_LENGTH``). Raises ``WebSocketError`` for what RFC 6455
    forbids a server: reserved bits without an extension, unknown opcodes, masking,
    and control frames that are fragmented or longer than 125 bytes.
    """
    if first & 0x70:
        raise WebSocketError("a frame has reserved bits set (no extension was agreed)")
    if first & 0x0F not in _KNOWN:
        raise WebSocketError(f"a frame has the unknown opcode {first & 0x0F:#x}")
    opcode = Opcode(first & 0x0F)
    fin = bool(first & 0x80)
    if second & 0x80:
        raise WebSocketError("the server masked a frame (RFC 6455 forbids it)")
    size = second & 0x7F
    if opcode in CONTROL and (size > 125 or not fin):
        raise WebSocketError("a control frame is fragmented or longer than 125 bytes")
    return fin, opcode, size


EXTENDED_LENGTH = {126: struct.Struct("!H"), 127: struct.Struct("!Q")}


def check_length(size: int) -> int:
    if size > MAX_MESSAGE:
        raise WebSocketError(f"a frame of {size} bytes is over the {MAX_MESSAGE}-byte bound")
    return size
