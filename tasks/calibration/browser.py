"""The browser calibration surface: a page of coloured targets that records the clicks it receives."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from actions.browser import BrowserEnvironment
from tasks.calibration.calibrate import CalibrationTarget, RecordedHit

_TARGETS_JS = """() => [...document.querySelectorAll('[data-target]')].map((d) => {
  const r = d.getBoundingClientRect();
  return {name: d.dataset.target, x: r.left + r.width / 2, y: r.top + r.height / 2,
          width: r.width, height: r.height, color: d.dataset.color.split(',').map(Number)};
})"""


def calibration_page() -> str:
    """The HTML of the calibration page (package data)."""
    return files("tasks.calibration").joinpath("page.html").read_text(encoding="utf-8")


class BrowserCalibrationSurface:
    """Shows the calibration page in the environment's active tab; CSS pixels = logical pixels."""

    def __init__(self, env: BrowserEnvironment) -> None:
        self.env = env
        env.page.set_content(calibration_page(), wait_until="load")

    def targets(self) -> Sequence[CalibrationTarget]:
        found: list[dict[str, Any]] = self.env.evaluate(_TARGETS_JS)
        return [
            CalibrationTarget(
                name=t["name"],
                x=t["x"],
                y=t["y"],
                width=t["width"],
                height=t["height"],
                color=(t["color"][0], t["color"][1], t["color"][2]),
            )
            for t in found
        ]

    def hits(self) -> Sequence[RecordedHit]:
        return [RecordedHit(**h) for h in self.env.evaluate("window.calibrationHits")]
