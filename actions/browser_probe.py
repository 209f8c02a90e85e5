"""The element probe of the browser environment: what a click at a viewport point would meet, and
what has the keyboard focus.

Chromium's own hit test (DevTools `DOM.getNodeForLocation`) names the topmost element, inside closed
shadow roots and same-origin frames too; page_probe.js runs on it and reports the control a click
there is meant for, whether it is disabled, hidden or covered, its name and texts (page_names.js),
and the nearby text a person would read. When DevTools cannot tell, the script hit-tests by itself.
A cross-origin frame (its own renderer process) is probed from inside: the frame whose element box
holds the point answers for the point in its own viewport, nested frames too. A frame that cannot
answer is reported `unreadable`. Every call into a page or frame has a deadline.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actions.types import ElementInfo

if TYPE_CHECKING:
    from playwright.sync_api import CDPSession, Frame, Page


def _script(name: str) -> str:
    """A page script with the shared name and text readers pasted in."""
    here = Path(__file__).parent
    names = (here / "page_names.js").read_text(encoding="utf-8")
    return (here / name).read_text(encoding="utf-8").replace("/*@names@*/", names)


PROBE_JS = _script("page_probe.js")
FOCUS_JS = _script("page_focus.js")
PROBE_TIMEOUT_MS = 2000  # each DevTools call of the probe
MAX_FRAME_DEPTH = 4  # frames in frames the probe descends through


def probe_element(
    page: Page, cdp: CDPSession, x: int, y: int, viewport: tuple[int, int]
) -> ElementInfo | None:
    """What is at (x, y) CSS px of the viewport; None outside it or on an empty point."""
    found = _probe_with_hit_test(cdp, x, y, viewport)
    if found is _UNREADABLE:
        # The probe threw: the page's scripts broke the DOM calls it makes. Nothing is known here,
        # and the plain evaluate below would meet the same broken calls.
        return ElementInfo(tag="html", interactive=False, unreadable=True)
    if found is None:
        found = page.evaluate(f"({PROBE_JS})", [x, y])
    if not isinstance(found, dict):
        return None
    return _into_frames(page, page.main_frame, _element(found), x, y, 0)


def probe_focused(page: Page, cdp: CDPSession) -> ElementInfo | None:
    """The element with the keyboard focus (with `submits`: what Enter in it submits); None when
    only the page itself has it or the page cannot answer. Focus inside a cross-origin frame is read
    in that frame; a frame that cannot answer gives an `unreadable` iframe."""
    found = _evaluate(cdp, f"({FOCUS_JS})()")
    if not isinstance(found, dict):
        return None
    if not found.get("inside"):
        return _element(found)
    # The focus is in a cross-origin frame: the frame whose document has it and whose own
    # active element is no frame answers (an ancestor's document has the focus too).
    unreadable: str | None = None
    for frame in page.frames[1:]:
        inner = _in_frame(page, frame, f"({FOCUS_JS})()")
        if inner is _UNREADABLE:
            unreadable = frame.url
        elif isinstance(inner, dict) and inner.get("has_focus") and not inner.get("inside"):
            return _element(inner).model_copy(update={"frame": frame.url})
    if unreadable is None:
        return None  # every frame answered: only a frame's page itself has the focus
    return ElementInfo(tag="iframe", frame=unreadable, unreadable=True)


def _element(found: dict[str, Any]) -> ElementInfo:
    fields = {k: v for k, v in found.items() if k in ElementInfo.model_fields}
    if fields.get("bbox") is not None:
        fields["bbox"] = tuple(fields["bbox"])
    fields["texts"] = tuple(fields.get("texts") or ())
    return ElementInfo(**fields)


# Border and padding between a frame element's box and the frame's viewport (CSS px).
_INSET_JS = """e => { const s = getComputedStyle(e);
  return [e.clientLeft + parseFloat(s.paddingLeft), e.clientTop + parseFloat(s.paddingTop)]; }"""
_UNREADABLE = object()  # a frame that did not answer (as opposed to one that found nothing)


def _into_frames(page: Page, parent: Frame, found: ElementInfo, x: int, y: int, depth: int) -> ElementInfo:
    """`found` itself, or when it is a frame, what the frame holds at (x, y) (top viewport CSS px)."""
    if found.tag not in ("iframe", "frame") or found.bbox is None:
        return found
    located = _frame_at(parent, found.bbox, x, y)
    if located is None or depth >= MAX_FRAME_DEPTH:
        return found.model_copy(update={"unreadable": True})
    frame, left, top = located
    # The frame's probe hit-tests in its own viewport: the point less the frame's content origin.
    inner = _in_frame(page, frame, f"({PROBE_JS}).call(null, [{x - left}, {y - top}])")
    if inner is _UNREADABLE or not isinstance(inner, dict):
        return found.model_copy(update={"unreadable": inner is _UNREADABLE, "frame": frame.url})
    box = inner.get("bbox") or [0, 0, 0, 0]
    inner["bbox"] = [box[0] + left, box[1] + top, box[2], box[3]]
    inner["selector"] = None  # it selects in the frame's document, not in the page's
    element = _into_frames(page, frame, _element(inner), x, y, depth + 1)
    return element if element.frame else element.model_copy(update={"frame": frame.url})


def _frame_at(
    parent: Frame, bbox: tuple[float, float, float, float], x: int, y: int
) -> tuple[Frame, float, float] | None:
    """The child frame of `parent` whose element is the hit iframe (its box is `bbox`, else the
    last whose box holds the point), with its content origin in top viewport CSS px."""
    best: tuple[Frame, float, float] | None = None
    for child in parent.child_frames:
        try:
            owner = child.frame_element()
            box = owner.bounding_box()  # relative to the top viewport, through every frame
            if box is None or not (
                box["x"] <= x < box["x"] + box["width"] and box["y"] <= y < box["y"] + box["height"]
            ):
                continue
            inset = owner.evaluate(_INSET_JS)
        except Exception:
            continue
        best = (child, box["x"] + inset[0], box["y"] + inset[1])
        if abs(box["x"] - bbox[0]) < 1 and abs(box["y"] - bbox[1]) < 1:
            return best
    return best


def _in_frame(page: Page, frame: Frame, expression: str) -> Any:
    """`expression` evaluated in `frame` with a deadline; _UNREADABLE when the frame cannot answer.

    A cross-origin frame runs in its own renderer process: a DevTools session of its own evaluates
    there with a deadline (a hostile frame that blocks its thread times out). A frame in its
    parent's process has no session of its own; Playwright evaluates there."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        session = page.context.new_cdp_session(frame)
    except PlaywrightError:
        try:
            return frame.evaluate(expression)
        except PlaywrightError:
            return _UNREADABLE
    try:
        reply = session.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, timeout=PROBE_TIMEOUT_MS
        )
    except PlaywrightError:
        return _UNREADABLE
    finally:
        with contextlib.suppress(PlaywrightError):
            session.detach()
    if "exceptionDetails" in reply:
        return _UNREADABLE
    return reply.get("result", {}).get("value")


def _evaluate(cdp: CDPSession, expression: str) -> Any:
    """`expression` evaluated in the page with a deadline; None when it cannot answer."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        reply = cdp.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, timeout=PROBE_TIMEOUT_MS
        )
    except PlaywrightError:
        return None
    return None if "exceptionDetails" in reply else reply.get("result", {}).get("value")


def _probe_with_hit_test(cdp: CDPSession, x: int, y: int, viewport: tuple[int, int]) -> Any:
    """The probe run on the element Chromium hit-tests at (x, y); None when DevTools cannot tell,
    _UNREADABLE when the probe script threw."""
    from playwright.sync_api import Error as PlaywrightError

    w, h = viewport
    if not (0 <= x < w and 0 <= y < h):
        return None
    timeout = PROBE_TIMEOUT_MS
    try:
        # The hit test takes document coordinates: add the scroll position to the viewport point.
        view = cdp.send("Page.getLayoutMetrics", timeout=timeout)["cssVisualViewport"]
        at = {"x": round(x + view["pageX"]), "y": round(y + view["pageY"])}
        hit = cdp.send(
            "DOM.getNodeForLocation",
            # pointer-events:none elements never receive the click: look through them.
            {**at, "includeUserAgentShadowDOM": False, "ignorePointerEventsNone": True},
            timeout=timeout,
        )
        node = cdp.send("DOM.resolveNode", {"backendNodeId": hit["backendNodeId"]}, timeout=timeout)
        object_id = node["object"]["objectId"]
        try:
            reply = cdp.send(
                "Runtime.callFunctionOn",
                {
                    "functionDeclaration": PROBE_JS,
                    "objectId": object_id,
                    "arguments": [{"value": [x, y]}],
                    "returnByValue": True,
                },
                timeout=timeout,
            )
        finally:
            cdp.send("Runtime.releaseObject", {"objectId": object_id}, timeout=timeout)
    except PlaywrightError:
        return None
    if "exceptionDetails" in reply:
        return _UNREADABLE
    value = reply["result"].get("value")
    return value if isinstance(value, dict) else None
