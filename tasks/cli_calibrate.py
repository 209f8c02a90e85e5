"""`qwen-agent calibrate`: prove that clicks land where the model points, before the first task."""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tasks.cli_common import ExitCode, parse_screen

if TYPE_CHECKING:
    from tasks.calibrate import CalibrationReport


class CalibrateEnv(StrEnum):
    browser = "browser"
    desktop = "desktop"


class ScreenshotFrame(StrEnum):
    css = "css"
    device = "device"


def _calibrate_browser(
    screen: str, device_scale_factor: float, frame: ScreenshotFrame, headed: bool, grid: int
) -> CalibrationReport:
    from actions.browser import BrowserEnvironment, BrowserOptions
    from model.qwen3vl import CoordinateGrid
    from tasks.calibrate import run_calibration
    from tasks.calibrate_browser import BrowserCalibrationSurface

    geometry = parse_screen(screen)
    options = BrowserOptions(
        viewport=(geometry.width, geometry.height),
        device_scale_factor=device_scale_factor,
        screenshot_frame=frame.value,
        headless=not headed,
    )
    with BrowserEnvironment(options) as env:
        surface = BrowserCalibrationSurface(env)
        return run_calibration(env, surface, CoordinateGrid(size=grid))


def _calibrate_desktop(screen: str, xvfb: bool, monitor: int, grid: int) -> CalibrationReport:
    import os

    from actions.desktop import DesktopEnvironment, DesktopOptions
    from actions.errors import EnvironmentUnavailable
    from model.qwen3vl import CoordinateGrid
    from tasks.calibrate import run_calibration
    from tasks.desktop_apps import launch_app
    from tasks.desktop_apps.probe import ProbeSurface

    with ExitStack() as stack:
        if xvfb:
            from actions.xdisplay import VirtualDisplay

            geometry = parse_screen(screen)
            display = stack.enter_context(VirtualDisplay(geometry.width, geometry.height))
            display_name, child_env = display.display, display.env
        else:
            display_name = os.environ.get("DISPLAY", "")
            if not display_name:
                raise EnvironmentUnavailable(
                    "desktop calibration needs a display: set DISPLAY, or pass --xvfb to start a "
                    "private virtual display"
                )
            child_env = {"DISPLAY": display_name}
        env = stack.enter_context(DesktopEnvironment(DesktopOptions(display=display_name, monitor=monitor)))
        geo = env.observe().geometry
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qwen-calibrate-")))
        # Place the probe window on the observed monitor.
        args = ("--x", str(geo.offset_x + 40), "--y", str(geo.offset_y + 40))
        stack.enter_context(launch_app("probe", logs / "probe.jsonl", child_env, args))
        surface = ProbeSurface(logs / "probe.jsonl", offset_x=geo.offset_x, offset_y=geo.offset_y)
        return run_calibration(env, surface, CoordinateGrid(size=grid))


def calibrate_command(
    env: Annotated[
        CalibrateEnv, typer.Option("--env", help="Where to calibrate: a Chromium page or the X desktop.")
    ] = CalibrateEnv.browser,
    screen: Annotated[
        str,
        typer.Option(
            "--screen", help="Browser viewport, or the --xvfb display size, as WIDTHxHEIGHT (logical px)."
        ),
    ] = "1280x800",
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
    grid: Annotated[
        int, typer.Option("--grid", help="Model coordinate grid: 1000 (Qwen3-VL) or 999 (OSWorld).")
    ] = 1000,
    headed: Annotated[bool, typer.Option("--headed", help="Show the browser window.")] = False,
    xvfb: Annotated[
        bool, typer.Option("--xvfb", help="Desktop: start a private Xvfb display instead of $DISPLAY.")
    ] = False,
    monitor: Annotated[
        int, typer.Option("--monitor", min=0, help="Desktop: the monitor to calibrate (1 = first).")
    ] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Click known targets through the model's exact coordinate pipeline and check where they land.

    Each target is found in the screenshot, mapped to the model's grid, written as a raw Qwen
    <tool_call>, parsed back and executed. Exit 0 when every click hits, 1 otherwise.
    """
    if grid not in (1000, 999):
        raise typer.BadParameter("--grid must be 1000 or 999")
    if env is CalibrateEnv.browser:
        report = _calibrate_browser(screen, device_scale_factor, frame, headed, grid)
    else:
        report = _calibrate_desktop(screen, xvfb, monitor, grid)
    typer.echo(report.to_json() if as_json else report.text())
    raise typer.Exit(ExitCode.SUCCESS if report.passed else ExitCode.FAILURE)
