"""The one mapping between the model's coordinate grid and logical screen pixels.

Qwen3-VL answers on a relative 0..DEFAULT_GRID grid (the cookbook's "1000x1000" screen); some agents
use 999 (ALLOWED_GRIDS).
Absolute mode (Qwen2.5-VL style) answers in pixels of the resized screenshot instead.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from actions.types import Frozen, ScreenGeometry
from model.qwen3vl.constants import DEFAULT_GRID


class CoordinateGrid(Frozen):
    """How the model's (x, y) are meant: `relative` to a size x size grid, or `absolute` image pixels."""

    size: int = Field(default=DEFAULT_GRID, gt=0)
    mode: Literal["relative", "absolute"] = "relative"

    def extent(self, image_size: tuple[int, int]) -> tuple[int, int]:
        """The largest valid model (x, y): the grid size, or the resized image's width and height."""
        return (self.size, self.size) if self.mode == "relative" else image_size

    def resolution_text(self, image_size: tuple[int, int]) -> str:
        """What the tool description tells the model its screen resolution is."""
        w, h = self.extent(image_size)
        return f"{w}x{h}"


def _clamp(v: int, hi: int) -> int:
    return min(max(v, 0), hi)


def to_screen(
    x: float,
    y: float,
    screen: ScreenGeometry,
    grid: CoordinateGrid = CoordinateGrid(),
    image_size: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """Model (x, y) -> logical screen pixels relative to the screen's top-left, clamped on-screen.

    `image_size` is the (width, height) of the screenshot the model saw; absolute mode needs it.
    """
    if grid.mode == "absolute" and image_size is None:
        raise ValueError("absolute coordinates need the size of the image the model saw")
    ex, ey = grid.extent(image_size or (grid.size, grid.size))
    px = round(x * screen.width / ex)
    py = round(y * screen.height / ey)
    return _clamp(px, screen.width - 1), _clamp(py, screen.height - 1)


def to_model(
    px: float,
    py: float,
    screen: ScreenGeometry,
    grid: CoordinateGrid = CoordinateGrid(),
    image_size: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """Logical screen pixels -> model (x, y): the inverse of `to_screen` (reference policy, calibration)."""
    if grid.mode == "absolute" and image_size is None:
        raise ValueError("absolute coordinates need the size of the image the model saw")
    ex, ey = grid.extent(image_size or (grid.size, grid.size))
    gx = round(px * ex / screen.width)
    gy = round(py * ey / screen.height)
    return _clamp(gx, ex), _clamp(gy, ey)
