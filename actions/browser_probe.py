"""The element probe of the browser environment: what a click at a viewport point would meet.

Chromium's own hit test (DevTools `DOM.getNodeForLocation`) names the topmost element, inside closed
shadow roots and same-origin frames too; page_probe.js runs on it and reports the control a click
there is meant for, whether it is disabled, hidden or covered, and the nearby text a person would
read. When DevTools cannot tell, the script hit-tests by itself. Every call has a deadline.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from actions.types import ElementInfo

if TYPE_CHECKING:
    from playwright.sync_api import CDPSession, Page

PROBE_JS = (Path(__file__).with_name("page_probe.js")).read_text(encoding="utf-8")
PROBE_TIMEOUT_MS = 2000  # each DevTools call of the probe


def probe_element(
    page: Page, cdp: CDPSession, x: int, y: int, viewport: tuple[int, int]
) -> ElementInfo | None:
    """What is at (x, y) CSS px of the viewport; None outside it or on an empty point."""
    found = _probe_with_hit_test(cdp, x, y, viewport)
    if found is None:
        found = page.evaluate(f"({PROBE_JS})", [x, y])
    if not found:
        return None
    found["bbox"] = tuple(found["bbox"])
    return ElementInfo(**found)


def _probe_with_hit_test(cdp: CDPSession, x: int, y: int, viewport: tuple[int, int]) -> dict[str, Any] | None:
    """The probe run on the element Chromium hit-tests at (x, y); None when DevTools cannot tell."""
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
        return None
    value = reply["result"].get("value")
    return value if isinstance(value, dict) else None
