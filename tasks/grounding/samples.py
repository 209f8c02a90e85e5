"""One grounding sample, whatever public set it came from: a screenshot, an instruction, and the
target the predicted point must land in (a box, a polygon, or a refusal: no such element).

Frame: every coordinate here is in IMAGE PIXELS of the screenshot file as stored on disk (origin at
its top-left, x right, y down), the frame the public sets annotate in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field

from actions.errors import BadInput
from actions.types import Frozen

FormatName = Literal["screenspot", "screenspot-pro", "osworld-g"]
FORMATS: tuple[FormatName, ...] = ("screenspot", "screenspot-pro", "osworld-g")
SizeBucket = Literal["tiny", "small", "medium", "large"]
# Element area as a fraction of the screenshot's area: below each bound, that bucket. ScreenSpot-Pro's
# targets are mostly "tiny" (about 0.07% of a 4K screen on average); ScreenSpot's mobile buttons "small".
SIZE_BOUNDS: tuple[tuple[SizeBucket, float], ...] = (("tiny", 0.001), ("small", 0.005), ("medium", 0.02))
# The dimensions accuracy is broken down by; a sample may have none, one or (gui_type) several values.
# "contrast" (low / normal) comes from the sets `qwen-agent grounding build` writes (contrast_level).
Dimension = Literal[
    "data_type", "ui_type", "data_source", "platform", "application", "group", "gui_type", "size", "target",
    "contrast",
]  # fmt: skip


class GroundingDataError(BadInput):
    """A data set file that cannot be read as the format it claims; the message names file and entry."""


class Box(Frozen):
    """An axis-aligned box, image pixels; edges count as inside (as the sets' own scorers do)."""

    kind: Literal["box"] = "box"
    x1: float
    y1: float
    x2: float
    y2: float

    def contains(self, x: float, y: float) -> bool:
        return self.x1 <= x <= self.x2 and self.y1 <= y <= self.y2

    @property
    def area(self) -> float:
        return (self.x2 - self.x1) * (self.y2 - self.y1)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2


class Polygon(Frozen):
    """A simple polygon (vertices in order, implicitly closed), image pixels."""

    kind: Literal["polygon"] = "polygon"
    points: tuple[tuple[float, float], ...] = Field(min_length=3)

    def contains(self, x: float, y: float) -> bool:
        """Even-odd ray casting; a point on an edge counts as inside."""
        inside = False
        n = len(self.points)
        for i in range(n):
            (xi, yi), (xj, yj) = self.points[i], self.points[i - 1]
            if _on_segment(x, y, xi, yi, xj, yj):
                return True
            if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                inside = not inside
        return inside

    @property
    def area(self) -> float:
        """Shoelace area (absolute)."""
        pts = self.points
        twice = sum(pts[i - 1][0] * pts[i][1] - pts[i][0] * pts[i - 1][1] for i in range(len(pts)))
        return abs(twice) / 2

    @property
    def bounds(self) -> Box:
        xs, ys = [p[0] for p in self.points], [p[1] for p in self.points]
        return Box(x1=min(xs), y1=min(ys), x2=max(xs), y2=max(ys))


class Refusal(Frozen):
    """The described element is not on the screen: only a decline (no click) is correct."""

    kind: Literal["refusal"] = "refusal"


Target = Annotated[Box | Polygon | Refusal, Field(discriminator="kind")]


def _on_segment(x: float, y: float, x1: float, y1: float, x2: float, y2: float) -> bool:
    cross = (x - x1) * (y2 - y1) - (y - y1) * (x2 - x1)
    if abs(cross) > 1e-9 * max(1.0, abs(x2 - x1) + abs(y2 - y1)):
        return False
    return min(x1, x2) <= x <= max(x1, x2) and min(y1, y2) <= y <= max(y1, y2)


def size_bucket(target: Box | Polygon | Refusal, image_size: tuple[int, int]) -> SizeBucket | None:
    """The element's size class from its area relative to the image (None for a refusal)."""
    if isinstance(target, Refusal):
        return None
    fraction = target.area / (image_size[0] * image_size[1])
    for name, bound in SIZE_BOUNDS:
        if fraction < bound:
            return name
    return "large"


class Sample(Frozen):
    """One item of a grounding set. `key` is unique in the run (file stem / entry id or index) and is
    what `--resume` recognises; `index` is the entry's 0-based position in its file."""

    key: str
    source: Path  # the annotation file it came from
    index: int = Field(ge=0)
    image: Path
    image_size: tuple[int, int]  # (width, height) of the image file, pixels
    instruction: str = Field(min_length=1)
    target: Target
    groups: tuple[tuple[Dimension, str], ...] = ()  # (dimension, value) pairs, size and target included

    @property
    def size(self) -> SizeBucket | None:
        return size_bucket(self.target, self.image_size)
