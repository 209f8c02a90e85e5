"""Core value types of the world: actions, screen geometry, observations and outcomes.

Frames: every coordinate in an Action is in LOGICAL screen pixels relative to the top-left corner
of the observed screen (a monitor of the X display, or the browser viewport in CSS pixels). The
environment adds the monitor offset; the screenshot may hold `scale` times as many pixels (HiDPI).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from actions.keys import canonical_key

if TYPE_CHECKING:
    from PIL import Image

    Screenshot: TypeAlias = Image.Image
else:
    Screenshot = Any  # a PIL image at run time; this module does not import PIL


class Frozen(BaseModel):
    """Base of all value types: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


Pixel = Annotated[int, Field(ge=0)]
MouseButton = Literal["left", "right", "middle"]


class Click(Frozen):
    """Press and release a mouse button `count` times at (x, y)."""

    kind: Literal["click"] = "click"
    x: Pixel
    y: Pixel
    button: MouseButton = "left"
    count: int = Field(default=1, ge=1, le=3)


class MoveTo(Frozen):
    """Move the pointer to (x, y) without clicking."""

    kind: Literal["move"] = "move"
    x: Pixel
    y: Pixel


class Drag(Frozen):
    """Press the left button at the start point (the current pointer when None), move to (x, y), release."""

    kind: Literal["drag"] = "drag"
    x: Pixel
    y: Pixel
    start_x: Pixel | None = None
    start_y: Pixel | None = None


class TypeText(Frozen):
    """Type text at the keyboard focus. May hold `{{secret:NAME}}` placeholders, resolved at typing time."""

    kind: Literal["type"] = "type"
    text: str = Field(min_length=1)


class Hotkey(Frozen):
    """Press keys in order, release in reverse (a chord such as ctrl+s). Names are canonical."""

    kind: Literal["key"] = "key"
    keys: tuple[str, ...] = Field(min_length=1, max_length=6)

    @field_validator("keys")
    @classmethod
    def _canonical(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(canonical_key(k) for k in keys)


class Scroll(Frozen):
    """Turn the wheel: `dy` notches (+ = up), `dx` notches (+ = right), at (x, y) or at the pointer."""

    kind: Literal["scroll"] = "scroll"
    dx: int = Field(default=0, ge=-100, le=100)
    dy: int = Field(default=0, ge=-100, le=100)
    x: Pixel | None = None
    y: Pixel | None = None


class Wait(Frozen):
    """Do nothing for `seconds`, then observe again."""

    kind: Literal["wait"] = "wait"
    seconds: float = Field(default=1.0, ge=0, le=60)


class Finish(Frozen):
    """End the episode with a status and an optional answer or explanation for the user."""

    kind: Literal["finish"] = "finish"
    status: Literal["success", "failure"]
    answer: str | None = None


Action = Annotated[
    Click | MoveTo | Drag | TypeText | Hotkey | Scroll | Wait | Finish,
    Field(discriminator="kind"),
]
ACTION_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)


def action_point(action: Action) -> tuple[int, int] | None:
    """The screen point an action targets (None for keyboard, wait and finish)."""
    if isinstance(action, Click | MoveTo | Drag):
        return (action.x, action.y)
    if isinstance(action, Scroll) and action.x is not None and action.y is not None:
        return (action.x, action.y)
    return None


def describe_action(action: Action) -> str:
    """One short line for history text, progress views and reports (secrets stay as placeholders)."""
    match action:
        case Click(x=x, y=y, button=b, count=n):
            what = {1: "click", 2: "double-click", 3: "triple-click"}[n]
            return f"{b} {what} at ({x}, {y})" if b != "left" else f"{what} at ({x}, {y})"
        case MoveTo(x=x, y=y):
            return f"move pointer to ({x}, {y})"
        case Drag(x=x, y=y, start_x=sx, start_y=sy):
            start = f"({sx}, {sy})" if sx is not None else "pointer"
            return f"drag from {start} to ({x}, {y})"
        case TypeText(text=t):
            return f"type {t!r}"
        case Hotkey(keys=k):
            return f"press {'+'.join(k)}"
        case Scroll(dx=dx, dy=dy):
            parts = [f"{'up' if dy > 0 else 'down'} {abs(dy)}"] if dy else []
            parts += [f"{'right' if dx > 0 else 'left'} {abs(dx)}"] if dx else []
            return "scroll " + ", ".join(parts or ["0"])
        case Wait(seconds=s):
            return f"wait {s:g} s"
        case Finish(status=s, answer=a):
            return f"finish ({s})" + (f": {a}" if a else "")
    raise AssertionError(action)  # pragma: no cover


class ScreenGeometry(Frozen):
    """The observed screen: logical size in input pixels, screenshot pixels per logical pixel, origin."""

    width: int = Field(gt=0)
    height: int = Field(gt=0)
    scale: float = Field(default=1.0, gt=0)
    offset_x: int = 0
    offset_y: int = 0


class ElementInfo(Frozen):
    """What is at a point (browser): enough evidence to explain why a click would not work."""

    tag: str
    text: str = ""
    role: str | None = None
    label: str | None = None
    disabled: bool = False
    hidden: bool = False
    interactive: bool = True
    covered_by: str | None = None
    bbox: tuple[float, float, float, float] | None = None  # x, y, width, height in logical pixels
    context: str | None = None  # nearby text a person would read (form hints, labels)
    # What the risky-action gate reads (actions.safety); all optional, so old records still load.
    name: str | None = None  # accessible name, child elements kept apart as words ("Buy Now")
    texts: tuple[str, ...] = ()  # each text shown or announced for it: text nodes, ::before, title...
    graphic: bool = False  # a nameless canvas, image, svg, video or plug-in: its words are pixels
    frame: str | None = None  # URL of the cross-origin frame it is (an iframe) or it is in
    unreadable: bool = False  # a frame that did not answer the probe: nothing is known inside it
    submits: str | None = None  # a focused field: the name of what Enter submits ('Place order')
    selector: str | None = None  # a CSS selector unique in the page: a compiled job finds it again by it


class Observation(BaseModel):
    """One look at the screen. `image` is the screenshot (PIL, screenshot pixels)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    image: Screenshot  # RGB, screenshot pixels (geometry.scale per logical pixel)
    geometry: ScreenGeometry
    url: str | None = None
    title: str | None = None
    taken_at: float = Field(default_factory=time.time)


class Executed(Frozen):
    """The action was performed; `settle_ms` is how long the screen took to settle afterwards."""

    kind: Literal["executed"] = "executed"
    settle_ms: float | None = None
    detail: str | None = None


class Failed(Frozen):
    """The action could not be performed; `reason` is fed back to the model."""

    kind: Literal["failed"] = "failed"
    reason: str


class Blocked(Frozen):
    """A rule or the screen prevented the action: `rule` names which, `reason` says why in plain words."""

    kind: Literal["blocked"] = "blocked"
    rule: str
    reason: str
    element: ElementInfo | None = None


Outcome = Annotated[Executed | Failed | Blocked, Field(discriminator="kind")]
