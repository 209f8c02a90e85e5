"""The desktop calibration surface: the Tk probe window (tasks.apps.desktop.probe) read from its log."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tasks.apps.desktop import read_events
from tasks.calibration.calibrate import CalibrationTarget, RecordedHit


class ProbeSurface:
    """The probe window as a calibration surface: targets and hits in LOGICAL pixels of the
    observed monitor, i.e. X root pixels minus the monitor's (offset_x, offset_y)."""

    def __init__(self, log_path: Path, offset_x: int = 0, offset_y: int = 0) -> None:
        self.log_path = log_path
        self.offset = (offset_x, offset_y)

    def _placement(self) -> dict[str, Any]:
        placed = [e for e in read_events(self.log_path) if e["event"] in ("ready", "geometry")]
        if not placed:
            raise RuntimeError(f"the probe has not reported ready in {self.log_path}")
        return placed[-1]

    def targets(self) -> Sequence[CalibrationTarget]:
        ox, oy = self.offset
        return [
            CalibrationTarget(name=t["name"], x=t["x_root"] - ox, y=t["y_root"] - oy,
                              width=t["width"], height=t["height"], color=tuple(t["color"]))
            for t in self._placement()["targets"]
        ]  # fmt: skip

    def hits(self) -> Sequence[RecordedHit]:
        ox, oy = self.offset
        return [
            RecordedHit(x=e["x_root"] - ox, y=e["y_root"] - oy, target=e.get("target"))
            for e in read_events(self.log_path)
            if e["event"] == "press" and e.get("count", 1) == 1 and e.get("button") == 1
        ]
