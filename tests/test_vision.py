"""smart_resize for Qwen3-VL (factor 32) and visual-token counts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from model.qwen3vl import PixelBudget, resize_for_model, smart_resize, visual_tokens

pytestmark = pytest.mark.unit


def test_documented_figures() -> None:
    assert smart_resize(800, 1280) == (800, 1280)
    assert visual_tokens(800, 1280) == 1000
    assert smart_resize(1080, 1920) == (1088, 1920)
    assert visual_tokens(1080, 1920) == 2040


def test_budget_scales_down_and_up() -> None:
    small = PixelBudget(min_pixels=3136, max_pixels=640 * 400)
    h, w = smart_resize(1600, 2560, small)
    assert h * w <= 640 * 400 and h % 32 == 0 and w % 32 == 0
    big = PixelBudget(min_pixels=512 * 512, max_pixels=10**8)
    h, w = smart_resize(64, 64, big)
    assert h * w >= 512 * 512


@given(st.integers(320, 5000), st.integers(320, 5000), st.integers(65_536, 16_777_216))
def test_multiple_of_32_and_inside_budget(h: int, w: int, max_pixels: int) -> None:
    if max(h, w) / min(h, w) > 4:  # screens, not banners: extreme ratios hit the 32-pixel floor
        return
    budget = PixelBudget(min_pixels=3136, max_pixels=max_pixels)
    rh, rw = smart_resize(h, w, budget)
    assert rh % 32 == 0 and rw % 32 == 0
    assert rh * rw <= max_pixels
    assert abs(rw / rh - w / h) / (w / h) < 0.35


def test_resize_for_model_returns_rgb_at_budget() -> None:
    img = Image.new("RGBA", (1920, 1080))
    out = resize_for_model(img, PixelBudget(max_pixels=1280 * 720))
    assert out.mode == "RGB"
    assert out.width * out.height <= 1280 * 720


def test_invalid_sizes() -> None:
    with pytest.raises(ValueError):
        smart_resize(0, 10)
    with pytest.raises(ValueError):
        smart_resize(1, 1000)
    with pytest.raises(ValueError):
        PixelBudget(min_pixels=10, max_pixels=5)
