"""Viewport screenshots straight over the page's DevTools session (Page.captureScreenshot).

Why not Playwright's page.screenshot: it runs a script in every frame before and after the
capture, waits for document.fonts.ready and asks for the layout metrics, each a round trip: 43 ms
for a 1280x800 JPEG decoded, against 34 ms here (benchmarks/bench_env_browser.py, 2 busy cores).
Here a CSS-pixel shot of the whole viewport is one DevTools round trip; a device-pixel shot or an
observed area adds one Page.getLayoutMetrics for the clip's scroll offset.

What is left is mostly Chromium's: a capture forces a new compositor frame and copies it when it is
drawn, about 1.5 frames at 60 Hz (an 8x8 px capture alone takes 22-30 ms), then the JPEG encode,
the relay and the decode (3-5 ms at 1280x800). Rejected, measured: a screencast
(Page.startScreencast) with a frame always at hand - Chromium sends a frame only when something was
drawn, 50-230 ms after the change on a busy 2-core machine, so "no newer frame yet" cannot be told
apart from "still the screen", and proving a frame fresh costs a forced frame, which is what a
capture is; Chromium without its frame-rate limit - half the wait, but a spinner then burns both
cores. So every capture here is a new compositor frame, taken after the call.

Frames: sizes and clips are CSS px of the viewport (document coordinates for a clip's origin);
`scale` is image px per CSS px: 1 for the CSS frame, the device scale factor for the device frame.
On this DevTools session (its own, without Playwright's device-metrics override) Chromium renders a
clip at `clip.scale` image px per CSS px, at the page's real device scale factor, and an unclipped
shot in CSS px. The image's size is checked against that every time: a Chromium that behaves
otherwise raises CaptureUnsupported (use another path) instead of handing over a misframed image.
"""

from __future__ import annotations

import base64
import io
import time
from typing import TYPE_CHECKING, Any, Literal

from actions.settle import FrameUnavailable

if TYPE_CHECKING:
    from PIL.Image import Image
    from playwright.sync_api import CDPSession

ImageFormat = Literal["jpeg", "png"]


class CaptureUnsupported(Exception):
    """Chromium returned an image of another size than asked for: its clip semantics differ."""


class NoSurface(FrameUnavailable):
    """Chromium had no frame to capture ("Unable to capture screenshot"): a page between documents,
    e.g. about:blank right after a blocked navigation. Playwright's screenshot, which first waits
    for an animation frame, gets one."""


def expected_size(size_css: tuple[int, int], scale: float) -> tuple[int, int]:
    """Image px of a `size_css` (CSS px) shot at `scale` image px per CSS px."""
    return round(size_css[0] * scale), round(size_css[1] * scale)


def capture_viewport(
    cdp: CDPSession,
    size_css: tuple[int, int],
    scale: float = 1.0,
    *,
    whole_viewport: bool = True,
    image_format: ImageFormat = "jpeg",
    quality: int = 90,
    timeout_ms: float = 10_000,
) -> Image:
    """An RGB image of the viewport's top-left `size_css` (CSS px) at `scale` image px per CSS px.

    `whole_viewport`: `size_css` is the whole viewport (no clip needed at scale 1). All DevTools
    calls together take at most `timeout_ms`; a frame not returned by then (a busy renderer, a
    navigation committing) raises FrameUnavailable. An image of the wrong size raises
    CaptureUnsupported.
    """
    deadline = time.perf_counter() + timeout_ms / 1000
    params: dict[str, Any] = {"format": image_format, "fromSurface": True, "captureBeyondViewport": False}
    if image_format == "jpeg":
        params["quality"] = quality
    # optimizeForSpeed: less zlib effort for a PNG (the JPEG comes out byte for byte the same). JPEG
    # stays the default: a fast PNG of a photo-like 1280x800 page is 1.8 MB (0.4 MB as JPEG q90)
    # and takes 130 ms to capture and decode, against 70 ms.
    params["optimizeForSpeed"] = True
    if not (whole_viewport and scale == 1.0):
        # The clip's origin is in document coordinates: start at the scroll offset to get what is
        # on screen (the same way Playwright and the settle thumbnails do).
        metrics = _send(cdp, "Page.getLayoutMetrics", {}, deadline)
        viewport = metrics["cssVisualViewport"]
        params["clip"] = {
            "x": viewport["pageX"],
            "y": viewport["pageY"],
            "width": size_css[0],
            "height": size_css[1],
            "scale": scale,
        }
    data = _send(cdp, "Page.captureScreenshot", params, deadline)["data"]
    image = _decode(base64.b64decode(data))
    want = expected_size(size_css, scale)
    if image.size != want:
        raise CaptureUnsupported(
            f"asked for {want[0]}x{want[1]} px, Chromium returned {image.width}x{image.height}"
        )
    return image


def _send(cdp: CDPSession, method: str, params: dict[str, Any], deadline: float) -> dict[str, Any]:
    """One DevTools call within what is left of the deadline; FrameUnavailable when it fails or is late."""
    left_ms = (deadline - time.perf_counter()) * 1000
    if left_ms <= 0:
        raise FrameUnavailable(f"{method}: no time left for the capture")
    try:
        reply: dict[str, Any] = cdp.send(method, params, timeout=left_ms)
    except Exception as e:  # Playwright's TimeoutError or Error (target closed, protocol error)
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "Unable to capture screenshot" in first:
            raise NoSurface(first) from e
        raise FrameUnavailable(first) from e
    return reply


def _decode(data: bytes) -> Image:
    """The image as RGB (no copy when Chromium's JPEG already is RGB; a PNG may come as RGBA)."""
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    image.load()
    return image if image.mode == "RGB" else image.convert("RGB")
