"""Browser environment latency at 1280x800 and 1920x1080: observe (our JPEG CSS-pixel screenshot vs a
naive full PNG screenshot) and execute+settle (settle detection vs a fixed 1 s sleep after the click).
"""

from __future__ import annotations

import io
import statistics
import time
from functools import partial

from actions.browser import BrowserEnvironment, BrowserOptions
from actions.types import Click
from benchmarks.timing import median_ms

SIZES = ((1280, 800), (1920, 1080))
HIDPI = (1280, 800, 2.0)  # observe only: a naive PNG is then 4x the pixels
OBSERVE_REPEATS = 10
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


def bench_observe(env: BrowserEnvironment, label: str) -> None:
    ours = median_ms(env.observe, OBSERVE_REPEATS)
    naive = median_ms(lambda: _naive_observe(env), OBSERVE_REPEATS)
    print(f"{label} observe: ours (JPEG q90, CSS px) {ours:7.1f} ms | "
          f"naive (PNG, device px) {naive:7.1f} ms | naive/ours {naive / ours:4.1f}x")  # fmt: skip


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
    with BrowserEnvironment(BrowserOptions(viewport=(width, height), device_scale_factor=dsf)) as env:
        env.page.set_content(PAGE, wait_until="load")
        bench_observe(env, f"{width}x{height}@{dsf:g}x")


if __name__ == "__main__":
    main()
