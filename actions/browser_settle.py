"""Waiting for a browser page to settle after an action: network, navigation, then still frames.

Frames are tiny grayscale thumbnails of the visible viewport taken through the DevTools protocol,
so a frame costs one compositor frame (~30 ms) and no full-size encode. Every call here has a
deadline: Chromium may withhold a frame while a navigation commits, and the settle cap bounds the
whole wait, captures included.
"""

from __future__ import annotations

import base64
import contextlib
import io
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actions.settle import FrameUnavailable, SettleOptions, SettleReport, wait_for_settle

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, CDPSession, Frame, Page, Request, Response

WATCH_JS = (Path(__file__).with_name("settle_watch.js")).read_text(encoding="utf-8")
_MARK = "window[Symbol.for('qwen-agent.settle')]?.mark()"
_READ = "window[Symbol.for('qwen-agent.settle')]?.read() ?? null"
THUMBNAIL_SCALE = 0.125  # 1280x800 CSS px -> 160x100 thumbnail
FRAME_TIMEOUT_S = 1.0  # one thumbnail; a withheld frame is retried within the settle cap
NO_COMMIT_STATUSES = (204, 205)
# Still frames (and a still DOM) needed once the page has said it is idle; a page that cannot tell
# (the watch script could not run) needs the options' full quiet window.
IDLE_QUIET_MS = 50.0  # navigation responses that leave the old document in place


def _is_main_frame_navigation(request: Request) -> bool:
    try:
        return request.is_navigation_request() and request.frame.parent_frame is None
    except Exception:  # service-worker requests have no frame
        return False


class NetworkTracker:
    """Counts the context's requests in flight and main-frame navigations not yet committed (all tabs).

    A navigation is pending from its request until the new document commits (a main frame's
    `framenavigated`) or it fails or cannot commit (204/205, a download); a 3xx response is a hop,
    not the end. Long-lived streams are bounded by the settle cap.
    """

    def __init__(self, context: BrowserContext) -> None:
        self._inflight: set[Request] = set()
        self._navigations: set[Request] = set()
        # Playwright wraps handlers and needs Python functions (not builtin bound methods).
        context.on("request", self._started)
        context.on("requestfinished", self._ended)
        context.on("requestfailed", self._failed)
        # A page that never reads a fetch body never gets "requestfinished": count the request as
        # done once its response arrived, or every action would wait out the settle cap.
        context.on("response", self._responded)
        context.on("page", self._watch_page)
        for page in context.pages:
            self._watch_page(page)

    def _watch_page(self, page: Page) -> None:
        page.on("framenavigated", self._committed)

    def _started(self, request: Request) -> None:
        self._inflight.add(request)
        if _is_main_frame_navigation(request):
            self._navigations.add(request)

    def _responded(self, response: Response) -> None:
        request = response.request
        self._inflight.discard(request)
        if request in self._navigations:
            attachment = "attachment" in (response.headers.get("content-disposition") or "").lower()
            if response.status in NO_COMMIT_STATUSES or attachment:
                self._navigations.discard(request)

    def _ended(self, request: Request) -> None:
        self._inflight.discard(request)

    def _failed(self, request: Request) -> None:
        self._inflight.discard(request)
        self._navigations.discard(request)

    def _committed(self, frame: Frame) -> None:
        if frame.parent_frame is None:
            self._navigations.clear()

    @property
    def pending(self) -> int:
        """Requests in flight plus navigations that have not committed their new document."""
        return len(self._inflight) + len(self._navigations)

    @property
    def navigating(self) -> bool:
        return bool(self._navigations)


class PageSettler:
    """Settle detection for one page: requests drained, navigation committed and loaded, frames still."""

    def __init__(self, page: Page, network: NetworkTracker, options: SettleOptions) -> None:
        self.page, self.network, self.options = page, network, options
        self._cdp: CDPSession | None = None

    def cdp(self) -> CDPSession:
        """This page's DevTools session (made on first use)."""
        if self._cdp is None:
            self._cdp = self.page.context.new_cdp_session(self.page)
        return self._cdp

    def page_value(self, expression: str, timeout_ms: float) -> Any:
        """Evaluate `expression` in the page with a deadline; None when the page cannot answer."""
        try:
            reply = self.cdp().send(
                "Runtime.evaluate", {"expression": expression, "returnByValue": True}, timeout=timeout_ms
            )
        except Exception:
            return None
        return reply.get("result", {}).get("value")

    def mark_input(self) -> None:
        """Called just before an input: what the page schedules from now on is the input's doing."""
        self.page_value(_MARK, FRAME_TIMEOUT_S * 1000)

    def page_state(self, timeout_ms: float) -> dict[str, float] | None:
        """What the page announced (settle_watch.js): timers the input caused, running finite
        animations, ms since the DOM last changed; None when the page cannot tell."""
        state = self.page_value(_READ, max(1.0, timeout_ms))
        return state if isinstance(state, dict) else None

    def thumbnail(self, seconds_left: float = FRAME_TIMEOUT_S) -> bytes:
        """Grayscale bytes of the visible viewport at 1/8 CSS scale (a frame signature).

        Raises FrameUnavailable when Chromium does not answer within min(1 s, `seconds_left`).
        """
        from PIL import Image

        timeout_ms = max(1.0, min(FRAME_TIMEOUT_S, seconds_left) * 1000)
        try:
            cdp = self.cdp()
            vv: dict[str, Any] = cdp.send("Page.getLayoutMetrics", timeout=timeout_ms)["cssVisualViewport"]
            # The clip is in document coordinates: start at the scroll position to see what is on screen.
            clip = {"x": vv["pageX"], "y": vv["pageY"], "width": vv["clientWidth"]}
            clip |= {"height": vv["clientHeight"], "scale": THUMBNAIL_SCALE}
            shot = cdp.send(
                "Page.captureScreenshot",
                {"format": "jpeg", "quality": 60, "optimizeForSpeed": True, "clip": clip},
                timeout=timeout_ms,
            )
        except Exception as e:
            raise FrameUnavailable(str(e).splitlines()[0] if str(e) else type(e).__name__) from e
        return Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("L").tobytes()

    def wait(self, options: SettleOptions | None = None) -> SettleReport:
        """Wait for pending requests and navigations, the load event, the timers and animations the
        input caused, and still frames, all within `cap_ms` in total (default: this page's options)."""
        options = options or self.options
        start = time.perf_counter()
        cap_s = options.cap_ms / 1000
        step_ms = options.interval_ms

        def left_ms() -> float:
            return max(0.0, cap_s - (time.perf_counter() - start)) * 1000

        # A click's navigation or fetch reaches us a few ms after the input call returned: give the
        # events one interval to arrive, so the first frame is not asked for while a document commits.
        self.page.wait_for_timeout(min(step_ms, left_ms()))
        while True:
            # wait_for_timeout (not time.sleep) so Playwright keeps delivering request events meanwhile.
            while self.network.pending and left_ms() > 0:
                self.page.wait_for_timeout(min(step_ms, left_ms()))
            if left_ms() > 0:
                # After a commit this waits for the new document's load; a slow page times out here
                # and the frame check below still bounds the wait.
                with contextlib.suppress(Exception):
                    self.page.wait_for_load_state("load", timeout=max(1.0, left_ms()))
            # What the page announced: a menu due in 300 ms, a transition under way, a DOM still
            # being rebuilt. A page that can tell needs only a short run of still frames after.
            quiet_ms = options.quiet_ms
            while left_ms() > 0:
                state = self.page_state(min(FRAME_TIMEOUT_S * 1000, left_ms()))
                if state is None:
                    break
                quiet_ms = min(quiet_ms, IDLE_QUIET_MS)
                if not (state["timers"] or state["animations"] or state["quiet"] < IDLE_QUIET_MS):
                    break
                self.page.wait_for_timeout(min(step_ms, left_ms()))
            frames = wait_for_settle(
                self.thumbnail,
                options.model_copy(update={"cap_ms": left_ms(), "quiet_ms": quiet_ms}),
                sleep=lambda s: self.page.wait_for_timeout(s * 1000),
            )
            # A click's fetch or navigation is often reported only after the first frames: wait again.
            if not self.network.pending or left_ms() <= 0:
                break
        total = (time.perf_counter() - start) * 1000
        return SettleReport(ms=total, settled=frames.settled, frames=frames.frames)
