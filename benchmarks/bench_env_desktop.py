"""Desktop environment latency on a private Xvfb + openbox with the Tk probe, at 1280x800 and
1920x1080: observe (capture + conversion to a PIL image), input injection, settle time after a
click, and one agent step's environment overhead against the naive loop peers use
(full PIL capture + PNG encode as pyautogui.screenshot does, click with pyautogui's default
PAUSE of 0.1 s, then a fixed 1 s sleep).
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from pathlib import Path

from actions.desktop import DesktopEnvironment, DesktopOptions
from actions.types import Click, Executed
from actions.xdisplay import VirtualDisplay
from benchmarks.timing import median_ms
from tasks.apps.desktop import launch_app

SIZES = ((1280, 800), (1920, 1080))
REPEATS = 25
NAIVE_STEPS = 3
NAIVE_SLEEP_S = 1.0
NAIVE_PAUSE_S = 0.1  # pyautogui.PAUSE default, paid after every pyautogui call


def _naive_screenshot_png(env: DesktopEnvironment) -> bytes:
    """What pyautogui.screenshot() + saving it costs: a full PIL capture, then a default PNG."""
    buffer = io.BytesIO()
    env.observe().image.save(buffer, format="PNG")
    return buffer.getvalue()


def bench_size(width: int, height: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, VirtualDisplay(width, height) as display:
        app = launch_app("probe", Path(tmp) / "probe.jsonl", display.env)
        try:
            with DesktopEnvironment(DesktopOptions(display=display.display)) as env:
                centre = next(t for t in app.ready["targets"] if t["name"] == "center")
                x, y = centre["x_root"], centre["y_root"]
                blank = (x + 100, y)
                figures = {
                    "observe_ms": median_ms(env.observe, REPEATS),
                    "signature_ms": median_ms(env.frame_signature, REPEATS),
                    "click_input_ms": median_ms(lambda: env.input.click(*blank), REPEATS),
                    "naive_observe_ms": median_ms(lambda: _naive_screenshot_png(env), 8),
                }
                settles, steps = [], []
                for _ in range(8):
                    start = time.perf_counter()
                    env.observe()
                    outcome = env.execute(Click(x=x, y=y))
                    steps.append((time.perf_counter() - start) * 1000)
                    if isinstance(outcome, Executed) and outcome.settle_ms is not None:
                        settles.append(outcome.settle_ms)
                figures["settle_ms"] = statistics.median(settles)
                figures["step_ms"] = statistics.median(steps)
                naive = []
                for _ in range(NAIVE_STEPS):
                    start = time.perf_counter()
                    _naive_screenshot_png(env)
                    env.input.click(x, y)
                    time.sleep(NAIVE_PAUSE_S + NAIVE_SLEEP_S)
                    naive.append((time.perf_counter() - start) * 1000)
                figures["naive_step_ms"] = statistics.median(naive)
        finally:
            app.close()
    return figures


def main() -> None:
    print("desktop environment on Xvfb + openbox + Tk probe (medians; ms)")
    header = f"{'screen':>10} {'observe':>8} {'signature':>9} {'click in':>8} {'settle':>7} "
    header += f"{'step':>7} {'naive obs':>9} {'naive step':>10} {'obs x':>6} {'step x':>7}"
    print(header)
    results = {}
    for width, height in SIZES:
        f = bench_size(width, height)
        results[(width, height)] = f
        print(
            f"{width}x{height:<5} {f['observe_ms']:8.1f} {f['signature_ms']:9.1f} "
            f"{f['click_input_ms']:8.1f} {f['settle_ms']:7.1f} {f['step_ms']:7.1f} "
            f"{f['naive_observe_ms']:9.1f} {f['naive_step_ms']:10.1f} "
            f"{f['naive_observe_ms'] / f['observe_ms']:6.1f} "
            f"{f['naive_step_ms'] / f['step_ms']:7.1f}"
        )
    full_hd = results[(1920, 1080)]
    print(
        f"target: observe < 15 ms at 1920x1080 -> {full_hd['observe_ms']:.1f} ms "
        f"({'met' if full_hd['observe_ms'] < 15 else 'NOT met'}); step overhead >= 5x below naive "
        f"-> {full_hd['naive_step_ms'] / full_hd['step_ms']:.1f}x "
        f"({'met' if full_hd['naive_step_ms'] / full_hd['step_ms'] >= 5 else 'NOT met'})"
    )
    settle = DesktopOptions().settle
    print(f"step = observe + click + settle wait (quiet window {settle.quiet_ms:g} ms, at least "
          f"{settle.min_ms:g} ms for delayed UI); naive = PNG screenshot + click + "
          f"{NAIVE_PAUSE_S:g} s PAUSE + {NAIVE_SLEEP_S:g} s sleep")  # fmt: skip


if __name__ == "__main__":
    main()
