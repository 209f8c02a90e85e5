"""Test-only model backends for the grounding evaluation: real implementations of the backend
protocol that answer with raw Qwen3-VL replies (written by model.qwen3vl's codec, read back by the
agent's parser), so everything between the request and the verdict runs for real.

- OracleBackend knows every sample's target (a side table keyed by the instruction) and clicks its
  centre, or declines (terminate, failure) when the element is absent.
- With `offset=(dx, dy)` it clicks that many image pixels away from the centre instead.
"""

from __future__ import annotations

import threading
import time

from actions.types import Click, Finish, ScreenGeometry
from model.qwen3vl import CoordinateGrid, format_reply
from model.types import ModelRequest, ModelResponse
from tasks.grounding.query import grounding_instruction
from tasks.grounding.samples import Box, Polygon, Refusal, Sample


def aim(target: Box | Polygon | Refusal) -> tuple[float, float] | None:
    """Where the oracle clicks (image pixels): a box's centre, a (convex) polygon's vertex mean."""
    if isinstance(target, Box):
        return target.centre
    if isinstance(target, Polygon):
        xs, ys = zip(*target.points, strict=True)
        return sum(xs) / len(xs), sum(ys) / len(ys)
    return None


class OracleBackend:
    """Clicks each sample's target centre shifted by `offset` image pixels; counts its calls."""

    def __init__(
        self,
        samples: tuple[Sample, ...] | list[Sample],
        offset: tuple[int, int] = (0, 0),
        grid: CoordinateGrid = CoordinateGrid(),
        delay_s: float = 0.0,
    ) -> None:
        self.name = "oracle" if offset == (0, 0) else f"oracle{offset[0]:+d}{offset[1]:+d}"
        self.offset, self.grid, self.delay_s = offset, grid, delay_s
        self.table = {grounding_instruction(s.instruction): s for s in samples}
        self.calls = 0
        self.seen_sizes: list[tuple[int, int]] = []
        self._lock = threading.Lock()

    def _sample(self, request: ModelRequest) -> Sample:
        text = "\n".join(m.text for m in request.messages if m.role == "user")
        found = [s for instruction, s in self.table.items() if instruction in text]
        assert len(found) == 1, f"the request names {len(found)} known samples"
        return found[0]

    def generate(self, request: ModelRequest) -> ModelResponse:
        with self._lock:
            self.calls += 1
            self.seen_sizes.append(request.images[-1].size)
        time.sleep(self.delay_s)
        sample = self._sample(request)
        point = aim(sample.target)
        if point is None:
            text = format_reply(
                Finish(status="failure"), summary="The described element is not on the screen."
            )
            return ModelResponse(text=text)
        width, height = sample.image_size
        x = min(max(round(point[0] + self.offset[0]), 0), width - 1)
        y = min(max(round(point[1] + self.offset[1]), 0), height - 1)
        text = format_reply(
            Click(x=x, y=y),
            ScreenGeometry(width=width, height=height),
            self.grid,
            request.images[-1].size,
            summary="Click the described element.",
        )
        return ModelResponse(text=text)

    def close(self) -> None:
        pass
