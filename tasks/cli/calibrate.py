"""`qwen-agent calibrate`: prove that clicks land where the model points, before the first task."""

from __future__ import annotations

import os
import tempfile
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from model.qwen3vl import ALLOWED_GRIDS
from tasks.cli.common import ExitCode
from tasks.cli.options import (
    GRID_DEFAULT,
    EnvOpt,
    GridOpt,
    HeadedOpt,
    MonitorOpt,
    ScreenOpt,
    XvfbOpt,
    parse_screen,
)

if TYPE_CHECKING:
    from tasks.calibration.calibrate import CalibrationReport


class ScreenshotFrame(StrEnum):
    css = "css"
    device = "device"


def _calibrate_browser(
    screen: str, device_scale_factor: float, frame: ScreenshotFrame, headed: bool, grid: int
) -> CalibrationReport:
    from actions.browser import BrowserEnvironment
    from model.qwen3vl import CoordinateGrid
    from tasks.calibration.browser import BrowserCalibrationSurface
    from tasks.calibration.calibrate import run_calibration
    from tasks.environments import EnvironmentSettings, open_environment

    geometry = parse_screen(screen)
    settings = EnvironmentSettings(
        kind="browser", screen=(geometry.width, geometry.height), device_scale_factor=device_scale_factor,
        screenshot_frame=frame.value, headed=headed,
    )  # fmt: skip
    with open_environment(settings) as env:
        assert isinstance(env, BrowserEnvironment)
        surface = BrowserCalibrationSurface(env)
        return run_calibration(env, surface, CoordinateGrid(size=grid))


def _calibrate_desktop(screen: str, xvfb: bool, monitor: int, grid: int) -> CalibrationReport:
    from actions.desktop import DesktopEnvironment
    from actions.errors import EnvironmentUnavailable
    from model.qwen3vl import CoordinateGrid
    from tasks.apps.desktop import launch_app
    from tasks.calibration.calibrate import run_calibration
    from tasks.calibration.desktop import ProbeSurface
    from tasks.environments import EnvironmentSettings, open_environment

    geometry = parse_screen(screen)
    if not xvfb and not os.environ.get("DISPLAY"):
        raise EnvironmentUnavailable(
            "desktop calibration needs a display: set DISPLAY, or pass --xvfb to start a "
            "private virtual display"
        )
    settings = EnvironmentSettings(
        kind="desktop", screen=(geometry.width, geometry.height), xvfb=xvfb, monitor=monitor
    )
    with ExitStack() as stack:
        env = stack.enter_context(open_environment(settings))
        assert isinstance(env, DesktopEnvironment)
        geo = env.observe().geometry
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qwen-calibrate-")))
        # Place the probe window on the observed monitor.
        args = ("--x", str(geo.offset_x + 40), "--y", str(geo.offset_y + 40))
        stack.enter_context(launch_app("probe", logs / "probe.jsonl", {"DISPLAY": env.display}, args))
        surface = ProbeSurface(logs / "probe.jsonl", offset_x=geo.offset_x, offset_y=geo.offset_y)
        return run_calibration(env, surface, CoordinateGrid(size=grid))


def calibrate_command(
    env: EnvOpt = "browser",
    screen: ScreenOpt = "1280x800",
    device_scale_factor: Annotated[
        float,
        typer.Option("--device-scale-factor", min=0.5, max=4, help="Browser HiDPI scale (2 = Retina)."),
    ] = 1.0,
    frame: Annotated[
        ScreenshotFrame,
        typer.Option(
            "--frame", help="Browser screenshot pixels: css (logical) or device (x device scale factor)."
        ),
    ] = ScreenshotFrame.css,
    grid: GridOpt = GRID_DEFAULT,
    headed: HeadedOpt = False,
    xvfb: XvfbOpt = False,
    monitor: MonitorOpt = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Click known targets through the model's exact coordinate pipeline and check where they land.

    Each target is found in the screenshot, mapped to the model's grid, written as a raw Qwen3-VL
    reply, parsed back and executed. Exit 0 when every click hits, 1 otherwise.
    """
    if grid not in ALLOWED_GRIDS:
        raise typer.BadParameter(f"--grid must be {' or '.join(map(str, ALLOWED_GRIDS))}")
    if env == "browser":
        report = _calibrate_browser(screen, device_scale_factor, frame, headed, grid)
    else:
        report = _calibrate_desktop(screen, xvfb, monitor, grid)
    typer.echo(report.to_json() if as_json else report.text())
    raise typer.Exit(ExitCode.SUCCESS if report.passed else ExitCode.FAILURE)
