"""No-effect and loop detection: did the screen change, and is the model repeating itself?

Screens are compared as small grayscale thumbnails (the settle module's frame difference), so a
blinking caret or antialiasing noise does not count as a change.
"""

from __future__ import annotations

from typing import Any

from actions.settle import frame_difference
from actions.types import Action, Click, Drag, Hotkey, MoveTo, Scroll, TypeText, Wait

THUMBNAIL = (96, 60)
POINT_TOLERANCE = 8  # logical pixels: clicks this close count as the same click


def signature(image: Any) -> bytes:
    """A cheap frame signature of a PIL screenshot: raw bytes of a 96x60 grayscale thumbnail."""
    return bytes(image.convert("L").resize(THUMBNAIL).tobytes())


def screen_changed(before: bytes, after: bytes, threshold: float) -> bool:
    return frame_difference(before, after) > threshold


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


class RepeatTracker:
    """Counts how many times in a row the same action was chosen on the same screen."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._key: str | None = None
        self._screen: bytes | None = None
        self.count = 0

    def record(self, action: Action, screen: bytes) -> int:
        key = action_key(action)
        same_screen = self._screen is not None and not screen_changed(self._screen, screen, self.threshold)
        if key == self._key and same_screen:
            self.count += 1
        else:
            self._key, self._screen, self.count = key, screen, 1
        return self.count
