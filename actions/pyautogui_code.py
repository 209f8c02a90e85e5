"""One typed action -> the pyautogui source OSWorld's VM server runs for it.

OSWorld's `pyautogui` action space sends each step as a code string; the in-VM server runs
`python -c "import pyautogui; import time; pyautogui.FAILSAFE = False; <code>"`. The code here is
that `<code>`: coordinates are the action's own, i.e. LOGICAL pixels of the screen the code runs on
(top-left origin), so the caller maps the model's grid to that screen first (see
tasks.osworld.adapter). The first line of every snippet is a simple statement, because the server
joins it to its prefix with `; `.

Safety: every value from the model reaches the source only through `repr()` of a str or an int
validated by pydantic, so text such as `"); import os; os.system(...) #` is typed, never run.
"""

from __future__ import annotations

from typing import Literal

from actions.keys import is_modifier, key_names
from actions.types import (
    Action,
    Click,
    Drag,
    Finish,
    Hotkey,
    MoveTo,
    Scroll,
    TypeText,
    Wait,
)

SpecialCode = Literal["WAIT", "DONE", "FAIL"]

# Seconds between typed characters: a fast typist; apps that autocomplete keep up at this pace.
TYPE_INTERVAL_S = 0.01
# Seconds a drag takes from press to release: pyautogui then sends a motion every ~50 ms
# (MINIMUM_SLEEP), and toolkits start a drag only after motion events with the button held.
DRAG_DURATION_S = 0.5
# Seconds between the clicks of a double/triple click: well inside any toolkit's double-click time.
MULTI_CLICK_INTERVAL_S = 0.04
# Seconds the paste gets before the next step: the app reads the clipboard asynchronously.
PASTE_SETTLE_S = 0.3

# Characters `pyautogui.write` can type on a US layout: printable ASCII and tab. Anything else
# (é, 中文, emoji, control characters) is silently skipped by pyautogui, so it goes via the clipboard.
_TYPEABLE = frozenset(chr(c) for c in range(0x20, 0x7F)) | {"\t"}

# Puts `_text` on the CLIPBOARD selection with the first of xclip / xsel that the machine has, else
# with Tk (pyautogui's own dependency on Linux). xclip and xsel fork a child that serves the
# selection after they exit; Tk serves it only while this process runs, hence the event pump
# around the paste. OSWorld's images are not guaranteed to ship xclip, hence the fallbacks. The
# forked child must not keep this process's stdout: the VM server reads it to EOF (a known hang).
# xclip/xsel return before their child owns the selection (3 in 40 pastes came out empty on Xvfb),
# so the paste waits, up to 2 s, until the clipboard reads back the text.
_PASTE = """\
import shutil, subprocess, time
_tk = None
_tools = (
    (["xclip", "-selection", "clipboard"], ["xclip", "-o", "-selection", "clipboard"]),
    (["xsel", "--clipboard", "--input"], ["xsel", "--clipboard", "--output"]),
)
_cmd = next((t for t in _tools if shutil.which(t[0][0])), None)
if _cmd:
    _quiet, _data = subprocess.DEVNULL, _text.encode("utf-8", "replace")
    subprocess.run(_cmd[0], input=_data, stdout=_quiet, stderr=_quiet, check=True, timeout=10)
    for _ in range(40):
        _got = subprocess.run(_cmd[1], capture_output=True, timeout=5).stdout
        if _got == _data:
            break
        time.sleep(0.05)
else:
    import tkinter
    _tk = tkinter.Tk()
    _tk.withdraw()
    _tk.clipboard_clear()
    _tk.clipboard_append(_text)
    _tk.update()
pyautogui.hotkey("ctrl", "v")
for _ in range(%(ticks)d):
    time.sleep(0.05)
    if _tk is not None:
        _tk.update()
if _tk is not None:
    _tk.destroy()"""


def special_code(action: Action) -> SpecialCode | None:
    """OSWorld's special reply for Wait (WAIT) and Finish (DONE on success, FAIL on failure).

    FAIL matters: OSWorld scores its infeasible tasks 1 only when the last action is FAIL.
    """
    if isinstance(action, Wait):
        return "WAIT"
    if isinstance(action, Finish):
        return "DONE" if action.status == "success" else "FAIL"
    return None


def action_code(action: Action) -> str | None:
    """pyautogui source performing `action` on the machine it runs on (its own screen pixels); None for
    Wait and Finish (the runner handles those: OSWorld's WAIT / DONE / FAIL)."""
    match action:
        case Click(x=x, y=y, button=button, count=count):
            interval = MULTI_CLICK_INTERVAL_S if count > 1 else 0.0
            return f"pyautogui.click({x}, {y}, clicks={count}, interval={interval!r}, button={button!r})"
        case MoveTo(x=x, y=y):
            return f"pyautogui.moveTo({x}, {y})"
        case Drag(x=x, y=y, start_x=sx, start_y=sy):
            lines = [f"pyautogui.moveTo({sx}, {sy})"] if sx is not None and sy is not None else []
            lines += [
                "pyautogui.mouseDown(button='left')",
                f"pyautogui.moveTo({x}, {y}, duration={DRAG_DURATION_S!r})",
                "pyautogui.mouseUp(button='left')",
            ]
            return "\n".join(lines)
        case Scroll(dx=dx, dy=dy, x=x, y=y):
            # One unit is one wheel notch, as in actions.desktop: pyautogui's X11 scroll(n) sends n
            # clicks of button 4 (n > 0, up) or 5, hscroll(n) of button 7 (n > 0, right) or 6.
            lines = [f"pyautogui.moveTo({x}, {y})"] if x is not None and y is not None else []
            lines += [f"pyautogui.scroll({dy})"] if dy else []
            lines += [f"pyautogui.hscroll({dx})"] if dx else []
            return "\n".join(lines or ["pass"])
        case Hotkey(keys=keys):
            names = [key_names(k).pyautogui for k in keys]
            if len(names) == 1 and not is_modifier(keys[0]):
                return f"pyautogui.press({names[0]!r})"
            return f"pyautogui.hotkey({', '.join(repr(n) for n in names)})"
        case TypeText(text=text):
            return _type_code(text)
        case Wait() | Finish():
            return None
    raise AssertionError(action)  # pragma: no cover


def _type_code(text: str) -> str:
    """Type `text`: typeable runs with pyautogui.write, newlines as Enter, the rest pasted.

    `{{secret:NAME}}` placeholders are NOT resolved here: OSWorld tasks carry no secrets, and a
    resolved secret must never end up in a code string that OSWorld logs to traj.jsonl.
    """
    lines: list[str] = []
    for index, line in enumerate(text.replace("\r\n", "\n").split("\n")):
        if index:
            lines.append("pyautogui.press('enter')")
        for run, typeable in _runs(line):
            if typeable:
                lines.append(f"pyautogui.write({run!r}, interval={TYPE_INTERVAL_S!r})")
            else:
                lines.append(f"_text = {run!r}")
                lines.append(_PASTE % {"ticks": round(PASTE_SETTLE_S / 0.05)})
    return "\n".join(lines or ["pass"])


def _runs(line: str) -> list[tuple[str, bool]]:
    """Split a line into maximal runs of pyautogui-typeable and other characters (kept in order)."""
    runs: list[tuple[str, bool]] = []
    for char in line:
        typeable = char in _TYPEABLE
        if runs and runs[-1][1] == typeable:
            runs[-1] = (runs[-1][0] + char, typeable)
        else:
            runs.append((char, typeable))
    return runs
