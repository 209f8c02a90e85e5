"""Calibration: the fit and verdict (unit), and real runs through the model's coordinate pipeline in
Chromium (several frames and grids) and on Xvfb with the Tk probe, including a frame that is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from actions.browser import BrowserEnvironment
from actions.types import Observation, ScreenGeometry
from model.qwen3vl import CoordinateGrid, parse_reply
from tasks.calibration.browser import BrowserCalibrationSurface
from tasks.calibration.calibrate import (
    AxisFit,
    CalibrationSurface,
    TargetResult,
    fit_axis,
    locate_in_screenshot,
    run_calibration,
    tool_call_text,
)
from tasks.cli import app

# ----- unit ---------------------------------------------------------------------------------------


@pytest.mark.unit
def test_fit_recovers_scale_and_offset() -> None:
    fit = fit_axis([10, 100, 500, 900], [2 * v + 7 for v in (10, 100, 500, 900)])
    assert fit is not None and fit.scale == pytest.approx(2) and fit.offset == pytest.approx(7)
    assert fit_axis([5], [5]) is None
    assert fit_axis([5, 5], [1, 9]) is None


@pytest.mark.unit
def test_tool_call_text_is_parsed_back_to_the_same_click() -> None:
    screen = ScreenGeometry(width=1920, height=1080)
    action = parse_reply(tool_call_text("left_click", 500, 250), screen).action
    assert (action.kind, getattr(action, "x", None), getattr(action, "y", None)) == ("click", 960, 270)


@pytest.mark.unit
def test_locate_ignores_stray_fringe_pixels() -> None:
    image = Image.new("RGB", (200, 100), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((150, 60, 177, 87), fill=(0, 128, 128))  # the target: x 150..177, y 60..87
    for x in range(10, 40, 3):  # JPEG-like fringe pixels of the same hue elsewhere
        image.putpixel((x, 5), (10, 120, 130))
    draw.line((100, 10, 120, 10), fill=(10, 120, 130))  # a fringe row as long as half the target
    assert locate_in_screenshot(image, (0, 128, 128)) == (164.0, 74.0)
    assert locate_in_screenshot(image, (230, 25, 75)) is None


@pytest.mark.unit
def test_surface_protocol_is_runtime_checkable() -> None:
    class Empty:
        def targets(self) -> list[Any]:
            return []

        def hits(self) -> list[Any]:
            return []

    assert isinstance(Empty(), CalibrationSurface)
    assert not isinstance(object(), CalibrationSurface)


@pytest.mark.unit
def test_result_and_fit_types_are_frozen() -> None:
    fit = AxisFit(scale=1.0, offset=0.0)
    with pytest.raises(Exception, match="frozen"):
        fit.scale = 2.0  # type: ignore[misc]
    assert "recorded" in TargetResult.model_fields


# ----- browser ------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize(
    ("dsf", "frame", "grid", "viewport"),
    [
        (1.0, "css", 1000, (1280, 800)),
        (2.0, "device", 999, (1280, 800)),
    ],
)
def test_browser_calibration_passes(
    browser_factory: Callable[..., Any], dsf: float, frame: str, grid: int, viewport: tuple[int, int]
) -> None:
    env: BrowserEnvironment = browser_factory(
        device_scale_factor=dsf, screenshot_frame=frame, viewport=viewport
    )
    env.reset()
    report = run_calibration(env, BrowserCalibrationSurface(env), CoordinateGrid(size=grid))
    assert report.passed, report.text()
    assert len(report.results) == 11 and all(r.located_from == "screenshot" for r in report.results)
    # The page's own record: one mousedown per target, each on the target it was aimed at.
    hits = env.evaluate("window.calibrationHits")
    assert [h["target"] for h in hits] == [r.name for r in report.results]
    assert report.fit_x is not None and report.fit_x.scale == pytest.approx(1, abs=0.01)
    assert report.fit_y is not None and abs(report.fit_y.offset) < 2
    assert report.screenshot_scale == (dsf if frame == "device" else 1.0)


class MislabelledFrame(BrowserEnvironment):
    """The classic HiDPI bug, for real: device-pixel screenshots announced as logical pixels."""

    def observe(self) -> Observation:
        obs = super().observe()
        w, h = obs.image.size
        return Observation(image=obs.image, geometry=ScreenGeometry(width=w, height=h), url=obs.url)


@pytest.mark.browser
def test_browser_calibration_detects_a_wrong_frame(chromium_path: str | None) -> None:
    from actions.browser import BrowserOptions

    options = BrowserOptions(
        executable_path=chromium_path, device_scale_factor=1.25, screenshot_frame="device"
    )
    with MislabelledFrame(options) as env:
        report = run_calibration(env, BrowserCalibrationSurface(env))
    assert not report.passed
    assert report.fit_x is not None and report.fit_x.scale == pytest.approx(1.25, abs=0.02)
    assert "scaled by 1.25" in report.verdict
    assert "FAIL" in report.text()


@pytest.mark.browser
def test_cli_calibrate_browser_exits_zero(chromium_path: str | None) -> None:
    # Device scale factor 2 with CSS-pixel screenshots (the default frame), 1920x1080, OSWorld grid.
    args = ["calibrate", "--device-scale-factor", "2", "--screen", "1920x1080", "--grid", "999"]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert '"passed": true' in result.output


# ----- desktop ------------------------------------------------------------------------------------


@pytest.mark.desktop
def test_cli_calibrate_desktop_on_private_xvfb() -> None:
    from tests.fixtures.display import require_x11_tools

    require_x11_tools()
    result = CliRunner().invoke(app, ["calibrate", "--env", "desktop", "--xvfb"])
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output and result.output.count(" hit") == 5


@pytest.mark.unit
def test_cli_calibrate_desktop_without_display_names_the_fix() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run(
        [sys.executable, "-m", "tasks.cli", "calibrate", "--env", "desktop"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 4, proc.stderr
    assert "--xvfb" in proc.stderr and "DISPLAY" in proc.stderr


@pytest.mark.browser
@pytest.mark.desktop
def test_headed_browser_calibration_on_xvfb(
    chromium_path: str | None, virtual_display: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actions.browser import BrowserOptions

    monkeypatch.setenv("DISPLAY", virtual_display.display)
    options = BrowserOptions(executable_path=chromium_path, headless=False, viewport=(1024, 640))
    with BrowserEnvironment(options) as env:
        report = run_calibration(env, BrowserCalibrationSurface(env))
    # No "--no-sandbox" infobar pushes the page down: every click still lands.
    assert report.passed, report.text()
