"""No-effect and loop detection: did the screen change, and is the model repeating itself?

Screens are compared at full resolution, so one changed digit or one typed character counts; a
blinking text caret (the only thing that changed being a thin vertical bar) does not.
"""

from __future__ import annotations

from typing import Any

from actions.types import Action, Click, Drag, Hotkey, MoveTo, Scroll, TypeText, Wait

POINT_TOLERANCE = 8  # logical pixels: clicks this close count as the same click
PIXEL_TOLERANCE = 24  # grey levels: JPEG and antialiasing noise between equal screens stay below this
CARET_WIDTH = 3  # logical pixels: a change no wider than this (and no taller than a line) is a caret
CARET_HEIGHT = 60


def changed_box(before: Any, after: Any) -> tuple[int, int, int, int] | None:
    """The bounding box (x0, y0, x1, y1, screenshot pixels) of every pixel that changed, or None."""
    import numpy as np

    if before.size != after.size:
        return (0, 0, after.width, after.height)
    a = np.asarray(before.convert("L"), dtype=np.int16)
    b = np.asarray(after.convert("L"), dtype=np.int16)
    mask = np.abs(a - b) > PIXEL_TOLERANCE
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def screen_changed(before: Any, after: Any, scale: float = 1.0) -> bool:
    """Whether two PIL screenshots differ by more than a caret blink; `scale`: screenshot pixels per
    logical pixel (HiDPI)."""
    box = changed_box(before, after)
    if box is None:
        return False
    x0, y0, x1, y1 = box
    return (x1 - x0) > CARET_WIDTH * scale or (y1 - y0) > CARET_HEIGHT * scale


def expects_change(action: Action) -> bool:
    """Actions after which an unchanged screen is worth telling the model about."""
    return not isinstance(action, Wait | MoveTo)


def action_key(action: Action) -> str:
    """A key under which repeated actions compare equal (nearby points are the same point)."""

    def cell(v: int) -> int:
        return v // POINT_TOLERANCE

    match action:
        case Click(x=x, y=y, button=b, count=n):
            return f"click:{b}:{n}:{cell(x)}:{cell(y)}"
        case Drag(x=x, y=y):
            return f"drag:{cell(x)}:{cell(y)}"
        case MoveTo(x=x, y=y):
            return f"move:{cell(x)}:{cell(y)}"
        case Scroll(dx=dx, dy=dy):
            return f"scroll:{dx}:{dy}"
        case TypeText(text=t):
            return f"type:{t}"
        case Hotkey(keys=k):
            return "key:" + "+".join(k)
        case Wait(seconds=s):
            return f"wait:{s:g}"
    return action.kind
