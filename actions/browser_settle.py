"""Waiting for a browser page to settle after an action: network, navigation, then still frames.

Frames are tiny grayscale thumbnails of the visible viewport taken through the DevTools protocol,
so a frame costs one compositor frame (~30 ms) and no full-size encode.
"""

from __future__ import annotations

import base64
import contextlib
import io
import time
from typing import TYPE_CHECKING, Any

from actions.settle import SettleOptions, SettleReport, wait_for_settle

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, CDPSession, Page, Request, Response

THUMBNAIL_SCALE = 0.125  # 1280x800 CSS px -> 160x100 thumbnail


class NetworkTracker:
    """Counts the context's requests in flight (all tabs); long-lived streams are bounded by the cap."""

    def __init__(self, context: BrowserContext) -> None:
        self._inflight: set[Request] = set()
        # Playwright wraps handlers and needs Python functions (not builtin bound methods).
        context.on("request", self._started)
        context.on("requestfinished", self._ended)
        context.on("requestfailed", self._ended)
        # A page that never reads a fetch body never gets "requestfinished": count the request as
        # done once its response arrived, or every action would wait out the settle cap.
        context.on("response", self._responded)

    def _started(self, request: Request) -> None:
        self._inflight.add(request)

    def _responded(self, response: Response) -> None:
        self._inflight.discard(response.request)

    def _ended(self, request: Request) -> None:
        self._inflight.discard(request)

    @property
    def pending(self) -> int:
        return len(self._inflight)


class PageSettler:
    """Settle detection for one page: requests drained, load event fired, thumbnails still."""

    def __init__(self, page: Page, network: NetworkTracker, options: SettleOptions) -> None:
        self.page, self.network, self.options = page, network, options
        self._cdp: CDPSession | None = None

    def _session(self) -> CDPSession:
        if self._cdp is None:
            self._cdp = self.page.context.new_cdp_session(self.page)
        return self._cdp

    def thumbnail(self) -> bytes:
        """Grayscale bytes of the visible viewport at 1/8 CSS scale (a frame signature)."""
        from PIL import Image

        cdp = self._session()
        vv: dict[str, Any] = cdp.send("Page.getLayoutMetrics")["cssVisualViewport"]
        # The clip is in document coordinates: start at the scroll position to see what is on screen.
        shot = cdp.send(
            "Page.captureScreenshot",
            {
                "format": "jpeg",
                "quality": 60,
                "optimizeForSpeed": True,
                "clip": {
                    "x": vv["pageX"],
                    "y": vv["pageY"],
                    "width": vv["clientWidth"],
                    "height": vv["clientHeight"],
                    "scale": THUMBNAIL_SCALE,
                },
            },
        )
        return Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("L").tobytes()

    def wait(self) -> SettleReport:
        """Wait for pending requests, the load event and still frames, all within `cap_ms` in total."""
        start = time.perf_counter()
        cap_s = self.options.cap_ms / 1000
        step_ms = self.options.interval_ms

        def left_ms() -> float:
            return max(0.0, cap_s - (time.perf_counter() - start)) * 1000

        while True:
            # wait_for_timeout (not time.sleep) so Playwright keeps delivering request events meanwhile.
            while self.network.pending and left_ms() > 0:
                self.page.wait_for_timeout(min(step_ms, left_ms()))
            if left_ms() > 0:
                # A slow page times out here; the frame check below still bounds the wait.
                with contextlib.suppress(Exception):
                    self.page.wait_for_load_state("load", timeout=max(1.0, left_ms()))
            frames = wait_for_settle(
                self.thumbnail,
                self.options.model_copy(update={"cap_ms": left_ms()}),
                sleep=lambda s: self.page.wait_for_timeout(s * 1000),
            )
            # A click's fetch is often reported only after the first frames: then wait again.
            if not self.network.pending or left_ms() <= 0:
                break
        total = (time.perf_counter() - start) * 1000
        return SettleReport(ms=total, settled=frames.settled, frames=frames.frames)
