"""Settle detection: after an action, wait until the screen stops changing instead of sleeping.

The screen counts as settled once consecutive frames differ by less than `threshold` (fraction of
thumbnail bytes that changed) for `quiet_ms`; `cap_ms` bounds the whole wait, captures included, for
animated screens and for captures that do not come back (a capture raises FrameUnavailable then).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pydantic import Field

from actions.types import Frozen


class SettleOptions(Frozen):
    """Timings in milliseconds; `threshold`: fraction of changed thumbnail bytes still counted as still."""

    threshold: float = Field(default=0.002, ge=0, le=1)
    quiet_ms: float = Field(default=120, ge=0)
    cap_ms: float = Field(default=3000, ge=0)
    interval_ms: float = Field(default=30, gt=0)
    # Never settled before this long: covers UI that appears after a delay (a menu or tooltip due in
    # 300 ms) where nothing announces it (the desktop; the browser's pages announce their timers).
    min_ms: float = Field(default=0, ge=0)


# After the pointer arrived and before a press: long enough for a :hover style, a tooltip or a
# swapped icon to appear, short enough not to slow every click (announced timers still count).
HOVER_SETTLE = SettleOptions(quiet_ms=50, cap_ms=1000, interval_ms=20)


class FrameUnavailable(Exception):
    """A frame could not be captured in time (e.g. the browser withheld it during a navigation)."""


class SettleReport(Frozen):
    """How long the wait took, whether the screen really went still, and how many frames it took."""

    ms: float
    settled: bool
    frames: int


def frame_difference(a: bytes, b: bytes) -> float:
    """Fraction of byte positions that differ (1.0 when the frames have different sizes)."""
    if len(a) != len(b) or not a:
        return 1.0
    if a == b:
        return 0.0
    # A per-byte tolerance of 8 ignores cursor blink antialiasing and JPEG-like noise.
    changed = sum(1 for x, y in zip(a, b, strict=True) if abs(x - y) > 8)
    return changed / len(a)


def wait_for_settle(
    capture: Callable[[float], bytes],
    options: SettleOptions = SettleOptions(),
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> SettleReport:
    """Poll `capture` (a cheap frame signature, e.g. a small grayscale thumbnail) until still.

    `capture(seconds_left)` must return within `seconds_left` or raise FrameUnavailable; a missing
    frame counts as a change. The quiet window starts when a frame has arrived, not when it was asked
    for, so a slow first capture cannot pass for a still screen.
    """
    start = clock()
    frames = attempts = 0
    previous: bytes | None = None
    still_since: float | None = None
    while True:
        elapsed_ms = (clock() - start) * 1000
        quiet = still_since is not None and (clock() - still_since) * 1000 >= options.quiet_ms
        if quiet and elapsed_ms >= min(options.min_ms, options.cap_ms):
            return SettleReport(ms=elapsed_ms, settled=True, frames=frames)
        if elapsed_ms >= options.cap_ms:
            return SettleReport(ms=elapsed_ms, settled=False, frames=frames)
        if attempts:
            sleep(min(options.interval_ms, options.cap_ms - elapsed_ms) / 1000)
        attempts += 1
        try:
            current: bytes | None = capture(max(0.0, options.cap_ms / 1000 - (clock() - start)))
            frames += 1
        except FrameUnavailable:
            current = None
        if current is None or previous is None or frame_difference(previous, current) > options.threshold:
            still_since = None if current is None else clock()
        previous = current
