"""The X11 desktop environment: screenshots of one monitor with mss, input with pyautogui/xdotool.

Frames: actions are in logical pixels of the observed monitor (monitor 1 by default, 0 = the
whole virtual desktop); the monitor's left/top offset is added when injecting input. X11 has no
HiDPI scaling here, so screenshot pixels = logical pixels (geometry.scale = 1).
Display: `DesktopOptions.display` or $DISPLAY; pyautogui is imported lazily for that display
(see actions.x11_input). After every action the screen is watched until it settles.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from pydantic import Field

from actions.environment import EnvironmentBase
from actions.errors import EnvironmentClosed, EnvironmentUnavailable
from actions.killswitch import KillSwitch
from actions.secrets import SecretMissing, resolve_secrets
from actions.settle import HOVER_SETTLE, SettleOptions, SettleReport, wait_for_settle
from actions.types import (
    Action,
    Click,
    Drag,
    Executed,
    Failed,
    Finish,
    Frozen,
    Hotkey,
    MoveTo,
    Observation,
    Outcome,
    ScreenGeometry,
    Scroll,
    TypeText,
    Wait,
    describe_action,
)
from actions.x11_input import TypingMethod, X11Input

log = logging.getLogger(__name__)

NO_DISPLAY_HELP = (
    "no X display: DISPLAY is not set. Run on a desktop session, or start a virtual one "
    "(`Xvfb :99 -screen 0 1280x800x24 & export DISPLAY=:99`, or prefix the command with "
    "`xvfb-run -a`), or pass the display explicitly (--display :N)"
)


class DesktopOptions(Frozen):
    """How to reach and watch the desktop. Times in ms; `monitor` indexes mss monitors (0 = all)."""

    display: str | None = None
    monitor: int = Field(default=1, ge=0)
    # An X app cannot tell us what it is about to draw: wait at least 200 ms for delayed UI (a
    # longer floor would cost every desktop step; the browser waits on what pages announce instead).
    settle: SettleOptions = SettleOptions(min_ms=200)
    typing: TypingMethod = "auto"
    type_delay_ms: int = Field(default=8, ge=0, le=1000)
    thumbnail_step: int = Field(default=8, ge=1, le=64)


class DesktopEnvironment(EnvironmentBase):
    """Environment over an X display (real or Xvfb). Raises EnvironmentUnavailable without one."""

    name = "desktop"

    def __init__(self, options: DesktopOptions | None = None, kill_switch: KillSwitch | None = None) -> None:
        self.options = options or DesktopOptions()
        self.kill_switch = kill_switch
        display = self.options.display or os.environ.get("DISPLAY")
        if not display:
            raise EnvironmentUnavailable(NO_DISPLAY_HELP)
        self.display = display
        self._check_display(display)
        import mss

        factory = getattr(mss, "MSS", None) or mss.mss  # mss 10: MSS; older: mss()
        self._sct: Any = factory(display=display)
        monitors = self._sct.monitors
        if self.options.monitor >= len(monitors):
            self._sct.close()
            listed = ", ".join(
                f"{i}: {m['width']}x{m['height']}+{m['left']}+{m['top']}" for i, m in enumerate(monitors)
            )
            raise EnvironmentUnavailable(
                f"monitor {self.options.monitor} does not exist on {display}; choose one of "
                f"{listed} (0 = the whole virtual desktop)"
            )
        mon = monitors[self.options.monitor]
        self._monitor = {k: int(mon[k]) for k in ("left", "top", "width", "height")}
        self.geometry = ScreenGeometry(
            width=mon["width"], height=mon["height"], scale=1.0,
            offset_x=mon["left"], offset_y=mon["top"],
        )  # fmt: skip
        self.input = X11Input(display, self.options.typing, self.options.type_delay_ms)
        self._closed = False
        from PIL import Image

        core: Any = getattr(Image, "core")  # noqa: B009 (Pillow does not export it in its stubs)
        # Pillow frees each image's memory block to the OS by default, so every screenshot pays
        # ~2000 page faults for fresh pages (30 ms instead of 3 ms at 1920x1080): keep a few.
        core.set_blocks_max(max(core.get_blocks_max(), 4))

    @staticmethod
    def _check_display(display: str) -> None:
        from Xlib.display import Display

        try:
            Display(display).close()
        except Exception as exc:  # Xlib raises DisplayError, OSError, even OverflowError
            raise EnvironmentUnavailable(
                f"cannot connect to X display {display!r} ({exc}): check that the X server runs "
                "and that DISPLAY (or --display) names it; " + NO_DISPLAY_HELP.split(". ", 1)[1]
            ) from exc

    # -- observing ---------------------------------------------------------------------------
    def reset(self) -> None:
        """A desktop has no start state of its own; task setup steps prepare it."""

    def _grab(self) -> Any:
        if self._closed:
            raise EnvironmentClosed("the desktop environment is closed")
        try:
            return self._sct.grab(self._monitor)
        except Exception as exc:  # mss raises ScreenShotError and ctypes errors alike
            raise EnvironmentClosed(f"screen capture on {self.display} failed: {exc}") from exc

    def observe(self) -> Observation:
        """Screenshot of the observed monitor as an RGB PIL image (screenshot px = logical px)."""
        from PIL import Image

        shot = self._grab()
        # frombytes copies: mss may reuse its (shared-memory) buffer on the next grab.
        image = Image.frombytes("RGB", shot.size, shot.raw, "raw", "BGRX")
        return Observation(image=image, geometry=self.geometry)

    def frame_signature(self) -> bytes:
        """A cheap settle signature: every Nth pixel's green byte of the monitor (~16 KB at 1080p/8)."""
        shot = self._grab()
        step = self.options.thumbnail_step
        width, height = shot.size
        raw = shot.raw if hasattr(shot, "raw") else shot.bgra
        view = memoryview(raw).cast("B")
        row_bytes = width * 4
        # Green of BGRA is byte 1 of each pixel; rows step by `step`, pixels too.
        return b"".join(
            bytes(view[y * row_bytes + 1 : (y + 1) * row_bytes : 4 * step]) for y in range(0, height, step)
        )

    def hover(self, x: int, y: int) -> None:
        """Move the pointer to a logical point and wait for hover effects (HOVER_SETTLE)."""
        point = self._to_root(x, y)
        if point is None:
            return
        self.input.move(*point)
        wait_for_settle(lambda _seconds_left: self.frame_signature(), HOVER_SETTLE)

    def settle(self) -> SettleReport:
        # An X capture has no deadline of its own; the run's watchdog bounds a dead X server.
        return wait_for_settle(lambda _seconds_left: self.frame_signature(), self.options.settle)

    # -- acting ------------------------------------------------------------------------------
    def _to_root(self, x: int, y: int) -> tuple[int, int] | None:
        """Logical monitor point -> X root pixels, or None when it lies off the monitor."""
        if not (0 <= x < self.geometry.width and 0 <= y < self.geometry.height):
            return None
        return x + self.geometry.offset_x, y + self.geometry.offset_y

    def _off_screen(self, x: int, y: int) -> Failed:
        return Failed(
            reason=f"({x}, {y}) is outside the screen ({self.geometry.width}x"
            f"{self.geometry.height}); choose a point inside it"
        )

    def execute(self, action: Action) -> Outcome:
        """Perform one action, then wait for the screen to settle (reported in settle_ms)."""
        if self.kill_switch is not None:
            self.kill_switch.check()
        if self._closed:
            raise EnvironmentClosed("the desktop environment is closed")
        # describe_action keeps {{secret:...}} placeholders: typed secrets never reach the log.
        log.debug("desktop %s: %s", self.display, describe_action(action))
        started = time.perf_counter()
        failed = self._perform(action)
        if failed is not None:
            return failed
        if isinstance(action, Finish):
            return Executed(detail="finished")
        input_ms = (time.perf_counter() - started) * 1000
        report = self.settle()
        detail = f"input {input_ms:.1f} ms" + ("" if report.settled else "; screen still changing")
        return Executed(settle_ms=round(report.ms, 1), detail=detail)

    def _perform(self, action: Action) -> Failed | None:
        match action:
            case Click(x=x, y=y, button=button, count=count):
                point = self._to_root(x, y)
                if point is None:
                    return self._off_screen(x, y)
                if self.input.position() != point:
                    self.hover(x, y)  # move, let hover effects settle, then press
                self.input.click(*point, button=button, count=count)
            case MoveTo(x=x, y=y):
                point = self._to_root(x, y)
                if point is None:
                    return self._off_screen(x, y)
                self.input.move(*point)
            case Drag(x=x, y=y, start_x=sx, start_y=sy):
                end = self._to_root(x, y)
                if end is None:
                    return self._off_screen(x, y)
                start = None
                if sx is not None and sy is not None:
                    start = self._to_root(sx, sy)
                    if start is None:
                        return self._off_screen(sx, sy)
                self.input.drag(start, end)
            case Scroll(dx=dx, dy=dy, x=x, y=y):
                at = None
                if x is not None and y is not None:
                    at = self._to_root(x, y)
                    if at is None:
                        return self._off_screen(x, y)
                self.input.scroll(dx, dy, at)
            case Hotkey(keys=keys):
                self.input.hotkey(keys)
            case TypeText(text=text):
                try:
                    resolved = resolve_secrets(text)  # only here, just before the input call
                except SecretMissing as exc:
                    return Failed(reason=str(exc))
                self.input.type_text(resolved, after_paste=self.settle)
            case Wait(seconds=seconds):
                time.sleep(seconds)  # the model asked for this wait explicitly
            case Finish():
                pass
        return None

    def close(self) -> None:
        """Release the screen-capture and input connections; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._sct.close()
        self.input.close()
