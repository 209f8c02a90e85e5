"""Qwen3-VL image budget: smart_resize with factor 32 (patch 16 x merge 2) and visual-token counts."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from actions.types import Frozen
from model.image_cache import IdentityCache
from model.qwen3vl.constants import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS

if TYPE_CHECKING:
    from PIL import Image

FACTOR = 32  # patch_size 16 x spatial_merge_size 2
PIXELS_PER_TOKEN = FACTOR * FACTOR


class PixelBudget(Frozen):
    """Bounds on the resized screenshot's area, in model pixels (defaults: Qwen's cookbook)."""

    min_pixels: int = Field(default=DEFAULT_MIN_PIXELS, gt=0)
    max_pixels: int = Field(default=DEFAULT_MAX_PIXELS, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> PixelBudget:
        if self.min_pixels > self.max_pixels:
            raise ValueError(f"min_pixels {self.min_pixels} exceeds max_pixels {self.max_pixels}")
        return self


def smart_resize(height: int, width: int, budget: PixelBudget = PixelBudget()) -> tuple[int, int]:
    """(height, width) rounded to multiples of 32 with the area inside the budget, aspect kept."""
    if height <= 0 or width <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"aspect ratio of {width}x{height} exceeds 200")
    h_bar = max(FACTOR, round(height / FACTOR) * FACTOR)
    w_bar = max(FACTOR, round(width / FACTOR) * FACTOR)
    if h_bar * w_bar > budget.max_pixels:
        beta = math.sqrt((height * width) / budget.max_pixels)
        h_bar = max(FACTOR, math.floor(height / beta / FACTOR) * FACTOR)
        w_bar = max(FACTOR, math.floor(width / beta / FACTOR) * FACTOR)
    elif h_bar * w_bar < budget.min_pixels:
        beta = math.sqrt(budget.min_pixels / (height * width))
        h_bar = math.ceil(height * beta / FACTOR) * FACTOR
        w_bar = math.ceil(width * beta / FACTOR) * FACTOR
    return h_bar, w_bar


def visual_tokens(height: int, width: int, budget: PixelBudget = PixelBudget()) -> int:
    """Tokens the LLM sees for one image of this size (after the 2x2 merge)."""
    h, w = smart_resize(height, width, budget)
    return (h * w) // PIXELS_PER_TOKEN


# Screen pixels -> model pixels, once per screenshot object: every prompt that shows a screenshot
# again gets the same resized image back, so the backends' per-image caches (encoded bytes,
# processor output) recognise it. Entries die with their screenshot.
_RESIZED: IdentityCache[Image.Image, Image.Image] = IdentityCache()


def resize_for_model(image: Image.Image, budget: PixelBudget = PixelBudget()) -> Image.Image:
    """The screenshot at the size the model sees (smart_resize to `budget`, bicubic, RGB); the
    processor's own resize is then a no-op. Computed once per screenshot object and budget: the
    same object comes back for the same screenshot (treat it as read-only)."""
    return _RESIZED.get(image, lambda im: _resize(im, budget), tag=budget)


def _resize(image: Image.Image, budget: PixelBudget) -> Image.Image:
    from PIL import Image as PILImage

    h, w = smart_resize(image.height, image.width, budget)
    rgb = image.convert("RGB") if image.mode != "RGB" else image
    if (w, h) == rgb.size:
        return rgb
    return rgb.resize((w, h), PILImage.Resampling.BICUBIC)
