"""Detach keys: parsing a docker-style spec and spotting the keys in terminal input.

A spec is one key or a comma-separated sequence of keys, e.g. ``ctrl-]`` (the
default) or ``ctrl-p,ctrl-q``. A key is ``ctrl-<c>`` where ``<c>`` is a letter
or one of ``@ \\ ] ^ _``, or a single letter on its own. ``ctrl-[`` is refused:
it is Escape, which starts every arrow and function key.

A terminal can send the same key in three encodings, and ``DetachMatcher``
recognises all of them: the legacy control byte (Ctrl-] is ``0x1d``), the
kitty keyboard protocol / xterm ``formatOtherKeys=1`` form ``CSI 93;5u``
(used once an agent such as Codex turns the protocol on), and xterm's
modifyOtherKeys form ``CSI 27;5;93~``. Kitty key-release events between the
keys of a sequence do not break it. Input that starts like the sequence but
does not complete it is forwarded intact once it is clear it does not match.
"""

from __future__ import annotations

import re

DEFAULT_SPEC = "ctrl-]"
ENV_VAR = "COVEN_DETACH_KEYS"

_CTRL_SYMBOLS = "@\\]^_"
# The base key a kitty terminal reports for Ctrl-<symbol> when the symbol needs Shift
# on a US layout (Ctrl-^ is Ctrl-Shift-6), besides the symbol itself.
_SHIFTED_BASE = {"@": "2", "^": "6", "_": "-"}
_CTRL = 4
_SHIFT = 1
_LOCKS = 64 | 128  # Caps Lock and Num Lock never change which key was meant

# CSI <number>[:<number>...] [; <number>[:<number>] [; ...]] <final>: a key report.
_CSI_KEY = re.compile(rb"\x1b\[([0-9:;]*)([u~])")
# A CSI key report cut off by the end of a read: held until the rest arrives.
_CSI_PARTIAL = re.compile(rb"\x1b\[[0-9][0-9:;]*\Z")


class DetachKeysError(ValueError):
    """The spec is not valid; the message says why and shows a valid example."""


class Key:
    """One key of a detach sequence: ``char`` (a letter or symbol) with or without Ctrl.

    A plain class, not a dataclass: ``coven attach`` parses the keys before its first
    screen, and importing dataclasses would cost that screen 18 ms.
    """

    __slots__ = ("char", "ctrl")

    def __init__(self, char: str, ctrl: bool) -> None:
        self.char = char
        self.ctrl = ctrl

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Key) and (self.char, self.ctrl) == (other.char, other.ctrl)

    def __hash__(self) -> int:
        return hash((self.char, self.ctrl))

    def __repr__(self) -> str:
        return f"Key(char={self.char!r}, ctrl={self.ctrl!r})"

    @property
    def legacy(self) -> int:
        """The byte a terminal sends for this key without any keyboard protocol."""
        if self.ctrl:
            return ord(self.char.upper()) & 0x1F
        return ord(self.char)

    def label(self) -> str:
        return f"Ctrl-{self.char.upper()}" if self.ctrl else self.char

    def matches_report(self, codes: list[int], modifiers: int) -> bool:
        """Does a CSI key report (``codes``: key, shifted, base; ``modifiers``: 1 + bits) mean this key?"""
        bits = (modifiers - 1) & ~_LOCKS
        if self.ctrl:
            if bits == _CTRL and ord(self.char.lower()) in codes[:2]:
                return True
            shifted = _SHIFTED_BASE.get(self.char)
            if shifted is not None and bits == _CTRL | _SHIFT and codes[:1] == [ord(shifted)]:
                return True
            return self.char == "@" and bits == _CTRL and codes[:1] == [ord(" ")]
        if bits == 0:
            return codes[:1] == [ord(self.char)]
        # An upper-case letter with "report all keys": the base key with Shift.
        return self.char.isupper() and bits == _SHIFT and codes[:1] == [ord(self.char.lower())]


def parse_detach_keys(spec: str) -> tuple[Key, ...]:
    """The keys of ``spec`` in order; ``DetachKeysError`` names the bad part."""
    example = "e.g. ctrl-] or ctrl-p,ctrl-q"
    if not spec.strip():
        raise DetachKeysError(f"detach keys must not be empty; {example}")
    keys: list[Key] = []
    for part in spec.split(","):
        item = part.strip()
        lowered = item.lower()
        if lowered.startswith("ctrl-") and len(item) == 6:
            char = item[5]
            if char == "[":
                raise DetachKeysError(
                    f"invalid detach key `{item}`: Ctrl-[ is Escape, which starts every "
                    f"arrow and function key; choose another, {example}"
                )
            if char.isascii() and (char.isalpha() or char in _CTRL_SYMBOLS):
                keys.append(Key(char.lower() if char.isalpha() else char, ctrl=True))
                continue
        elif len(item) == 1 and item.isascii() and item.isalpha():
            keys.append(Key(item, ctrl=False))
            continue
        raise DetachKeysError(
            f"invalid detach key `{item}`: use ctrl-<letter>, ctrl-@, ctrl-\\, ctrl-], "
            f"ctrl-^, ctrl-_ or a single letter, separated by commas; {example}"
        )
    return tuple(keys)


def describe(keys: tuple[Key, ...]) -> str:
    """``Ctrl-]`` or ``Ctrl-P Ctrl-Q``: how the hint lines name the keys."""
    return " ".join(key.label() for key in keys)


def _report(token: bytes) -> tuple[list[int], int, int] | None:
    """(codes, modifiers, event type) of a CSI-u or modifyOtherKeys report, else None."""
    match = _CSI_KEY.fullmatch(token)
    if match is None:
        return None
    try:
        fields = [[int(n) if n else 0 for n in f.split(b":")] for f in match.group(1).split(b";")]
    except ValueError:
        return None
    if match.group(2) == b"~":
        # modifyOtherKeys: CSI 27 ; modifiers ; code ~
        if len(fields) != 3 or fields[0] != [27]:
            return None
        return [fields[2][0]], fields[1][0], 1
    codes = fields[0]
    modifiers = fields[1][0] if len(fields) > 1 and fields[1][0] else 1
    event = fields[1][1] if len(fields) > 1 and len(fields[1]) > 1 else 1
    return codes, modifiers, event


class DetachMatcher:
    """Splits terminal input into bytes to forward and "the detach keys were pressed".

    ``feed`` answers ``(forward, detached)``. Once ``detached`` is true the bytes
    after the keys are dropped (the attachment is ending). Bytes that may be the
    start of the sequence are held back until the next ``feed`` shows whether
    they are; ``pending`` is what is held.
    """

    def __init__(self, keys: tuple[Key, ...]) -> None:
        if not keys:
            raise ValueError("at least one detach key is needed")
        self.keys = keys
        self._held = b""  # bytes of the keys matched so far (and release events between them)
        self._matched = 0
        self._partial = b""  # an escape sequence cut off by the end of the last read
        self._first = bytes([keys[0].legacy])

    @property
    def pending(self) -> bytes:
        return self._held + self._partial

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        buf = self._partial + data
        self._partial = b""
        if not self._matched and self._first not in buf and b"\x1b" not in buf:
            return buf, False  # the common case: ordinary typing
        out = bytearray()
        i = 0
        while i < len(buf):
            token, complete = self._token(buf, i)
            if not complete:
                self._partial = token
                break
            i += len(token)
            if self._step(token, out):
                return bytes(out), True
        return bytes(out), False

    def feed_partial_end(self) -> tuple[bytes, bool]:
        """Nothing completed a cut-off escape sequence: take its bytes as typed, one by one."""
        buf, self._partial = self._partial, b""
        out = bytearray()
        for i in range(len(buf)):
            if self._step(buf[i : i + 1], out):
                return bytes(out), True
        return bytes(out), False

    def _token(self, buf: bytes, i: int) -> tuple[bytes, bool]:
        if buf[i] != 0x1B:
            return buf[i : i + 1], True
        match = _CSI_KEY.match(buf, i)
        if match is not None:
            return match.group(0), True
        if _CSI_PARTIAL.match(buf, i):
            return buf[i:], False  # "ESC [ 9 3 ;" at the end of a read: wait for the rest
        return buf[i : i + 1], True

    def _step(self, token: bytes, out: bytearray) -> bool:
        """Advance the match by one token; True when the whole sequence has been typed."""
        if self._is_key(token, self.keys[self._matched]):
            self._held += token
            self._matched += 1
            if self._matched == len(self.keys):
                self._held = b""
                self._matched = 0
                return True
            return False
        if self._matched and self._is_release(token):
            self._held += token
            return False
        if self._matched:
            out += self._held
            self._held = b""
            self._matched = 0
            return self._step(token, out)
        out += token
        return False

    @staticmethod
    def _is_key(token: bytes, key: Key) -> bool:
        if len(token) == 1:
            return token[0] == key.legacy
        report = _report(token)
        if report is None:
            return False
        codes, modifiers, event = report
        return event in (1, 2) and key.matches_report(codes, modifiers)

    @staticmethod
    def _is_release(token: bytes) -> bool:
        report = _report(token)
        return report is not None and report[2] == 3
