"""Settle detection's timing rules on a fake clock: the cap bounds captures that never come back,
and the quiet window starts when the first frame has arrived."""

from __future__ import annotations

import pytest

from actions.settle import FrameUnavailable, SettleOptions, wait_for_settle

pytestmark = pytest.mark.unit


class FakeTime:
    """A clock that only moves when something sleeps or a capture takes time (seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_capture_that_never_returns_ends_within_the_cap() -> None:
    t = FakeTime()
    deadlines: list[float] = []

    def withheld(seconds_left: float) -> bytes:
        deadlines.append(seconds_left)
        t.sleep(min(1.0, seconds_left))  # blocks until its own deadline, as a withheld CDP reply does
        raise FrameUnavailable("no reply")

    report = wait_for_settle(withheld, SettleOptions(cap_ms=3000), clock=t.clock, sleep=t.sleep)
    assert not report.settled and report.frames == 0
    assert 3.0 <= t.now <= 3.0 + 1e-6  # never past the cap, captures included
    assert all(d <= 3.0 for d in deadlines) and deadlines[-1] < 1.0  # the last one got what was left


def test_a_withheld_frame_is_retried_and_counts_as_a_change() -> None:
    t = FakeTime()
    answers = iter([None, b"a" * 100, b"a" * 100, b"a" * 100, b"a" * 100, b"a" * 100, b"a" * 100])

    def capture(seconds_left: float) -> bytes:
        frame = next(answers)
        if frame is None:
            t.sleep(1.0)
            raise FrameUnavailable("withheld once")
        return frame

    report = wait_for_settle(
        capture, SettleOptions(quiet_ms=120, interval_ms=30), clock=t.clock, sleep=t.sleep
    )
    assert report.settled
    assert report.ms >= 1000 + 120  # quiet only counted once real frames came


def test_the_quiet_window_starts_after_the_first_frame_arrived() -> None:
    t = FakeTime()

    def slow_then_still(seconds_left: float) -> bytes:
        t.sleep(0.2)  # every frame takes 200 ms, longer than the 120 ms quiet window
        return b"x" * 100

    report = wait_for_settle(slow_then_still, SettleOptions(quiet_ms=120), clock=t.clock, sleep=t.sleep)
    # The first frame alone proves nothing: a second, equal frame must arrive after it.
    assert report.settled and report.frames == 2
    assert report.ms >= 400


def test_changing_frames_run_into_the_cap() -> None:
    t = FakeTime()
    counter = iter(range(10_000))

    def animated(seconds_left: float) -> bytes:
        t.sleep(0.01)
        return bytes([next(counter) * 50 % 256]) * 100  # beyond the per-byte tolerance

    report = wait_for_settle(animated, SettleOptions(cap_ms=500), clock=t.clock, sleep=t.sleep)
    assert not report.settled and 0.5 <= t.now < 0.6


def test_a_minimum_wait_catches_ui_that_appears_after_a_delay() -> None:
    t = FakeTime()

    def menu_after_250_ms(seconds_left: float) -> bytes:
        t.sleep(0.01)
        return b"m" * 100 if t.now >= 0.25 else b"a" * 100  # nothing announces the menu

    early = wait_for_settle(menu_after_250_ms, SettleOptions(quiet_ms=120), clock=t.clock, sleep=t.sleep)
    assert early.settled and early.ms < 250  # the pixel rule alone returns before the menu
    t = FakeTime()
    report = wait_for_settle(
        menu_after_250_ms, SettleOptions(quiet_ms=120, min_ms=300), clock=t.clock, sleep=t.sleep
    )
    assert report.settled and report.ms >= 250 + 120  # the menu, then a quiet window after it
