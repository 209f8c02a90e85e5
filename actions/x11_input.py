"""Input injection on one X display: pyautogui (XTEST) for pointer and keys, xdotool for text.

pyautogui opens its X connection from $DISPLAY when first imported and keeps it in a module
global, so it would drive whatever display was current at import time. We import it with DISPLAY
pointing at our display and then point its connection (`pyautogui._pyautogui_x11._display`) at
this object's own Xlib connection before every call: several displays in one process then work.
Settings, deliberately: PAUSE = 0 (we wait for the screen to settle instead of sleeping 100 ms per
call) and FAILSAFE = False (corners are legitimate click targets; the KillSwitch stops the agent).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any, Literal

from actions.errors import EnvironmentUnavailable
from actions.keys import is_modifier, key_names
from actions.processes import display_env
from actions.types import MouseButton
from actions.xtools import require_tool

log = logging.getLogger(__name__)

TypingMethod = Literal["auto", "xdotool", "clipboard"]
"""auto: ASCII runs with `xdotool type`; every other run as key presses on spare keycodes that are
all mapped to the run's characters BEFORE the first press and unmapped only after the app had time
to read them (works in xterm, GTK, Qt, Tk and Chromium alike). `xdotool type` remaps one scratch
keycode per character while typing, and Tk reads some events after the next remap (seen: 'Привет'
-> 'Пр'); the clipboard's ctrl+v is not paste in xterm (seen: 'café' -> 'caf')."""

# Clients re-read the keymap when they see MappingNotify: give them this long before the first
# press and after the last one before the keycodes are unmapped again.
MAPPING_SETTLE_S = 0.1


def _longest_spare_block(spare: list[bool]) -> tuple[int, int] | None:
    """(offset, length) of the longest run of True in `spare`, or None when there is none."""
    best: tuple[int, int] | None = None
    run_start = None
    for i, free in enumerate([*spare, False]):
        if free and run_start is None:
            run_start = i
        elif not free and run_start is not None:
            if best is None or i - run_start > best[1]:
                best = (run_start, i - run_start)
            run_start = None
    return best


def _keysym(char: str) -> int:
    """The X keysym of a character: Latin-1 keysyms are the code points, the rest are 0x01000000 + U."""
    code = ord(char)
    return code if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF else 0x01000000 | code


def _import_pyautogui(display: str) -> Any:
    """Import pyautogui with DISPLAY set to `display` for the import only (it reads it then)."""
    if "pyautogui" not in sys.modules:
        try:
            with display_env(display):
                import pyautogui  # noqa: F401  (import for its side effect of binding a display)
        except Exception as exc:  # pyautogui raises a zoo of errors for a bad display
            raise EnvironmentUnavailable(
                f"pyautogui could not open display {display}: {exc}; check that the X server runs"
            ) from exc
    module: Any = sys.modules["pyautogui"]
    return module


def _runs(line: str, typing: TypingMethod) -> list[str]:
    """Split a line into maximal ASCII / non-ASCII runs (auto), or keep it whole."""
    if typing != "auto":
        return [line] if line else []
    runs: list[str] = []
    for char in line:
        if runs and runs[-1][-1].isascii() == char.isascii():
            runs[-1] += char
        else:
            runs.append(char)
    return runs


class X11Input:
    """Pointer, keys and text for one display; all points are X root-window pixels."""

    def __init__(self, display: str, typing: TypingMethod = "auto", type_delay_ms: int = 8) -> None:
        from Xlib.display import Display

        self.display = display
        self.typing = typing
        self.type_delay_ms = type_delay_ms
        self._env = {**os.environ, "DISPLAY": display}
        self._xlib: Any = Display(display)
        self._xdotool = require_tool("xdotool")

    def _pg(self) -> Any:
        pg = _import_pyautogui(self.display)
        pg.PAUSE = 0.0
        pg.FAILSAFE = False
        pg._pyautogui_x11._display = self._xlib
        return pg

    def close(self) -> None:
        self._xlib.close()

    # -- pointer -----------------------------------------------------------------------------
    def move(self, x: int, y: int) -> None:
        self._pg().moveTo(x, y)

    def position(self) -> tuple[int, int]:
        pointer = self._xlib.screen().root.query_pointer()
        return int(pointer.root_x), int(pointer.root_y)

    def click(self, x: int, y: int, button: MouseButton = "left", count: int = 1) -> None:
        # 40 ms between the clicks of a double or triple click, as a fast hand: well inside any
        # toolkit's double-click time (Tk: 500 ms), and each press is its own event to the app and
        # the window manager (presses fired back to back were seen to lose the third of a triple).
        self._pg().click(x, y, clicks=count, interval=0.04 if count > 1 else 0.0, button=button)

    def drag(self, start: tuple[int, int] | None, end: tuple[int, int], steps: int = 12) -> None:
        """Press at `start` (the pointer when None), move in `steps` motions, release at `end`."""
        pg = self._pg()
        if start is not None:
            pg.moveTo(*start)
        sx, sy = self.position()
        pg.mouseDown(sx, sy, button="left")
        # Toolkits start a drag only after motion events with the button held; a few ms apart
        # so that they are not coalesced into one jump.
        for i in range(1, steps + 1):
            time.sleep(0.004)
            pg.moveTo(round(sx + (end[0] - sx) * i / steps), round(sy + (end[1] - sy) * i / steps))
        pg.mouseUp(end[0], end[1], button="left")

    def scroll(self, dx: int, dy: int, at: tuple[int, int] | None) -> None:
        """Wheel notches: dy > 0 up (X button 4), dx > 0 right (X button 7)."""
        pg = self._pg()
        if at is not None:
            pg.moveTo(*at)
        if dy:
            pg.scroll(dy)
        if dx:
            pg.hscroll(dx)

    # -- keyboard ----------------------------------------------------------------------------
    def hotkey(self, keys: tuple[str, ...]) -> None:
        """Press canonical keys in order and release them in reverse (one key: a plain press)."""
        pg = self._pg()
        names = [key_names(k).pyautogui for k in keys]
        if len(names) == 1 and not is_modifier(keys[0]):
            pg.press(names[0])
            return
        pg.hotkey(*names, interval=0.0)

    def type_text(self, text: str, after_paste: Callable[[], object] = lambda: None) -> None:
        """Type any Unicode text at the keyboard focus; newlines become Return presses.

        `after_paste` (clipboard method) waits until the app has pasted, e.g. a settle wait.
        """
        lines = text.split("\n")
        for index, line in enumerate(lines):
            for run in _runs(line, self.typing):
                if self.typing == "clipboard":
                    self._paste(run, after_paste)
                elif run.isascii() or self.typing == "xdotool":
                    self._xdotool_type(run)
                else:
                    self._type_on_spare_keycodes(run)
            if index < len(lines) - 1:
                self._pg().press("enter")

    def _xdotool_type(self, text: str) -> None:
        # Text goes through stdin, never argv: argv is readable by every user in /proc.
        done = subprocess.run(
            [self._xdotool, "type", "--clearmodifiers", "--delay", str(self.type_delay_ms),
             "--file", "-"],
            input=text.encode(), env=self._env, capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise EnvironmentUnavailable(f"xdotool type failed: {done.stderr.decode().strip()}")

    def _type_on_spare_keycodes(self, text: str) -> None:
        """Type `text` through XTEST on keycodes the keymap leaves unused, each mapped to one of the
        text's characters for the whole run (in chunks when there are more characters than spare
        keycodes); the keymap is restored afterwards. The spare keycodes are one contiguous block,
        changed in one request, so a client sees one MappingNotify and one consistent keymap."""
        from Xlib import X
        from Xlib.ext import xtest

        xlib = self._xlib
        first = xlib.display.info.min_keycode
        mapping = xlib.get_keyboard_mapping(first, xlib.display.info.max_keycode - first + 1)
        block = _longest_spare_block([not any(syms) for syms in mapping])
        if block is None:
            self._xdotool_type(text)  # a full keymap: fall back to xdotool's scratch keycode
            return
        start, size = block
        width = len(mapping[0])
        chars = list(text)
        while chars:
            distinct: dict[str, int] = {}
            take = 0
            for char in chars:
                if char not in distinct:
                    if len(distinct) == size:
                        break
                    distinct[char] = first + start + len(distinct)
                take += 1
            keysyms = [(_keysym(c),) * width for c in distinct]
            xlib.change_keyboard_mapping(first + start, keysyms)
            xlib.sync()
            time.sleep(MAPPING_SETTLE_S)
            try:
                for char in chars[:take]:
                    xtest.fake_input(xlib, X.KeyPress, distinct[char])
                    xtest.fake_input(xlib, X.KeyRelease, distinct[char])
                    xlib.sync()
                    time.sleep(self.type_delay_ms / 1000)
                time.sleep(MAPPING_SETTLE_S)
            finally:
                xlib.change_keyboard_mapping(first + start, [(0,) * width] * len(distinct))
                xlib.sync()
            chars = chars[take:]

    # -- clipboard ---------------------------------------------------------------------------
    def _xclip(self, *args: str, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        xclip = require_tool("xclip")
        return subprocess.run(
            [xclip, "-selection", "clipboard", *args],
            input=data, env=self._env, capture_output=True, timeout=10, check=False,
        )  # fmt: skip

    def read_clipboard(self) -> str | None:
        """The CLIPBOARD selection as UTF-8 text, or None when nobody owns it."""
        done = self._xclip("-o", "-t", "UTF8_STRING")
        return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else None

    def write_clipboard(self, text: str) -> None:
        # xclip forks a child that serves the selection until another client takes it over; that
        # child inherits stdout/stderr, so they must not be pipes we wait on.
        done = subprocess.run(
            [require_tool("xclip"), "-selection", "clipboard", "-i", "-t", "UTF8_STRING"],
            input=text.encode(), env=self._env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, timeout=10, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise EnvironmentUnavailable(f"xclip could not set the clipboard on {self.display}")

    def _clipboard_owner(self) -> int:
        atom = self._xlib.intern_atom("CLIPBOARD")
        owner = self._xlib.get_selection_owner(atom)
        return int(getattr(owner, "id", owner))  # a Window object, or X.NONE (0)

    def _paste(self, text: str, wait: Callable[[], object], timeout_s: float = 3.0) -> None:
        """Paste via the clipboard with ctrl+v, then put the user's clipboard back.

        xclip serves exactly one request (`-loops 1`) in the foreground: when it exits, the app
        has fetched the text, so restoring cannot race a slow app (a settle wait alone did).
        """
        saved = self.read_clipboard()
        before = self._clipboard_owner()
        server = subprocess.Popen(
            [require_tool("xclip"), "-selection", "clipboard", "-i", "-t", "UTF8_STRING",
             "-loops", "1", "-quiet"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=self._env,
        )  # fmt: skip
        try:
            assert server.stdin is not None
            server.stdin.write(text.encode())
            server.stdin.close()
            deadline = time.monotonic() + timeout_s
            while self._clipboard_owner() == before and server.poll() is None:
                if time.monotonic() > deadline:
                    raise EnvironmentUnavailable(f"xclip did not take the clipboard on {self.display}")
                time.sleep(0.005)
            self.hotkey(("ctrl", "v"))
            try:
                server.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                log.warning("nothing pasted within %.0f s: no text field has the focus?", timeout_s)
            wait()
        finally:
            if server.poll() is None:
                server.kill()
                server.wait(timeout=5)
            # Never leave typed text (possibly a secret) in the clipboard.
            self.write_clipboard(saved if saved is not None else "")
