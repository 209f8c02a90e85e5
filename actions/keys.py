"""One table of key names: what the model may say -> what pyautogui, Playwright and xdotool need."""

from __future__ import annotations

import difflib
from typing import NamedTuple

from actions.errors import UnknownKeyError


class KeyNames(NamedTuple):
    """Names of one physical key in each input backend."""

    pyautogui: str
    playwright: str
    xdotool: str


# Canonical name -> backend names. Aliases below map the many spellings models use onto these.
_KEYS: dict[str, KeyNames] = {
    "ctrl": KeyNames("ctrl", "Control", "ctrl"),
    "shift": KeyNames("shift", "Shift", "shift"),
    "alt": KeyNames("alt", "Alt", "alt"),
    "super": KeyNames("win", "Meta", "super"),
    "enter": KeyNames("enter", "Enter", "Return"),
    "tab": KeyNames("tab", "Tab", "Tab"),
    "esc": KeyNames("esc", "Escape", "Escape"),
    "space": KeyNames("space", " ", "space"),
    "backspace": KeyNames("backspace", "Backspace", "BackSpace"),
    "delete": KeyNames("delete", "Delete", "Delete"),
    "insert": KeyNames("insert", "Insert", "Insert"),
    "home": KeyNames("home", "Home", "Home"),
    "end": KeyNames("end", "End", "End"),
    "pageup": KeyNames("pageup", "PageUp", "Prior"),
    "pagedown": KeyNames("pagedown", "PageDown", "Next"),
    "up": KeyNames("up", "ArrowUp", "Up"),
    "down": KeyNames("down", "ArrowDown", "Down"),
    "left": KeyNames("left", "ArrowLeft", "Left"),
    "right": KeyNames("right", "ArrowRight", "Right"),
    "capslock": KeyNames("capslock", "CapsLock", "Caps_Lock"),
    "printscreen": KeyNames("printscreen", "PrintScreen", "Print"),
    "menu": KeyNames("apps", "ContextMenu", "Menu"),
}
for _n in range(1, 13):
    _KEYS[f"f{_n}"] = KeyNames(f"f{_n}", f"F{_n}", f"F{_n}")

# Printable single characters: pyautogui and Playwright take the character itself; xdotool a keysym.
_XDOTOOL_SYMBOLS = {
    "-": "minus", "=": "equal", "[": "bracketleft", "]": "bracketright", "\\": "backslash",
    ";": "semicolon", "'": "apostrophe", ",": "comma", ".": "period", "/": "slash",
    "`": "grave", "+": "plus", "*": "asterisk", "!": "exclam", "@": "at", "#": "numbersign",
    "$": "dollar", "%": "percent", "^": "asciicircum", "&": "ampersand", "(": "parenleft",
    ")": "parenright", "_": "underscore", ":": "colon", '"': "quotedbl", "<": "less",
    ">": "greater", "?": "question", "{": "braceleft", "}": "braceright", "|": "bar", "~": "asciitilde",
}  # fmt: skip
for _c in "abcdefghijklmnopqrstuvwxyz0123456789":
    _KEYS[_c] = KeyNames(_c, _c, _c)
for _c, _sym in _XDOTOOL_SYMBOLS.items():
    _KEYS[_c] = KeyNames(_c, _c, _sym)

_ALIASES: dict[str, str] = {
    "control": "ctrl", "ctl": "ctrl", "lctrl": "ctrl", "rctrl": "ctrl", "ctrlleft": "ctrl",
    "cmd": "super", "command": "super", "meta": "super", "win": "super", "windows": "super",
    "winleft": "super", "os": "super", "option": "alt", "altleft": "alt", "alt_l": "alt",
    "return": "enter", "ret": "enter", "kp_enter": "enter",
    "escape": "esc", "spacebar": "space", " ": "space", "back_space": "backspace", "bksp": "backspace",
    "del": "delete", "ins": "insert", "page_up": "pageup", "pgup": "pageup", "prior": "pageup",
    "page_down": "pagedown", "pgdn": "pagedown", "next": "pagedown",
    "arrowup": "up", "arrowdown": "down", "arrowleft": "left", "arrowright": "right",
    "arrow_up": "up", "arrow_down": "down", "arrow_left": "left", "arrow_right": "right",
    "caps_lock": "capslock", "print": "printscreen", "prtsc": "printscreen", "apps": "menu",
    "contextmenu": "menu", "shift_l": "shift", "shiftleft": "shift", "control_l": "ctrl",
    "minus": "-", "equal": "=", "plus": "+", "comma": ",", "period": ".", "slash": "/",
}  # fmt: skip


def canonical_key(name: str) -> str:
    """Normalise a model's key name ('Return', 'page_down', 'cmd', 'A') to our canonical name."""
    if not isinstance(name, str) or not name:
        raise UnknownKeyError(repr(name))
    lowered = name if len(name) == 1 else name.strip().lower()
    lowered = lowered.lower() if lowered.isalpha() else lowered
    if lowered in _KEYS:
        return lowered
    if lowered in _ALIASES:
        return _ALIASES[lowered]
    choices = list(_KEYS) + list(_ALIASES)
    raise UnknownKeyError(name, tuple(difflib.get_close_matches(lowered, choices, n=3)))


def key_names(canonical: str) -> KeyNames:
    """Backend names for a canonical key (raises UnknownKeyError for anything else)."""
    return _KEYS[canonical_key(canonical)]


def is_modifier(canonical: str) -> bool:
    return canonical in ("ctrl", "shift", "alt", "super")
