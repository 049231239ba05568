"""The headless terminal model of a session: fed its output, renders its screen.

A leaf layer (imports nothing from Coven): pure computation over bytes, no I/O beyond
loading the emulator library. The daemon keeps one ``ScreenModel`` per live session, like
tmux keeps a grid per pane, so that attaching shows the current screen instead of
replaying the whole history, and so that text can be read off full-screen agents.

API
---
``ScreenModel(cols, rows, history=1000, backlog_limit=2 MiB)``

* ``feed(data)`` -- the session's output, in order, in chunks of any size (UTF-8
  characters and escape sequences may be split across chunks). Cheap; see *Cost*.
* ``resize(cols, rows)`` -- the PTY was resized at this point of the output.
* ``snapshot(history=None) -> ScreenSnapshot`` -- bytes that make a terminal of the same
  size show the current screen: reset of the modes followed here and clear; the last
  ``history`` scrollback lines (main screen only; they scroll into the terminal's own
  scrollback); every cell with its SGR attributes and colours (16/256/truecolour, and
  background-only cells left by erasing with a colour); the alternate screen if the
  application is on it; tab stops; scroll region; origin mode; cursor position
  (including a pending wrap); the application's pen and character set; and the modes
  it switched on: application cursor keys and keypad, mouse reporting (9, 1000, 1002,
  1003) and encodings (1005, 1006, 1015, 1016), focus events, bracketed paste, the kitty
  keyboard protocol's flags (pushed, per screen), modifyOtherKeys, autowrap off, cursor
  hidden. The snapshot never contains a terminal query (DSR, DA, XTVERSION, DECRQM, OSC
  colour queries...): a terminal replaying it sends nothing back. With it come
  ``offset`` (output bytes it covers), ``modes``, ``cols``/``rows`` and ``exact``.
* ``text(ansi=False)`` -- the visible screen as ``rows`` lines, trailing blanks trimmed,
  like ``tmux capture-pane -p`` (``-e`` with ``ansi``): cursor-positioned output comes
  out as words and spaces, not ``78WelcometoClaudeCode``.
* ``modes() -> TerminalModes`` -- the modes above as a typed record, as of everything
  fed, without rendering (what a client must switch off to restore its terminal).
* ``catch_up()``, ``fed_bytes``, ``backlog_bytes``, ``skipped_bytes``, ``exact``,
  ``close()``.

Cost
----
The daemon drains a flooding session at ~85 MiB/s; an emulator that reads every byte as
it arrives caps that (libghostty-vt parses the mixed flood of ``bench/screen.py`` at
~65 MiB/s on an idle machine of this class, 11-25 MiB/s under a load average of 5-8;
pyte, the pure-Python candidate, at 0.2 MiB/s). So the hot path never emulates:
``feed`` runs two Aho-Corasick passes over the chunk (Rust, ``scan.py``) for mode
changes, the scroll region and *reset points* (RIS, erase-display, cursor-home +
erase-below, alternate-screen entry), then appends the chunk to the *backlog*: 0.5-1.4 GB/s for 256 KiB chunks (the
PTY reader's flood hand-over), 0.17-0.7 GB/s for 4 KiB ones, ~2.5 us fixed per call
(ranges: load average 8 to 4). The emulator reads the backlog only when a screen is
asked for (``snapshot``/``text``) or ``catch_up`` is called. The backlog holds at most
``backlog_limit`` bytes (plus one piece of at most 256 KiB): past it, the model skips to
the latest reset point if the output after it fits, else drops the oldest pieces. Time
to a screen is therefore bounded by emulating at most ``backlog_limit`` bytes plus
rendering, whatever the history's size -- flat from 1 to 512 MiB: 30-80 ms at 200x50
with 1,000 lines of history under a load average of 5, 75-150 ms under 8. Memory: the
backlog (shared references to the fed chunks) until the first render; then the
emulator, ~40-60 KiB idle at 80x24 to 120x40 plus up to ``history`` x cols x 16 bytes of
scrollback.

Exactness
---------
While nothing has been skipped, the model is the emulator having read every byte: the
screen is what libghostty-vt (Ghostty's terminal core) shows for that output. Output is
skipped only when more than ``backlog_limit`` bytes arrive between two renders. Then:

* modes stay exact -- the tracked modes and the scroll region are followed on every
  byte by the pre-scan and re-applied to the emulator where the kept output starts;
* skipped to a RIS: exact again (RIS resets everything, scrollback included);
* skipped to another reset point: the visible screen is exact from there on, except
  for state older than the wipe: cursor position until the application first moves it,
  the SGR pen (and so the colour erases paint with) until it first sets it, character
  sets, origin mode, tab stops, saved cursor, and the main screen under an alternate
  screen (shown as of the emulator's last read);
* no reset point: the kept tail (at least ``backlog_limit`` bytes) is applied on top of
  the emulator's previous state, so cells the tail does not rewrite may be stale, and
  so may the state listed above; a scrolling flood rewrites the whole screen and
  history well within 2 MiB.

``exact`` (on the model and each snapshot) is False once output after the last RIS was
skipped. The daemon keeps the gap rare by calling ``catch_up`` off the event loop when a
session's output pauses.

Not reproduced by a snapshot: OSC 8 hyperlinks on cells, window title, palette and
default-colour changes (OSC 4/10/11), cursor shape (DECSCUSR), soft-wrap marks (a long
line is redrawn row by row), images (kitty graphics, sixel), double-size lines, modes
not listed above (alternate scroll 1007, whose power-on value differs between terminals;
grapheme clustering 2027; synchronized output 2026, as a snapshot is one whole frame),
and DECSTR (soft reset; libghostty-vt ignores it too). Character
widths follow libghostty-vt's Unicode tables; a terminal with other tables may differ on
emoji and other ambiguous-width characters.

The emulator
------------
libghostty-vt (Ghostty's production VT core, Zig): complete DEC private mode table
including mouse, focus, bracketed paste and the kitty keyboard protocol; alternate
screens 47/1047/1049; wide characters and grapheme clusters; reflow on resize. It ships
compiled in the ``pyghostty`` wheels (Linux x86-64/aarch64 glibc, macOS 13+; no musl,
no sdist) and is bound here with ctypes (``abi.py``, ``native.py``): it loads in a
millisecond, where pyghostty's own cffi binding parses its declarations for 0.2 s, and
releases the GIL while it parses. Cells are read raw and encoded by ``render.py``; the library's formatter only
provides tab stops, scroll region and the cursor's pen (it prints gaps between
cursor-positioned words in the previous word's colours and drops background-only
cells). Rejected: pyte (pure Python, 0.2 MiB/s, no alternate screen: ``CSI ? 1049 h``
draws over the main screen), pyavt (asciinema's avt: fast, but its binding exposes no
mouse, paste, focus or kitty state and its own dump uses 8-bit C1 controls),
par-term-emu-core-rust (requires Python 3.12).

Wiring (done in ``runtime.output``/``runtime.attach``)
------------------------------------------------------
* On launch: ``ScreenModel(cols, rows)`` with the PTY size; on every PTY resize,
  ``resize``. Feed every output chunk, in order, from wherever the output is handed
  over (the PTY reader hand-over), before or after redaction -- whichever the attach
  stream carries, so snapshot and live output agree.
* Map ``snapshot().offset`` to the event stream: the snapshot covers the first
  ``offset`` output bytes; the attach stream continues with the output after that byte
  (stitch by the byte offset each output event ends at, like ``seq``).
* Render (``snapshot``/``text``/``catch_up``) on a worker thread, never on the event
  loop: a render may emulate up to ``backlog_limit`` bytes (30-150 ms for 2 MiB). Call
  ``catch_up`` when a session's output pauses (~1 s), so renders are cheap and memory
  is the emulator's own instead of a backlog of up to 2 MiB.
* ``text()`` is what ``coven screen`` prints and what attention detectors read;
  ``modes()`` is what a client must switch off when it leaves (the attach stream can
  send it along with the snapshot).
* ``close`` when the session ends and its screen is no longer needed.
"""

from .model import ScreenModel, ScreenSnapshot
from .modes import TerminalModes

__all__ = ["ScreenModel", "ScreenSnapshot", "TerminalModes"]
