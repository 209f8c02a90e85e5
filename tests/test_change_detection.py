"""Change detection on real Chromium screenshots: every small change counts (no false negatives), a
caret blink and an unchanged screen do not (no false positives), at 1x and at 2x device pixels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from agent.detection import screen_changed
from tests.change_pairs import change_pairs

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("dsf", [1.0, 2.0])
def test_small_changes_count_and_caret_blinks_do_not(
    browser_factory: Callable[..., Any], pages_url: str, dsf: float
) -> None:
    env = browser_factory(device_scale_factor=dsf, screenshot_frame="device")
    env.reset()
    pairs = change_pairs(env, pages_url + "changes.html")
    assert len(pairs) == 11
    wrong = [p.name for p in pairs if screen_changed(p.before, p.after, p.scale) != p.changed]
    assert wrong == []


@pytest.mark.unit
def test_a_different_size_is_a_change_and_noise_is_not() -> None:
    a = Image.new("RGB", (200, 100), "white")
    assert screen_changed(a, Image.new("RGB", (201, 100), "white"))
    noisy = Image.new("RGB", (200, 100), (250, 250, 250))  # a few grey levels: JPEG-like noise
    assert not screen_changed(a, noisy)
