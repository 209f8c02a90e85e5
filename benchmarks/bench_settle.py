"""Browser settle against known delays: buttons whose visible change comes 0, 100, 300 and 600 ms
after the click (a page timer) and one that runs a 400 ms transition. For each: how long `execute`
waited (median of 5), whether it ever returned before the change was complete ("early"), and the
wait over the true delay plus the 120 ms quiet window that proves the screen is still."""

from __future__ import annotations

import statistics

from actions.browser import BrowserEnvironment, BrowserOptions
from actions.types import Click, Executed

REPEATS = 5
CASES = (("timer 0 ms", 0), ("timer 100 ms", 100), ("timer 300 ms", 300), ("timer 600 ms", 600))
PAGE = """<!doctype html><html><body style="margin:0;font:16px sans-serif">
<button id="go" style="position:absolute;left:20px;top:20px;width:160px;height:40px">Go</button>
<div id="out" style="position:absolute;left:20px;top:80px">idle</div>
<div id="bar" style="position:absolute;left:20px;top:120px;width:20px;height:60px;background:#36c;
  transition:width 400ms linear"></div>
<script>
  window.done = false; window.mode = 'timer'; window.delay = 0; let n = 0;
  document.getElementById('go').addEventListener('click', () => {
    window.done = false; n += 1;
    if (window.mode === 'transition') {
      const bar = document.getElementById('bar');
      bar.addEventListener('transitionend', () => { window.done = true; }, { once: true });
      bar.style.width = bar.style.width === '600px' ? '20px' : '600px';
    } else {
      setTimeout(() => { document.getElementById('out').textContent = 'result ' + n; window.done = true; },
                 window.delay);
    }
  });
</script></body></html>"""
QUIET_MS = 120


def measure(env: BrowserEnvironment, mode: str, delay: int) -> tuple[float, int]:
    env.evaluate(f"window.mode = '{mode}'; window.delay = {delay};")
    waits, early = [], 0
    for _ in range(REPEATS):
        outcome = env.execute(Click(x=100, y=40))
        assert isinstance(outcome, Executed) and outcome.settle_ms is not None
        early += not env.evaluate("window.done")
        waits.append(outcome.settle_ms)
    return statistics.median(waits), early


def main() -> None:
    with BrowserEnvironment(BrowserOptions()) as env:
        env.page.set_content(PAGE, wait_until="load")
        rows = [(name, *measure(env, "timer", delay), delay) for name, delay in CASES]
        rows.append(("transition 400 ms", *measure(env, "transition", 400), 400))
    print(f"{'change':<18} {'settle (median)':>15} {'early':>6} {'true + quiet':>13} {'ratio':>6}")
    for name, wait, early, true_ms in rows:
        ideal = true_ms + QUIET_MS
        print(f"{name:<18} {wait:12.0f} ms {early:>3}/{REPEATS} {ideal:10.0f} ms {wait / ideal:6.2f}x")


if __name__ == "__main__":
    main()
