"""The terminal modes an application has switched on, tracked from its output.

``ModeTracker`` follows the sequences that ``scan.Scanner`` finds (DECSET/DECRST, the
keypad modes, the kitty keyboard protocol's flag stacks, xterm's modifyOtherKeys, the
scroll region, RIS)
and yields ``TerminalModes``, an immutable record. It follows libghostty-vt's semantics
(the emulator behind the screen model), so the tracked record equals the emulator's own
state whenever the emulator has read the same bytes; the screen model relies on that to
restore modes after skipping output (see ``coven.screen``).
"""

from __future__ import annotations

import msgspec

# DEC private modes followed, with their power-on values. Everything else is left to the
# emulator alone (and is therefore lost, not wrong, when output is skipped) -- origin mode
# (DECOM) too: restoring the cursor (DECRC, leaving the alternate screen) restores it,
# which only the emulator follows.
CURSOR_KEYS = 1  # DECCKM: cursor keys send application sequences
AUTOWRAP = 7  # DECAWM
CURSOR_VISIBLE = 25  # DECTCEM
KEYPAD = 66  # DECNKM, also set by DECKPAM (ESC =) and reset by DECKPNM (ESC >)
FOCUS_EVENTS = 1004
BRACKETED_PASTE = 2004
MOUSE_TRACKING = (9, 1000, 1002, 1003)  # X10, normal, button-event, any-event
MOUSE_ENCODINGS = (1005, 1006, 1015, 1016)  # UTF-8, SGR, urxvt, SGR-pixels
ALT_SCREEN = (47, 1047, 1049)

TRACKED = frozenset(
    {CURSOR_KEYS, AUTOWRAP, CURSOR_VISIBLE, KEYPAD, FOCUS_EVENTS, BRACKETED_PASTE}
    | set(MOUSE_TRACKING)
    | set(MOUSE_ENCODINGS)
)
DEFAULT_ON = (AUTOWRAP, CURSOR_VISIBLE)

# The kitty keyboard protocol keeps a stack of flag sets per screen; libghostty-vt keeps
# it as a ring of eight entries (pushing a ninth evicts the oldest).
_KITTY_RING = 8


class TerminalModes(msgspec.Struct, frozen=True, kw_only=True):
    """The modes an application has switched on: what an attaching terminal must be told,
    and what a client must switch off again when it leaves (the CLI restores the user's
    terminal from this). Encodes with msgspec as a plain JSON object."""

    alt_screen: bool = False
    cursor_visible: bool = True
    cursor_keys_application: bool = False
    keypad_application: bool = False
    autowrap: bool = True
    # Mouse reporting modes that are on, in the order the application switched them on.
    mouse: tuple[int, ...] = ()
    mouse_encodings: tuple[int, ...] = ()
    focus_events: bool = False
    bracketed_paste: bool = False
    # Current kitty keyboard protocol flags of each screen (0 = protocol off).
    kitty_keyboard_main: int = 0
    kitty_keyboard_alt: int = 0
    # xterm modifyOtherKeys level (CSI > 4 ; n m), 0 = off.
    modify_other_keys: int = 0
    # DECSTBM: first and last row of the scroll region (1-based), None for the whole
    # screen.
    scroll_region: tuple[int, int] | None = None

    @property
    def kitty_keyboard(self) -> int:
        """Kitty keyboard flags of the screen in use."""
        return self.kitty_keyboard_alt if self.alt_screen else self.kitty_keyboard_main

    def dec_modes(self) -> tuple[int, ...]:
        """The followed DEC private modes that are set, in ``enable`` order."""
        simple = (
            (CURSOR_KEYS, self.cursor_keys_application),
            (KEYPAD, self.keypad_application),
            (AUTOWRAP, self.autowrap),
            (CURSOR_VISIBLE, self.cursor_visible),
            (FOCUS_EVENTS, self.focus_events),
            (BRACKETED_PASTE, self.bracketed_paste),
        )
        return tuple(n for n, on in simple if on) + self.mouse + self.mouse_encodings


DEFAULT_MODES = TerminalModes()


class _KittyStack:
    __slots__ = ("flags", "index")

    def __init__(self) -> None:
        self.flags = [0] * _KITTY_RING
        self.index = 0

    @property
    def current(self) -> int:
        return self.flags[self.index]

    def push(self, flags: int) -> None:
        self.index = (self.index + 1) % _KITTY_RING
        self.flags[self.index] = flags

    def pop(self, count: int) -> None:
        if count >= _KITTY_RING:
            self.flags = [0] * _KITTY_RING
            self.index = 0
            return
        for _ in range(count):
            self.flags[self.index] = 0
            self.index = (self.index - 1) % _KITTY_RING

    def set(self, flags: int, how: int) -> None:
        if how == 2:
            self.flags[self.index] |= flags
        elif how == 3:
            self.flags[self.index] &= ~flags
        else:
            self.flags[self.index] = flags


class ModeTracker:
    """Mutable mode state fed by the scanner in stream order; ``modes()`` is cached, so
    asking after every chunk costs nothing while nothing changes."""

    def __init__(self, rows: int = 24) -> None:
        self._rows = rows
        self._on: dict[int, None] = dict.fromkeys(DEFAULT_ON)  # insertion-ordered set
        self._alt = False
        self._kitty = (_KittyStack(), _KittyStack())
        self._modify_other_keys = 0
        self._region: tuple[int, int] | None = None
        self._cached: TerminalModes | None = DEFAULT_MODES

    def full_reset(self) -> None:
        """RIS: every followed mode back to its power-on value."""
        self._on = dict.fromkeys(DEFAULT_ON)
        self._alt = False
        self._kitty = (_KittyStack(), _KittyStack())
        self._modify_other_keys = 0
        self._region = None
        self._cached = DEFAULT_MODES

    def resize(self, rows: int) -> None:
        """The terminal was resized: the scroll region is the whole screen again."""
        self._rows = rows
        if self._region is not None:
            self._region = None
            self._cached = None

    def scroll_region(self, top: int, bottom: int) -> None:
        """DECSTBM with its raw parameters (0 = omitted), as libghostty-vt applies it:
        clamped to the screen, ignored unless top < bottom."""
        top = max(1, top)
        bottom = min(self._rows, bottom or self._rows)
        if top >= bottom:
            return
        self._region = None if (top, bottom) == (1, self._rows) else (top, bottom)
        self._cached = None

    def modes(self) -> TerminalModes:
        if self._cached is None:
            on = self._on
            self._cached = TerminalModes(
                alt_screen=self._alt,
                cursor_visible=CURSOR_VISIBLE in on,
                cursor_keys_application=CURSOR_KEYS in on,
                keypad_application=KEYPAD in on,
                autowrap=AUTOWRAP in on,
                mouse=tuple(n for n in on if n in MOUSE_TRACKING),
                mouse_encodings=tuple(n for n in on if n in MOUSE_ENCODINGS),
                focus_events=FOCUS_EVENTS in on,
                bracketed_paste=BRACKETED_PASTE in on,
                kitty_keyboard_main=self._kitty[0].current,
                kitty_keyboard_alt=self._kitty[1].current,
                modify_other_keys=self._modify_other_keys,
                scroll_region=self._region,
            )
        return self._cached

    def dec(self, numbers: list[int], enable: bool) -> None:
        """DECSET (``enable``) or DECRST of each mode number."""
        for number in numbers:
            if number in ALT_SCREEN:
                self._alt = enable
            elif number in TRACKED:
                # Re-inserting moves a mode to the end: mouse modes keep the order in
                # which the application switched them on.
                self._on.pop(number, None)
                if enable:
                    self._on[number] = None
            else:
                continue
            self._cached = None

    def keypad(self, application: bool) -> None:
        """DECKPAM (``ESC =``) / DECKPNM (``ESC >``)."""
        self.dec([KEYPAD], application)

    def _stack(self) -> _KittyStack:
        return self._kitty[1] if self._alt else self._kitty[0]

    def kitty_push(self, flags: int) -> None:
        self._stack().push(flags)
        self._cached = None

    def kitty_pop(self, count: int) -> None:
        self._stack().pop(count)
        self._cached = None

    def kitty_set(self, flags: int, how: int) -> None:
        self._stack().set(flags, how)
        self._cached = None

    def modify_other_keys(self, level: int) -> None:
        self._modify_other_keys = level
        self._cached = None


def _dec(numbers: tuple[int, ...] | list[int], enable: bool) -> bytes:
    final = "h" if enable else "l"
    return "".join(f"\x1b[?{n}{final}" for n in numbers).encode()


def enable_sequence(modes: TerminalModes) -> bytes:
    """Bytes that bring a terminal whose followed modes are at power-on values (and whose
    kitty stack is empty) to ``modes`` -- except the screen (``alt_screen``), which the
    snapshot orders around its drawing. Cursor visibility comes last."""
    out = bytearray()
    if modes.cursor_keys_application:
        out += _dec([CURSOR_KEYS], True)
    if modes.keypad_application:
        out += b"\x1b="
    out += _dec(modes.mouse, True)
    out += _dec(modes.mouse_encodings, True)
    if modes.focus_events:
        out += _dec([FOCUS_EVENTS], True)
    if modes.bracketed_paste:
        out += _dec([BRACKETED_PASTE], True)
    if modes.kitty_keyboard:
        out += f"\x1b[>{modes.kitty_keyboard}u".encode()
    if modes.modify_other_keys:
        out += f"\x1b[>4;{modes.modify_other_keys}m".encode()
    if not modes.autowrap:
        out += _dec([AUTOWRAP], False)
    if not modes.cursor_visible:
        out += _dec([CURSOR_VISIBLE], False)
    return bytes(out)


def transition_sequence(old: TerminalModes, new: TerminalModes) -> bytes:
    """Bytes that take an emulator from ``old`` to ``new`` without clearing anything:
    screens switch with mode 47 (no clear, no cursor save), kitty flags are set in place.
    Used to re-synchronise the emulator after output was skipped."""
    out = bytearray()
    alt = old.alt_screen
    for screen_alt, before, after in (
        (False, old.kitty_keyboard_main, new.kitty_keyboard_main),
        (True, old.kitty_keyboard_alt, new.kitty_keyboard_alt),
    ):
        if before != after:
            if alt != screen_alt:
                out += _dec([47], screen_alt)
                alt = screen_alt
            out += f"\x1b[={after};1u".encode()
    if alt != new.alt_screen:
        out += _dec([47], new.alt_screen)
    before_on, after_on = set(old.dec_modes()), set(new.dec_modes())
    out += _dec(sorted(before_on - after_on), False)
    # In ``new``'s order, so the last mouse mode switched on stays the last.
    out += _dec([n for n in new.dec_modes() if n not in before_on], True)
    if old.modify_other_keys != new.modify_other_keys:
        out += f"\x1b[>4;{new.modify_other_keys}m".encode()
    if old.scroll_region != new.scroll_region:
        top, bottom = new.scroll_region or ("", "")
        out += f"\x1b[{top};{bottom}r".encode()
    return bytes(out)
