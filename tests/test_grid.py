"""Property tests of the one grid <-> screen mapping (model.qwen3vl.grid)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actions.types import ScreenGeometry
from model.qwen3vl import CoordinateGrid, to_model, to_screen

pytestmark = pytest.mark.unit

screens = st.builds(
    ScreenGeometry,
    width=st.integers(1, 8000),
    height=st.integers(1, 8000),
    scale=st.sampled_from([1.0, 1.25, 1.5, 2.0, 3.0]),
    offset_x=st.integers(-4000, 4000),
    offset_y=st.integers(-4000, 4000),
)
grids = st.sampled_from([CoordinateGrid(size=1000), CoordinateGrid(size=999)])


@given(screens, grids, st.floats(0, 1000), st.floats(0, 1000))
def test_inside_the_screen(screen: ScreenGeometry, grid: CoordinateGrid, x: float, y: float) -> None:
    px, py = to_screen(min(x, grid.size), min(y, grid.size), screen, grid)
    assert 0 <= px < screen.width and 0 <= py < screen.height


@given(screens, grids, st.floats(0, 1000), st.floats(0, 1000), st.floats(0, 1000))
def test_monotone(screen: ScreenGeometry, grid: CoordinateGrid, a: float, b: float, y: float) -> None:
    lo, hi = sorted((min(a, grid.size), min(b, grid.size)))
    assert to_screen(lo, y % grid.size, screen, grid)[0] <= to_screen(hi, y % grid.size, screen, grid)[0]
    assert to_screen(y % grid.size, lo, screen, grid)[1] <= to_screen(y % grid.size, hi, screen, grid)[1]


@given(screens, grids)
def test_corners_map_to_corners(screen: ScreenGeometry, grid: CoordinateGrid) -> None:
    n = grid.size
    w, h = screen.width - 1, screen.height - 1
    assert to_screen(0, 0, screen, grid) == (0, 0)
    assert to_screen(n, 0, screen, grid) == (w, 0)
    assert to_screen(0, n, screen, grid) == (0, h)
    assert to_screen(n, n, screen, grid) == (w, h)


@given(screens, grids, st.integers(0, 7999), st.integers(0, 7999))
def test_inverse_round_trips_within_one_grid_cell(
    screen: ScreenGeometry, grid: CoordinateGrid, px: int, py: int
) -> None:
    px, py = px % screen.width, py % screen.height
    back = to_screen(*to_model(px, py, screen, grid), screen, grid)
    cell_w, cell_h = screen.width / grid.size, screen.height / grid.size
    assert abs(back[0] - px) <= cell_w / 2 + 1
    assert abs(back[1] - py) <= cell_h / 2 + 1


def test_centre_of_common_screens() -> None:
    assert to_screen(500, 500, ScreenGeometry(width=1280, height=800)) == (640, 400)
    # 999 grid (mobile cookbook, OSWorld agent) differs from 1000 by at most ~0.1%.
    assert to_screen(500, 500, ScreenGeometry(width=1920, height=1080), CoordinateGrid(size=999)) == (
        961,
        541,
    )


def test_hidpi_uses_logical_pixels() -> None:
    # A 2x screen: the screenshot has 2560x1600 pixels, input takes 1280x800 logical ones.
    retina = ScreenGeometry(width=1280, height=800, scale=2.0)
    assert to_screen(1000, 1000, retina) == (1279, 799)
    assert to_screen(250, 250, retina) == (320, 200)


def test_absolute_mode_scales_from_the_resized_image() -> None:
    grid = CoordinateGrid(mode="absolute")
    screen = ScreenGeometry(width=2560, height=1440)
    assert to_screen(640, 360, screen, grid, image_size=(1280, 720)) == (1280, 720)
    with pytest.raises(ValueError, match="absolute"):
        to_screen(1, 1, screen, grid)
