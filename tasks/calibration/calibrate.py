"""Calibration self-test: prove that a click at the model's coordinates lands on what the model saw.

Each target is located in the screenshot (by its colour, when it has one), turned into a grid point
with `model.qwen3vl.to_model`, written as a raw Qwen3-VL reply by the codec, parsed back with
`parse_reply` and executed by the environment: exactly the path a model's click takes. The surface
records where the clicks really landed; a least-squares fit of recorded vs intended gives scale and offset.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from pydantic import Field

from actions.environment import Environment
from actions.types import Click, Executed, Frozen, Observation
from model.qwen3vl import CoordinateGrid, format_calls, parse_reply, to_model


class CalibrationTarget(Frozen):
    """A target shown on the surface; centre and size in LOGICAL pixels of the observed screen.

    `color` (RGB) is a solid colour the target is painted in, unique on the screen: calibration then
    finds the target in the screenshot (the model's view) instead of trusting the reported centre.
    """

    name: str
    x: float
    y: float
    width: float = Field(gt=0)
    height: float = Field(gt=0)
    color: tuple[int, int, int] | None = None

    def contains(self, x: float, y: float, margin: float = 0.0) -> bool:
        return abs(x - self.x) <= self.width / 2 + margin and abs(y - self.y) <= self.height / 2 + margin


class RecordedHit(Frozen):
    """A click as the surface's own app recorded it: LOGICAL pixels of the observed screen, and the
    name of the target that received it (None when it landed on no target)."""

    x: float
    y: float
    target: str | None = None


@runtime_checkable
class CalibrationSurface(Protocol):
    """Something on screen with known targets that records the clicks it receives.

    Browser: a page in the BrowserEnvironment (tasks.calibration.browser). Desktop: the Tk probe
    window (tasks.calibration.desktop). The surface must be visible before `targets()` is called.
    """

    def targets(self) -> Sequence[CalibrationTarget]:
        """The targets currently shown, in logical pixels of the environment's observed screen."""

    def hits(self) -> Sequence[RecordedHit]:
        """Every click recorded so far, oldest first, in logical pixels of the observed screen."""


class TargetResult(Frozen):
    """One target: where we aimed (logical px), the grid point sent, where the click was recorded."""

    name: str
    intended: tuple[float, float]  # the surface's own centre of the target
    aimed: tuple[float, float]  # where the model would aim: the target as seen in the screenshot
    located_from: str  # "screenshot" or "surface"
    grid_point: tuple[int, int]
    clicked: tuple[int, int]
    recorded: tuple[float, float] | None
    hit: bool
    error_px: float | None
    outcome: str


class AxisFit(Frozen):
    """recorded = scale * intended + offset along one axis (logical pixels)."""

    scale: float
    offset: float


class CalibrationReport(Frozen):
    """The verdict of one calibration run."""

    environment: str
    screen: tuple[int, int]
    image_size: tuple[int, int]
    screenshot_scale: float
    grid: int
    results: tuple[TargetResult, ...]
    fit_x: AxisFit | None
    fit_y: AxisFit | None
    passed: bool
    verdict: str

    def text(self) -> str:
        """A human-readable table plus the verdict line."""
        lines = [
            f"environment {self.environment}: screen {self.screen[0]}x{self.screen[1]} logical px, "
            f"screenshot {self.image_size[0]}x{self.image_size[1]} (x{self.screenshot_scale:g}), "
            f"grid 0..{self.grid}",
            f"{'target':<14}{'aim (px)':>16}{'grid':>14}{'recorded':>18}{'err':>7}  result",
        ]
        for r in self.results:
            rec = f"({r.recorded[0]:.0f}, {r.recorded[1]:.0f})" if r.recorded else "-"
            err = f"{r.error_px:.1f}" if r.error_px is not None else "-"
            aim = f"({r.aimed[0]:.0f}, {r.aimed[1]:.0f})"
            grid = f"[{r.grid_point[0]}, {r.grid_point[1]}]"
            lines.append(f"{r.name:<14}{aim:>16}{grid:>14}{rec:>18}{err:>7}  {'hit' if r.hit else 'MISS'}")
        for axis, fit in (("x", self.fit_x), ("y", self.fit_y)):
            if fit is not None:
                lines.append(f"fit {axis}: scale {fit.scale:.3f}, offset {fit.offset:+.1f} px")
        lines.append(("PASS: " if self.passed else "FAIL: ") + self.verdict)
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), ensure_ascii=False, indent=2)


def fit_axis(intended: Sequence[float], recorded: Sequence[float]) -> AxisFit | None:
    """Least-squares line through (intended, recorded); None with fewer than two distinct points."""
    n = len(intended)
    if n < 2:
        return None
    mi, mr = sum(intended) / n, sum(recorded) / n
    var = sum((i - mi) ** 2 for i in intended)
    if var < 1e-9:
        return None
    scale = sum((i - mi) * (r - mr) for i, r in zip(intended, recorded, strict=True)) / var
    return AxisFit(scale=scale, offset=mr - scale * mi)


def locate_in_screenshot(
    image: Any, color: tuple[int, int, int], tolerance: int = 40
) -> tuple[float, float] | None:
    """Centre (image pixels) of the pixels within `tolerance` of `color`; None when there are none."""
    import numpy as np

    arr = np.asarray(image.convert("RGB"), dtype=np.int16)
    mask = (np.abs(arr - np.array(color, dtype=np.int16)) <= tolerance).all(axis=2)
    if int(mask.sum()) < 4:  # a few stray anti-aliased pixels are not a target
        return None
    # The target is the heaviest contiguous band of rows (and of columns) at >= half the peak count;
    # JPEG fringes of other shapes with a similar hue form thin, separate bands and are ignored.
    spans = []
    for counts in (mask.sum(axis=0), mask.sum(axis=1)):
        idx = np.nonzero(counts >= counts.max() / 2)[0]
        runs = np.split(idx, np.nonzero(np.diff(idx) > 1)[0] + 1)
        band = max(runs, key=lambda r: int(counts[r].sum()))
        # +1: the centre of a pixel span [a, b] is (a + b + 1) / 2 in continuous coordinates.
        spans.append(float(band[0] + band[-1] + 1) / 2)
    return spans[0], spans[1]


def tool_call_text(action: str, gx: int, gy: int) -> str:
    """The raw reply a Qwen3-VL model writes for a click at grid point (gx, gy).

    Grid-level on purpose: calibration measures the grid point itself (from the target's position
    in the screenshot, to sub-pixel precision), so it hands the codec grid coordinates, not pixels.
    """
    return format_calls([{"action": action, "coordinate": [gx, gy]}], summary="click the calibration target.")


def _aim(target: CalibrationTarget, observation: Observation) -> tuple[float, float, str]:
    """Where the model would aim: the target as seen in the screenshot, in logical pixels."""
    if target.color is not None:
        found = locate_in_screenshot(observation.image, target.color)
        if found is not None:
            s = observation.geometry.scale
            return found[0] / s, found[1] / s, "screenshot"
    return target.x, target.y, "surface"


def _verdict(results: Sequence[TargetResult], fx: AxisFit | None, fy: AxisFit | None) -> str:
    misses = [r for r in results if not r.hit]
    if not misses:
        return f"all {len(results)} clicks landed on their targets; clicks land where the model points."
    hints: list[str] = []
    for axis, fit in (("x", fx), ("y", fy)):
        if fit is None:
            continue
        if abs(fit.scale - 1) > 0.02:
            hints.append(
                f"clicks along {axis} are scaled by {fit.scale:.2f}: the screenshot and the input use "
                "different pixel frames (HiDPI scale; check --device-scale-factor / the display scale)"
            )
        if abs(fit.offset) > 3 and abs(fit.scale - 1) <= 0.02:
            hints.append(
                f"clicks along {axis} are shifted by {fit.offset:+.0f} px (a monitor offset, a window "
                "frame or a browser infobar moves the content)"
            )
    if all(r.recorded is None for r in results):
        hints.append("the surface recorded no clicks at all: input does not reach the screen shown")
    why = "; ".join(hints) or "the misses do not follow a simple scale or offset"
    return f"{len(misses)} of {len(results)} clicks missed: {why}."


def _new_hits(surface: CalibrationSurface, before: int, wait_s: float) -> Sequence[RecordedHit]:
    """Hits recorded after the first `before`; polls briefly because an app may log after it redraws."""
    deadline = time.monotonic() + wait_s
    while True:
        new = surface.hits()[before:]
        if new or time.monotonic() >= deadline:
            return new
        time.sleep(0.02)


def run_calibration(
    env: Environment,
    surface: CalibrationSurface,
    grid: CoordinateGrid = CoordinateGrid(),
    hit_wait_s: float = 1.0,
) -> CalibrationReport:
    """Click every target through the model's pipeline and judge where the clicks landed."""
    observation = env.observe()
    geometry = observation.geometry
    targets = list(surface.targets())
    results: list[TargetResult] = []
    for target in targets:
        ax, ay, source = _aim(target, observation)
        gx, gy = to_model(ax, ay, geometry, grid)
        action = parse_reply(tool_call_text("left_click", gx, gy), geometry, grid).action
        assert isinstance(action, Click)  # the reply we wrote is a left_click
        before = len(surface.hits())
        outcome = env.execute(action)
        new = _new_hits(surface, before, hit_wait_s)
        recorded = new[-1] if new else None
        hit = False
        if recorded is not None:
            on = recorded.target if recorded.target is not None else None
            hit = on == target.name if on is not None else target.contains(recorded.x, recorded.y)
        results.append(
            TargetResult(
                name=target.name,
                intended=(target.x, target.y),
                aimed=(ax, ay),
                located_from=source,
                grid_point=(gx, gy),
                clicked=(action.x, action.y),
                recorded=(recorded.x, recorded.y) if recorded else None,
                hit=hit and isinstance(outcome, Executed),
                error_px=math.dist((recorded.x, recorded.y), (target.x, target.y)) if recorded else None,
                outcome=outcome.kind,
            )
        )
    paired = [(t, r.recorded) for t, r in zip(targets, results, strict=True) if r.recorded]
    fx = fit_axis([t.x for t, _ in paired], [rec[0] for _, rec in paired])
    fy = fit_axis([t.y for t, _ in paired], [rec[1] for _, rec in paired])
    return CalibrationReport(
        environment=env.name,
        screen=(geometry.width, geometry.height),
        image_size=(observation.image.size[0], observation.image.size[1]),
        screenshot_scale=geometry.scale,
        grid=grid.size,
        results=tuple(results),
        fit_x=fx,
        fit_y=fy,
        passed=bool(results) and all(r.hit for r in results),
        verdict=_verdict(results, fx, fy),
    )
