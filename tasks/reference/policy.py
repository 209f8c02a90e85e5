"""The reference policy: a ModelBackend that solves sandbox tasks from their solution scripts.

At every `generate()` it looks at the live screen (the Playwright page of a BrowserEnvironment, or
window geometry from xdotool on a desktop), finds the current step's target and answers raw Qwen3-VL
text written by the codec (`format_reply`: logical screen pixels in, model-grid coordinates out),
so a run goes through the same parser, coordinate mapping and environments as the real model. A
suite that scores 100% with it proves every task solvable and every evaluator right.
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any, NamedTuple

from actions.types import (
    Action,
    Click,
    Finish,
    Hotkey,
    MouseButton,
    ScreenGeometry,
    Scroll,
    TypeText,
    Wait,
)
from actions.xtools import require_tool
from model.backend import ModelError
from model.qwen3vl import CoordinateGrid, format_reply, to_model, to_screen
from model.types import ModelRequest, ModelResponse
from tasks.reference.script import (
    ClickStep,
    KeyStep,
    Solution,
    TerminateStep,
    TypeStep,
    WaitForStep,
    load_solution,
)

# Geometry of an element as the page sees it: its centre, whether a click there reaches it, and the
# scroll container it sits in (a dropdown list scrolls separately from the page).
_PROBE = """(el) => {
  const r = el.getBoundingClientRect();
  const vw = innerWidth, vh = innerHeight;
  const cx = (r.left + r.right) / 2, cy = (r.top + r.bottom) / 2;
  let hit = false;
  if (cx >= 0 && cx < vw && cy >= 0 && cy < vh) {
    const t = document.elementFromPoint(cx, cy);
    hit = !!t && (t === el || el.contains(t) || (el.labels && [...el.labels].some((l) => l.contains(t))));
  }
  let p = el.parentElement, box = null;
  while (p && p !== document.body && p !== document.documentElement) {
    const s = getComputedStyle(p);
    if (/(auto|scroll)/.test(s.overflowY) && p.scrollHeight > p.clientHeight + 1) {
      const b = p.getBoundingClientRect(); box = [b.left, b.top, b.right, b.bottom]; break;
    }
    p = p.parentElement;
  }
  const disabled = el.disabled === true || el.getAttribute("aria-disabled") === "true";
  const focused = document.activeElement === el;
  const value = "value" in el ? String(el.value) : "";
  return { cx, cy, hit, box, disabled, focused, value, vw, vh };
}"""

_MAX_SCROLLS = 20
_MAX_WAITS = 4
_MAX_RETRIES = 2


class _Point(NamedTuple):
    """A target in logical pixels of `screen` (the viewport, or the monitor), on a grid point."""

    x: int
    y: int
    screen: ScreenGeometry


class ReferenceBackend:
    """Answers each step of the task's reference script as a Qwen3-VL tool call."""

    name = "reference"

    def __init__(
        self,
        env: Any,
        task: Any,
        solution: Solution | None = None,
        grid: CoordinateGrid = CoordinateGrid(),
        timeout_s: float = 10.0,
    ) -> None:
        self.env = env
        self.solution = solution or load_solution(task)
        self.grid = grid
        self.timeout_s = timeout_s
        self._index = 0
        self._phase: str | None = None  # progress inside a multi-action step (focus, clear, expect)
        self._scrolls = 0
        self._waits = 0
        self._retries = 0
        self.requests = 0

    # ----- the backend protocol ------------------------------------------------------------------

    def generate(self, request: ModelRequest) -> ModelResponse:
        start = time.perf_counter()
        self.requests += 1
        text = self._next_reply()
        return ModelResponse(text=text, latency_s=time.perf_counter() - start)

    def close(self) -> None:
        pass

    # ----- stepping through the script -----------------------------------------------------------

    def _advance(self) -> None:
        self._index += 1
        self._phase = None
        self._scrolls = self._waits = self._retries = 0

    def _reply(self, note: str, action: Action, screen: ScreenGeometry | None = None) -> str:
        # The Action line is one line: script notes may wrap.
        return format_reply(action, screen, self.grid, summary=" ".join(note.split()) or None)

    def _click_at(self, note: str, point: _Point, button: MouseButton = "left", count: int = 1) -> str:
        return self._reply(note, Click(x=point.x, y=point.y, button=button, count=count), point.screen)

    def _give_up(self, why: str) -> str:
        self._index = len(self.solution.steps)
        return self._reply(f"Reference script stuck: {why}", Finish(status="failure"))

    def _wait(self, why: str) -> str:
        self._waits += 1
        if self._waits > _MAX_WAITS:
            return self._give_up(why)
        return self._reply(f"Waiting: {why}", Wait(seconds=1))

    def _next_reply(self) -> str:
        steps = self.solution.steps
        while self._index < len(steps):
            step = steps[self._index]
            if isinstance(step, WaitForStep):
                if self._present(step, step.timeout_s):
                    self._advance()
                    continue
                return self._wait(f"{step.selector or step.window} did not appear")
            if isinstance(step, KeyStep):
                self._advance()
                note = step.note or f"Press {'+'.join(step.keys)}"
                return self._reply(note, Hotkey(keys=step.keys))
            if isinstance(step, TerminateStep):
                note = step.text or ("The task is done." if step.status == "success" else "I cannot do this.")
                return self._reply(note, Finish(status=step.status))
            reply = self._click(step) if isinstance(step, ClickStep) else self._type(step)
            if reply is None:
                continue
            return reply
        return self._reply("The task is done.", Finish(status="success"))

    def _click(self, step: ClickStep) -> str | None:
        if self._phase == "expect" and step.expect is not None:
            if self._visible(step.expect, self.timeout_s):
                self._advance()
                return None
            self._retries += 1
            if self._retries > _MAX_RETRIES:
                return self._give_up(f"clicking {step.selector} never showed {step.expect}")
        target = self._target(step)
        if isinstance(target, str):
            return target
        note = step.note or f"Click {step.selector or step.window}"
        if step.expect is not None:
            self._phase = "expect"
        else:
            self._advance()
        # Qwen3-VL's right and middle clicks are single clicks.
        return self._click_at(note, target, step.button, step.count if step.button == "left" else 1)

    def _type(self, step: TypeStep) -> str | None:
        note = step.note or f"Type {step.text!r}"
        typing = self._reply(note, TypeText(text=step.text))
        if step.selector is None and step.window is None:
            self._advance()
            return typing
        if step.window is not None:
            if self._phase != "focused":
                target = self._target(step)
                if isinstance(target, str):
                    return target
                self._phase = "focused"
                return self._click_at(f"Click into {step.window}", target)
            self._advance()
            return typing
        assert step.selector is not None
        probe = self._probe(step.selector)
        if probe is None:
            return self._wait(f"{step.selector} is not on the page")
        if not probe["focused"]:
            target = self._target(step)
            if isinstance(target, str):
                return target
            return self._click_at(f"Click the field {step.selector}", target)
        if step.clear and probe["value"] and self._phase != "cleared":
            self._phase = "cleared"
            return self._reply("Select the field's old text", Hotkey(keys=("ctrl", "a")))
        self._advance()
        return typing

    # ----- looking at the screen -----------------------------------------------------------------

    def _on_grid(self, x: float, y: float, screen: ScreenGeometry) -> _Point:
        """The pixel that the grid point nearest to (x, y) names: the codec writes that grid point
        again, so the click lands where the model's best answer would (no second rounding)."""
        gx, gy = to_model(x, y, screen, self.grid)
        px, py = to_screen(gx, gy, screen, self.grid)
        return _Point(px, py, screen)

    def _target(self, step: ClickStep | TypeStep) -> _Point | str:
        """The step's target in screen pixels, or a reply (scroll, wait, give up) to send instead."""
        if step.window is not None:
            return self._window_point(step.window, step.at)
        assert step.selector is not None
        deadline = time.monotonic() + self.timeout_s
        while True:
            probe = self._probe(step.selector)
            if probe is not None and probe["hit"] and not probe["disabled"]:
                break
            if probe is not None and not probe["hit"]:
                return self._scroll_towards(step.selector, probe)
            if time.monotonic() > deadline:
                why = "is not on the page" if probe is None else "stays disabled"
                return self._wait(f"{step.selector} {why}")
            time.sleep(0.1)
        screen = ScreenGeometry(width=int(probe["vw"]), height=int(probe["vh"]))
        return self._on_grid(probe["cx"], probe["cy"], screen)

    def _scroll_towards(self, selector: str, probe: dict[str, Any]) -> str:
        self._scrolls += 1
        if self._scrolls > _MAX_SCROLLS:
            return self._give_up(f"{selector} never came into view")
        vw, vh = probe["vw"], probe["vh"]
        box = probe["box"]
        if box is not None and not (box[1] <= probe["cy"] <= box[3]):
            x = (max(box[0], 0) + min(box[2], vw)) / 2
            y = (max(box[1], 0) + min(box[3], vh)) / 2
            down = probe["cy"] > box[3]
        else:
            x, y = vw / 2, vh / 2
            down = probe["cy"] > vh / 2
        point = self._on_grid(x, y, ScreenGeometry(width=int(vw), height=int(vh)))
        where = "down" if down else "up"
        scroll = Scroll(dy=-3 if down else 3, x=point.x, y=point.y)
        return self._reply(f"Scroll {where} to bring {selector} into view", scroll, point.screen)

    def _page(self) -> Any:
        page = getattr(self.env, "page", None)
        if page is None:
            raise ModelError("the reference policy needs a browser environment for selector steps")
        return page

    def _probe(self, selector: str) -> dict[str, Any] | None:
        from playwright.sync_api import Error as PlaywrightError

        page = self._page()
        locator = page.locator(selector).first
        try:
            locator.wait_for(state="visible", timeout=self.timeout_s * 1000)
            result: dict[str, Any] = locator.evaluate(_PROBE)
        except PlaywrightError:  # timeout or the node was re-rendered away: look again next step
            return None
        return result

    def _visible(self, selector: str, timeout_s: float) -> bool:
        from playwright.sync_api import Error as PlaywrightError

        try:
            self._page().locator(selector).first.wait_for(state="visible", timeout=timeout_s * 1000)
        except PlaywrightError:
            return False
        return True

    def _present(self, step: WaitForStep, timeout_s: float) -> bool:
        if step.window is not None:
            return self._find_window(step.window, timeout_s) is not None
        assert step.selector is not None
        return self._visible(step.selector, timeout_s)

    # ----- desktop windows -----------------------------------------------------------------------

    def _xdotool(self, *args: str) -> str:
        remote = getattr(self.env, "execute_command", None)
        if callable(remote):  # a VM (actions.vm_environment): its windows are there, not here
            code, out, _ = remote(["xdotool", *args])
            return str(out) if code == 0 else ""
        env = dict(os.environ)
        display = getattr(self.env, "display", None)
        if isinstance(display, str):
            env["DISPLAY"] = display
        xdotool = require_tool("xdotool")
        done = subprocess.run([xdotool, *args], env=env, capture_output=True, text=True, timeout=10)
        return done.stdout if done.returncode == 0 else ""

    def _find_window(self, title: str, timeout_s: float) -> str | None:
        deadline = time.monotonic() + timeout_s
        while True:
            ids = self._xdotool("search", "--onlyvisible", "--name", title).split()
            if ids:
                return ids[-1]
            if time.monotonic() > deadline:
                return None
            time.sleep(0.2)

    def _window_point(self, title: str, at: tuple[float, float]) -> _Point | str:
        window = self._find_window(title, self.timeout_s)
        if window is None:
            return self._wait(f"no window titled {title!r}")
        fields = dict(
            line.split("=", 1)
            for line in self._xdotool("getwindowgeometry", "--shell", window).splitlines()
            if "=" in line
        )
        try:
            x, y = int(fields["X"]), int(fields["Y"])
            w, h = int(fields["WIDTH"]), int(fields["HEIGHT"])
        except (KeyError, ValueError):
            return self._wait(f"window {title!r} has no geometry yet")
        screen: ScreenGeometry = self.env.geometry
        px = x + at[0] * w - screen.offset_x
        py = y + at[1] * h - screen.offset_y
        return self._on_grid(px, py, screen)
