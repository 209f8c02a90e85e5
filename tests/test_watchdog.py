"""The step watchdog on its own: quiet while phases end in time, trips once with the phase's name
when one outlives its allowance (limit + the phase's own extra seconds)."""

from __future__ import annotations

import threading
import time

import pytest

from agent.watchdog import Watchdog

pytestmark = pytest.mark.unit


def test_phases_that_end_in_time_never_trip() -> None:
    trips: list[str] = []
    with Watchdog(0.3, lambda phase, s: trips.append(phase), poll_s=0.02) as dog:
        for _ in range(5):
            with dog.watch("observing"):
                time.sleep(0.1)
        time.sleep(0.5)  # no phase running: nothing to watch, however long
    assert trips == []


def test_a_stuck_phase_trips_once_with_its_name_and_duration() -> None:
    tripped = threading.Event()
    trips: list[tuple[str, float]] = []

    def on_trip(phase: str, seconds: float) -> None:
        trips.append((phase, seconds))
        tripped.set()

    with Watchdog(0.2, on_trip, poll_s=0.02) as dog, dog.watch("executing 'click'", extra_s=0.3):
        assert not tripped.wait(0.4)  # the extra allowance (a Wait action's seconds) counts
        assert tripped.wait(2)
        time.sleep(0.2)
    assert len(trips) == 1 and trips[0][0] == "executing 'click'" and trips[0][1] >= 0.5
