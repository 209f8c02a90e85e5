"""Find a job step's target on the live screen, through a ladder of evidence: in the browser the
element by role and accessible name, then by its recorded selector, then the template anchor (and
the probe at the matched point must agree with the recorded element); on the desktop the template
near the recorded place, then anywhere. Each rung must be unambiguous: one element, one strong match.

Frames: points are logical pixels of the live screen (the viewport in CSS px, or the monitor).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from actions.environment import Environment
from actions.types import ElementInfo, Frozen, Observation
from tasks.jobs.anchors import find_anchor
from tasks.jobs.spec import Box, ElementEvidence, Target

if TYPE_CHECKING:
    from playwright.sync_api import Locator

    from actions.browser import BrowserEnvironment

Rung = Literal["element", "selector", "template"]
LOCATE_TIMEOUT_MS = 1500  # one DOM query; a page that hangs here goes to the model instead


class Located(Frozen):
    """Where the target is now, which rung found it, and whether the element's identity was seen
    (a target found by pixels alone is `by_position`: replay never clicks a risky one)."""

    point: tuple[int, int]
    rung: Rung
    detail: str = ""

    @property
    def by_position(self) -> bool:
        return self.rung == "template"


def browser_of(env: Environment) -> BrowserEnvironment | None:
    """`env` when it is the browser (element identity and page reads work there only)."""
    from actions.browser import BrowserEnvironment

    return env if isinstance(env, BrowserEnvironment) else None


def _point_in(box: dict[str, float], recorded: Target) -> tuple[int, int]:
    """The point inside a found element's box where the recorded point was inside the recorded box
    (the same fraction across; the centre when the box was not recorded)."""
    fx, fy = 0.5, 0.5
    old = recorded.element.box if recorded.element else None
    if old is not None and old.w > 0 and old.h > 0:
        fx = min(max((recorded.point[0] - old.x) / old.w, 0.0), 1.0)
        fy = min(max((recorded.point[1] - old.y) / old.h, 0.0), 1.0)
    return (round(box["x"] + fx * box["width"]), round(box["y"] + fy * box["height"]))


def _one_visible(locator: Locator) -> dict[str, float] | None:
    """The box (CSS px) of the locator's only match when exactly one is visible; else None."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        count = locator.count()
        boxes = [locator.nth(i).bounding_box(timeout=LOCATE_TIMEOUT_MS) for i in range(min(count, 5))]
    except PlaywrightError:
        return None
    visible = [b for b in boxes if b is not None and b["width"] > 0 and b["height"] > 0]
    if len(visible) != 1 or count > 5:
        return None
    box = visible[0]
    return {"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"]}


def _in_view(box: dict[str, float], env: BrowserEnvironment) -> bool:
    w, h = env.options.viewport
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    return 0 <= cx < w and 0 <= cy < h


def by_identity(env: Environment, target: Target) -> Located | None:
    """The browser element with the recorded role and name, else the recorded selector."""
    browser = browser_of(env)
    element = target.element
    if browser is None or element is None:
        return None
    page = browser.page
    if element.role and element.name:
        box = _one_visible(page.get_by_role(element.role, name=element.name, exact=True))  # type: ignore[arg-type]
        if box is not None and _in_view(box, browser):
            detail = f"{element.role} {element.name!r}"
            return Located(point=_point_in(box, target), rung="element", detail=detail)
    if element.selector:
        box = _one_visible(page.locator(element.selector))
        if box is not None and _in_view(box, browser):
            return Located(point=_point_in(box, target), rung="selector", detail=element.selector)
    return None


def same_element(recorded: ElementEvidence, live: ElementInfo | None) -> bool:
    """Whether the element under a template match is the recorded one (role and name agree; a
    recorded element without a name cannot be told apart and is accepted)."""
    if live is None:
        return False
    if not recorded.name:
        return live.tag == recorded.tag
    return (live.label or "").strip() == recorded.name.strip() and live.role == recorded.role


def by_template(env: Environment, target: Target, job_dir: Path, screen: Observation) -> Located | None:
    """The anchor crop on the live screenshot; in the browser, only where the probe finds the
    recorded element under the matched point."""
    from PIL import Image

    anchor = target.anchor
    if anchor is None:
        return None
    with Image.open(job_dir / anchor.image) as crop:
        found = find_anchor(screen.image, screen.geometry.scale, anchor, crop.convert("RGB"))
    if found is None:
        return None
    # In the browser the pixels alone are not enough: the element under them must be the one recorded.
    browser, recorded = browser_of(env), target.element
    live = browser.element_at(*found.point) if browser is not None and recorded is not None else None
    if recorded is not None and browser is not None and not same_element(recorded, live):
        return None
    return Located(point=found.point, rung="template", detail=f"{found.where}, score {found.score:.2f}")


def locate(env: Environment, target: Target, job_dir: Path, screen: Observation) -> Located | None:
    """The target on the live screen by the first rung that finds it unambiguously, or None."""
    return by_identity(env, target) or by_template(env, target, job_dir, screen)


def region_changed(before: Observation, after: Observation, near: Box | None) -> bool:
    """Whether the screen changed (inside `near`, logical px, when given) between two screenshots."""
    from agent.detection import screen_changed

    if near is None or before.image.size != after.image.size:
        return screen_changed(before.image, after.image, after.geometry.scale)
    s = after.geometry.scale
    box = (round(near.x * s), round(near.y * s), round((near.x + near.w) * s), round((near.y + near.h) * s))
    return screen_changed(before.image.crop(box), after.image.crop(box), s)
