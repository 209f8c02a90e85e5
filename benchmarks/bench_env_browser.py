"""Browser environment latency at 1280x800 and 1920x1080: observe and execute+settle.

Observe: the capture (a JPEG q90 in the model's frame, decoded to a PIL RGB image) through the
page's DevTools session (actions.browser_capture, what observe uses) beside Playwright's
page.screenshot (the path before it, now the fallback), the whole observe (title and secret masking
included) either way, and a naive full PNG screenshot. The two capture paths are timed interleaved,
call for call, so a busy machine slows both alike. Execute+settle: settle detection vs a fixed 1 s
sleep after the click.
"""

from __future__ import annotations

import io
import random
import statistics
import time
from collections.abc import Callable, Sequence
from functools import partial

from actions.browser import BrowserEnvironment, BrowserOptions
from actions.types import Click
from benchmarks.timing import median_ms

SIZES = ((1280, 800), (1920, 1080))
HIDPI = (1280, 800, 2.0)  # observe only, in the CSS and the device frame: a naive PNG is 4x the pixels
OBSERVE_REPEATS = 30
FRAME_S = 1 / 60  # one compositor frame at Chromium's 60 Hz
EXECUTE_REPEATS = 5
NAIVE_REPEATS = 3

# A form-like page: text, inputs, a button that changes text, one that runs a 400 ms animation.
PAGE = (
    """<!doctype html><html><head><meta charset="utf-8"><title>bench</title></head>
<body style="font: 15px sans-serif; margin: 24px">
<h1>Account settings</h1>
<button id="toggle" style="position:absolute; left:40px; top:90px; width:160px; height:40px"
  onclick="out.textContent = out.textContent === 'on' ? 'off' : 'on'">Toggle</button>
<button id="anim" style="position:absolute; left:240px; top:90px; width:160px; height:40px"
  onclick="bar.style.width = bar.style.width === '600px' ? '20px' : '600px'">Animate</button>
<div id="out" style="position:absolute; left:40px; top:150px">off</div>
<div id="bar" style="position:absolute; left:40px; top:190px; width:20px; height:160px;
  background:#36c; transition: width 400ms linear"></div>
<div style="position:absolute; top:380px; left:40px; right:40px">
"""
    + "".join(
        f"<p>Paragraph {i}: <input value='field {i}'> Lorem ipsum dolor sit amet, consectetur.</p>"
        for i in range(20)
    )
    + "</div></body></html>"
)


def _naive_observe(env: BrowserEnvironment) -> None:
    from PIL import Image

    Image.open(io.BytesIO(env.page.screenshot())).convert("RGB")  # PNG, device pixels


def _naive_click(env: BrowserEnvironment, x: int, y: int) -> None:
    env.page.mouse.click(x, y)
    time.sleep(1.0)


def interleaved_medians(fns: Sequence[Callable[[], object]], repeats: int) -> list[float]:
    """Median wall time in ms of each of `fns` over `repeats` rounds, one call of each per round in
    a shuffled order (after one warm-up round): the machine's load falls on all of them alike.

    Before each call an untimed pause of 0 to one 60 Hz frame: a capture waits for the compositor's
    next frames, and calls made back to back would all start at the same point of its cycle (an
    agent's observe starts at any point)."""
    rng = random.Random(13)
    times: list[list[float]] = [[] for _ in fns]
    order = list(range(len(fns)))
    for round_ in range(repeats + 1):
        rng.shuffle(order)
        for i in order:
            time.sleep(rng.uniform(0, FRAME_S))
            start = time.perf_counter()
            fns[i]()
            if round_:
                times[i].append((time.perf_counter() - start) * 1000)
    return [statistics.median(t) for t in times]


def _old_observe(env: BrowserEnvironment) -> None:
    """observe() as it was: Playwright's screenshot (the fallback path) instead of DevTools."""
    env._direct_capture = False
    try:
        env.observe()
    finally:
        env._direct_capture = True


def bench_observe(env: BrowserEnvironment, label: str) -> None:
    device = env.options.screenshot_frame == "device"
    scale = env.options.device_scale_factor if device else 1.0
    page = env.page
    devtools, playwright, ours, old = interleaved_medians(
        [
            lambda: env._capture(page, scale),
            lambda: env._playwright_capture(page, device=device),
            env.observe,
            lambda: _old_observe(env),
        ],
        OBSERVE_REPEATS,
    )
    assert env._direct_capture, "the DevTools capture fell back to Playwright's: nothing to compare"
    naive = median_ms(lambda: _naive_observe(env), OBSERVE_REPEATS)
    frame = "device px" if device else "CSS px"
    print(f"{label} capture+decode (JPEG q90, {frame}): DevTools {devtools:6.1f} ms | "
          f"Playwright screenshot {playwright:6.1f} ms | {playwright / devtools:4.1f}x")  # fmt: skip
    print(f"{label} observe (title, masking): ours {ours:6.1f} ms | before {old:6.1f} ms | "
          f"naive (PNG, device px) {naive:6.1f} ms | naive/ours {naive / ours:4.1f}x")  # fmt: skip


def bench_size(width: int, height: int) -> None:
    with BrowserEnvironment(BrowserOptions(viewport=(width, height))) as env:
        env.page.set_content(PAGE, wait_until="load")
        bench_observe(env, f"{width}x{height}")
        for name, x, y in (("click (text change)", 120, 110), ("click (400 ms animation)", 320, 110)):
            settle: list[float] = []

            def ours_click(x: int = x, y: int = y, settle: list[float] = settle) -> None:
                outcome = env.execute(Click(x=x, y=y))
                settle.append(getattr(outcome, "settle_ms", None) or 0.0)

            ours = median_ms(ours_click, EXECUTE_REPEATS)
            naive = median_ms(partial(_naive_click, env, x, y), NAIVE_REPEATS)
            print(f"{width}x{height} execute+settle {name:<25}: ours {ours:7.1f} ms "
                  f"(settle {statistics.median(settle):6.1f} ms) | naive (sleep 1 s) {naive:7.1f} ms"
                  f" | naive/ours {naive / ours:4.1f}x")  # fmt: skip


def main() -> None:
    for width, height in SIZES:
        bench_size(width, height)
    width, height, dsf = HIDPI
    for frame in ("css", "device"):
        options = BrowserOptions(viewport=(width, height), device_scale_factor=dsf, screenshot_frame=frame)
        with BrowserEnvironment(options) as env:
            env.page.set_content(PAGE, wait_until="load")
            bench_observe(env, f"{width}x{height}@{dsf:g}x")


if __name__ == "__main__":
    main()
