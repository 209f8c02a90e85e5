"""Does a new action agree with the one a saved run recorded at the same step?

Frames: actions are in LOGICAL pixels of the observed screen (actions.types: CSS px of the browser
viewport, X pixels of the monitor), and so is the element box a browser step records
(`ElementInfo.bbox`: x, y, width, height from getBoundingClientRect, in the viewport's CSS px, frames'
offsets added). Both are compared as they are: no conversion is needed, and none to the screenshot,
which holds `geometry.scale` image pixels per logical pixel (HiDPI). The tolerance is in the same
logical px (equal to screenshot px at scale 1).

Rules, after the same action type (a click's button and count are part of its type):
- click: inside the recorded target element's box, edges included, when the step recorded one that
  can be trusted as the target (see `target_box`); else within `tolerance_px` of the recorded point.
- pointer move: within the tolerance; drag: both points (the press point only when both name one).
- typed text equal after whitespace normalisation (runs of spaces, tabs and newlines count as one
  space; leading and trailing ones are dropped); keys equal as a chord (in any order).
- scroll: the same direction on each axis (the amount and the place are not compared).
- wait: always; terminate: the same status.
A reply the parser cannot read disagrees.
"""

from __future__ import annotations

import math
from typing import Literal

from actions.types import (
    Action,
    Blocked,
    Click,
    Drag,
    ElementInfo,
    Finish,
    Frozen,
    Hotkey,
    MoveTo,
    Scroll,
    TypeText,
    Wait,
)
from agent.trajectory import Step

DEFAULT_TOLERANCE_PX = 14.0  # logical px: about a third of a 40 px button, a little over one text line

Reason = Literal["same", "unparsed", "action_type", "off_target", "text", "keys", "direction", "status"]
Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in logical px

_CLICK_TYPES = {1: "click", 2: "double_click", 3: "triple_click"}


class Verdict(Frozen):
    """The verdict on one step: `reason` names the check that decided (`same` when they agree),
    `detail` says it in words; for pointer actions the distance to the recorded point and the box
    used (logical px), if any."""

    agree: bool
    reason: Reason
    detail: str
    distance_px: float | None = None
    target_box: Box | None = None


def action_type(action: Action) -> str:
    """The action's type as compared and grouped: the kind, a click's variant spelt out
    (`click`, `double_click`, `right_click`, ...)."""
    if isinstance(action, Click):
        return _CLICK_TYPES[action.count] if action.button == "left" else f"{action.button}_click"
    return action.kind


def _element(step: Step) -> ElementInfo | None:
    """The element the recorded click met: the probe's, or the one a refusal names."""
    if step.element is not None:
        return step.element
    outcome = step.outcome
    return outcome.element if isinstance(outcome, Blocked) else None


def target_box(step: Step) -> Box | None:
    """The recorded click's target box (x1, y1, x2, y2, logical px), when it can stand for the target:
    an interactive element with a box that holds the recorded point (1 px of slack for the grid's
    rounding). Not: a page background or other non-interactive element (its box is most of the
    screen), a graphic (a canvas: its pixels are many targets), a frame the probe could not read, or a
    box that does not hold the click (the page moved under the hover): the tolerance decides then."""
    element = _element(step)
    action = step.action
    if element is None or element.bbox is None or not isinstance(action, Click):
        return None
    if not element.interactive or element.graphic or element.unreadable:
        return None
    x, y, w, h = element.bbox
    if w <= 0 or h <= 0:
        return None
    box = (x, y, x + w, y + h)
    return box if _inside(action.x, action.y, box, slack=1.0) else None


def _inside(x: float, y: float, box: Box, slack: float = 0.0) -> bool:
    x1, y1, x2, y2 = box
    return x1 - slack <= x <= x2 + slack and y1 - slack <= y <= y2 + slack


def _same(detail: str, distance_px: float | None = None, box: Box | None = None) -> Verdict:
    return Verdict(agree=True, reason="same", detail=detail, distance_px=distance_px, target_box=box)


def _differ(reason: Reason, detail: str, distance_px: float | None = None, box: Box | None = None) -> Verdict:
    return Verdict(agree=False, reason=reason, detail=detail, distance_px=distance_px, target_box=box)


def _distance(a: tuple[int, int], b: tuple[int, int]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _near(
    new: tuple[int, int], recorded: tuple[int, int], tolerance_px: float, what: str = "point"
) -> Verdict:
    d = _distance(new, recorded)
    if d <= tolerance_px:
        return _same(f"{d:.1f} px from the recorded {what}", d)
    where = f"({new[0]}, {new[1]}) is {d:.1f} px from the recorded {what} ({recorded[0]}, {recorded[1]})"
    return _differ("off_target", f"{where}: beyond the {tolerance_px:g} px tolerance", d)


def _click(step: Step, recorded: Click, new: Click, tolerance_px: float) -> Verdict:
    box = target_box(step)
    point, at = (new.x, new.y), (recorded.x, recorded.y)
    if box is None:
        return _near(point, at, tolerance_px)
    d = _distance(point, at)
    element = _element(step)
    name = f"<{element.tag}>" if element is not None else "the target"
    shown = tuple(round(v, 1) for v in box)
    if _inside(new.x, new.y, box):
        return _same(f"inside the box of {name} {shown}", d, box)
    where = f"{d:.1f} px from the recorded click ({recorded.x}, {recorded.y})"
    return _differ("off_target", f"({new.x}, {new.y}) is outside the box of {name} {shown}, {where}", d, box)


def _drag(recorded: Drag, new: Drag, tolerance_px: float) -> Verdict:
    rs, ns = (recorded.start_x, recorded.start_y), (new.start_x, new.start_y)
    if (rs[0] is None) != (ns[0] is None):
        return _differ("off_target", "one drag starts at the pointer, the other at a point")
    if rs[0] is not None and rs[1] is not None and ns[0] is not None and ns[1] is not None:
        start = _near((ns[0], ns[1]), (rs[0], rs[1]), tolerance_px, "press point")
        if not start.agree:
            return start
    return _near((new.x, new.y), (recorded.x, recorded.y), tolerance_px, "drop point")


def _normal(text: str) -> str:
    return " ".join(text.split())


def _sign(v: int) -> int:
    return (v > 0) - (v < 0)


def _direction(s: Scroll) -> str:
    parts = [("up" if s.dy > 0 else "down")] if s.dy else []
    parts += [("right" if s.dx > 0 else "left")] if s.dx else []
    return "+".join(parts) or "nowhere"


def compare(
    step: Step,
    new: Action | None,
    tolerance_px: float = DEFAULT_TOLERANCE_PX,
    parse_error: str | None = None,
) -> Verdict:
    """The verdict on `new` (logical px of `step.geometry`; None: the reply did not parse, and
    `parse_error` says why) against the action `step` recorded."""
    recorded = step.action
    if recorded is None:
        raise ValueError(f"step {step.index} recorded no action to compare with")
    if new is None:
        return _differ("unparsed", f"the reply could not be parsed: {parse_error}")
    was, now = action_type(recorded), action_type(new)
    if was != now:
        return _differ("action_type", f"{now} instead of {was}")
    match recorded, new:
        case Click(), Click():
            return _click(step, recorded, new, tolerance_px)
        case MoveTo(), MoveTo():
            return _near((new.x, new.y), (recorded.x, recorded.y), tolerance_px)
        case Drag(), Drag():
            return _drag(recorded, new, tolerance_px)
        case TypeText(), TypeText():
            if _normal(recorded.text) == _normal(new.text):
                return _same("the same text")
            return _differ("text", f"typed {new.text!r} instead of {recorded.text!r}")
        case Hotkey(), Hotkey():
            if sorted(recorded.keys) == sorted(new.keys):
                return _same("the same keys")
            return _differ("keys", f"pressed {'+'.join(new.keys)} instead of {'+'.join(recorded.keys)}")
        case Scroll(), Scroll():
            if (_sign(recorded.dx), _sign(recorded.dy)) == (_sign(new.dx), _sign(new.dy)):
                return _same(f"scrolls {_direction(new)} too")
            return _differ("direction", f"scrolls {_direction(new)} instead of {_direction(recorded)}")
        case Wait(), Wait():
            return _same("waits too")
        case Finish(), Finish():
            if recorded.status == new.status:
                return _same(f"terminates with {new.status} too")
            return _differ("status", f"terminates with {new.status} instead of {recorded.status}")
    raise AssertionError((recorded, new))  # pragma: no cover - the types matched above
