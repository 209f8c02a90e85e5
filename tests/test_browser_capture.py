"""The browser's DevTools capture (actions.browser_capture) in a real Chromium: the same image as
Playwright's own screenshot at device scale factor 1 and 2, in the CSS and the device frame, with
and without an observed area, on a scrolled page; a change made just before the capture is in it;
a renderer that withholds frames gives the typed error within the deadline."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

import actions.browser
from actions.browser import BrowserEnvironment
from actions.browser_capture import CaptureUnsupported, capture_viewport, expected_size
from actions.errors import EnvironmentUnavailable
from actions.settle import FrameUnavailable

pytestmark = pytest.mark.browser

FRAMES = [(1.0, "css"), (2.0, "css"), (2.0, "device")]
AREA = (600, 400)  # CSS px: the observed top-left area (as MiniWoB's task area)
SCROLL_Y = 330  # CSS px: not a multiple of a stripe, so a clip at the wrong offset shows

# Stripes of distinct colours 50 CSS px high with a label and a 1 px grid: a clip at the wrong
# scroll offset, scale or size cannot match. 40 stripes: the page scrolls.
STRIPES = "".join(
    f'<div style="height:50px;background:hsl({i * 37 % 360},70%,{40 + i % 3 * 15}%);'
    f'font:16px sans-serif">stripe {i} <input value="field {i}"></div>'
    for i in range(40)
)
PAGE = f"""<!doctype html><html><head><title>capture</title></head><body style="margin:0;
background-image:linear-gradient(90deg,rgba(0,0,0,.2) 1px,transparent 1px);background-size:7px 7px">
{STRIPES}</body></html>"""


def _playwright_shot(env: BrowserEnvironment) -> Image.Image:
    """Playwright's own PNG screenshot of the observed screen, in the env's frame (the reference).
    Its clip is in CSS px of the viewport: Playwright adds the scroll offset itself."""
    w, h = env.screen_size
    data = env.page.screenshot(
        type="png",
        scale="device" if env.options.screenshot_frame == "device" else "css",
        clip={"x": 0, "y": 0, "width": w, "height": h},
    )
    return Image.open(io.BytesIO(data)).convert("RGB")


def _mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel, 0..255."""
    assert a.size == b.size
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


@pytest.fixture(params=[(f, area) for f in FRAMES for area in (None, AREA)],
                ids=[f"dsf{dsf:g}-{frame}-{'area' if area else 'viewport'}"
                     for dsf, frame in FRAMES for area in (None, AREA)])  # fmt: skip
def framed(request: pytest.FixtureRequest, browser_factory: Callable[..., Any]) -> BrowserEnvironment:
    (dsf, frame), area = request.param
    env: BrowserEnvironment = browser_factory(
        device_scale_factor=dsf, screenshot_frame=frame, observe_area=area, image_format="png"
    )
    env.reset()
    env.page.set_content(PAGE, wait_until="load")
    env.evaluate(f"window.scrollTo(0, {SCROLL_Y})")
    env.settle()
    return env


def test_the_capture_is_playwrights_screenshot_pixel_for_pixel(framed: BrowserEnvironment) -> None:
    """PNG both ways: the same pixels, at the size of the frame (CSS or device px)."""
    env = framed
    obs = env.observe()
    assert env._direct_capture  # the DevTools path took it, not the fallback
    scale = env.options.device_scale_factor if env.options.screenshot_frame == "device" else 1.0
    assert obs.geometry.scale == scale
    assert obs.image.size == expected_size(env.screen_size, scale)
    reference = _playwright_shot(env)
    assert obs.image.size == reference.size
    assert ImageChops.difference(obs.image, reference).getbbox() is None


def test_the_jpeg_capture_is_close_to_playwrights(framed: BrowserEnvironment) -> None:
    """The default JPEG (quality 90) against Playwright's PNG: only compression noise differs."""
    env = framed
    scale = env.options.device_scale_factor if env.options.screenshot_frame == "device" else 1.0
    image = capture_viewport(
        env._settler_for_page().cdp(),
        env.screen_size,
        scale,
        whole_viewport=env.options.observe_area is None,
        image_format="jpeg",
        quality=90,
        timeout_ms=5000,
    )
    reference = _playwright_shot(env)
    assert image.mode == "RGB" and image.size == reference.size
    assert _mean_difference(image, reference) < 2.0
    # Against the page scrolled one stripe on, it is far off: the offset is right, not just the size.
    env.evaluate(f"window.scrollTo(0, {SCROLL_Y + 50})")
    env.settle()
    assert _mean_difference(image, _playwright_shot(env)) > 10.0


@pytest.mark.parametrize(("dsf", "frame"), FRAMES, ids=["dsf1", "dsf2-css", "dsf2-device"])
def test_a_change_just_before_the_capture_is_in_it(
    browser_factory: Callable[..., Any], dsf: float, frame: str
) -> None:
    """No stale frame: each observe right after a repaint-causing change shows the change."""
    env: BrowserEnvironment = browser_factory(device_scale_factor=dsf, screenshot_frame=frame)
    env.reset()
    env.page.set_content("<body style='margin:0;background:rgb(0,0,255)'></body>", wait_until="load")
    env.observe()
    scale = env.options.device_scale_factor if frame == "device" else 1.0
    centre = (round(640 * scale), round(400 * scale))
    for i in range(12):
        colour = (255, 0, 0) if i % 2 == 0 else (0, 160, 0)
        env.evaluate(f"document.body.style.background = 'rgb{colour}'")  # no settle, no wait
        pixel = env.observe().image.getpixel(centre)
        assert isinstance(pixel, tuple)
        assert all(abs(a - b) <= 12 for a, b in zip(pixel, colour, strict=True)), (i, pixel, colour)


def test_a_withheld_frame_raises_the_typed_error_within_the_deadline(
    browser_factory: Callable[..., Any], pages_url: str
) -> None:
    env: BrowserEnvironment = browser_factory(screenshot_timeout_ms=400)
    env.reset()
    env.goto(pages_url + "second.html")
    cdp = env._settler_for_page().cdp()
    # A busy renderer produces no frame (as tests/test_stuck_steps.py makes one).
    env.evaluate("setTimeout(() => { const t = Date.now(); while (Date.now() - t < 3000) {} }, 0)")
    env.page.wait_for_timeout(100)
    start = time.perf_counter()
    with pytest.raises(FrameUnavailable):
        capture_viewport(cdp, (1280, 800), 2.0, whole_viewport=False, timeout_ms=300)  # clip path
    assert time.perf_counter() - start < 1.0
    start = time.perf_counter()
    with pytest.raises(EnvironmentUnavailable, match="did not return a screenshot"):
        env.observe()
    assert time.perf_counter() - start < 1.2
    env.page.wait_for_timeout(3000)
    assert env.observe().image.size == (1280, 800)  # the renderer is back: frames come again


def test_a_wrong_size_falls_back_to_playwrights_screenshot(
    browser_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Chromium whose clips scale otherwise: Playwright's screenshot from then on, of the same
    area of a scrolled page in the same frame."""
    env: BrowserEnvironment = browser_factory(
        device_scale_factor=2.0, screenshot_frame="device", observe_area=AREA, image_format="png"
    )
    env.reset()
    env.page.set_content(PAGE, wait_until="load")
    env.evaluate(f"window.scrollTo(0, {SCROLL_Y})")
    env.settle()
    direct = env.observe().image
    calls: list[tuple[int, int]] = []

    def unsupported(_cdp: Any, size_css: tuple[int, int], *_a: Any, **_k: Any) -> Image.Image:
        calls.append(size_css)
        raise CaptureUnsupported("asked for 1200x800 px, Chromium returned 600x400")

    monkeypatch.setattr(actions.browser, "capture_viewport", unsupported)
    try:
        fallback = env.observe().image
        assert env.observe().image.size == (1200, 800)
        assert calls == [AREA]  # asked once, then not again
    finally:
        env._direct_capture = True
    assert fallback.size == direct.size == (1200, 800)
    assert ImageChops.difference(fallback, direct).getbbox() is None


def test_expected_size_rounds_fractional_scales() -> None:
    assert expected_size((1280, 800), 1.0) == (1280, 800)
    assert expected_size((1280, 800), 1.25) == (1600, 1000)
    assert expected_size((601, 401), 1.5) == (902, 602)
