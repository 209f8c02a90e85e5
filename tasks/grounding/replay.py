"""`--model recorded`: a model backend that answers each re-score request with the reply the saved run
recorded at that step. Re-scoring a run with it must agree 100%: a check of the re-score itself (the
rebuilt requests, the parser, the comparison), and, for runs of the reference policy (which needs a
live environment to answer), what "the reference itself" means offline.

It finds the step BY THE REQUEST, never by counting calls. Step N fits a request when
- the request's current screenshot (its last image) is pixel-identical to step_<N>.png at the size the
  request carries it (the recorded screenshot resized as model.qwen3vl.vision resizes: bicubic);
- the run's instruction appears in the request's text;
- every turn before N is in the request, as an assistant reply (a recent step shown with its image)
  or as its history line (agent.context.history_line, "Step i: ..."), and the request holds as many
  replies and lines together as there were turns before N;
- step N's own history line is not in the request (which would make it a later step's request).
The last two tell apart the steps of a run decided on the same screen (a click without effect). A
request no step fits, or one that fits steps with different replies, is a ModelError: answering it
would be a guess.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from agent.context import history_line
from model.backend import ModelError
from model.types import ModelRequest, ModelResponse, TextPart

if TYPE_CHECKING:
    from PIL import Image

    from agent.run_folder import RecordedRun

RECORDED_MODEL = "recorded"  # the --model value that selects it


class _Entry:
    """One step a request may ask for: where its screenshot is, and what it needs to be asked."""

    def __init__(self, run: RecordedRun, position: int) -> None:
        step = run.steps[position]
        self.run, self.step = run, step
        path = run.screenshot(step)
        assert path is not None  # tasks.grounding.saved_runs checked it
        self.path = path
        self.earlier = [s for s in run.steps[:position] if s.kind in ("action", "parse_error")]
        self.line = history_line(step)

    def fits(self, texts: Sequence[str], shown: Sequence[str]) -> bool:
        """Whether a request with these user texts and assistant replies asks for this step."""
        text = "\n".join(texts)
        if self.run.instruction not in text or self.line in text:
            return False
        lines = [history_line(s) in text for s in self.earlier]
        # Each turn before is in the request once: as a line (older) or as a reply (recent), not both.
        if len(shown) + sum(lines) != len(self.earlier):
            return False
        return all(line or s.raw_reply in shown for s, line in zip(self.earlier, lines, strict=True))


def _digest(image: Image.Image) -> str:
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    return hashlib.sha256(f"{rgb.size}".encode() + rgb.tobytes()).hexdigest()


class RecordedReplies:
    """A ModelBackend over saved runs: the recorded reply of the step the request is for."""

    def __init__(self, runs: Sequence[RecordedRun], label: str = RECORDED_MODEL) -> None:
        self.name = label
        self.calls = 0
        self._entries = [
            _Entry(run, i) for run in runs for i, s in enumerate(run.steps) if s.kind == "action"
        ]
        # (width, height) of the request's image -> digest -> the steps whose screenshot gives it
        self._by_size: dict[tuple[int, int], dict[str, list[_Entry]]] = {}

    def _table(self, size: tuple[int, int]) -> dict[str, list[_Entry]]:
        from PIL import Image

        table = self._by_size.get(size)
        if table is None:
            table = {}
            for entry in self._entries:
                with Image.open(entry.path) as shot:
                    rgb = shot.convert("RGB")
                # As model.qwen3vl.vision resizes for the model: bicubic, only when the size differs.
                if rgb.size != size:
                    rgb = rgb.resize(size, Image.Resampling.BICUBIC)
                table.setdefault(_digest(rgb), []).append(entry)
            self._by_size[size] = table
        return table

    def generate(self, request: ModelRequest) -> ModelResponse:
        start = time.perf_counter()
        self.calls += 1
        images = request.images
        if not images:
            raise ModelError(f"{self.name}: the request holds no screenshot to find its step by")
        current = images[-1]
        candidates = self._table(current.size).get(_digest(current), [])
        texts = [p.text for m in request.messages if m.role == "user" for p in m.content
                 if isinstance(p, TextPart)]  # fmt: skip
        shown = [m.text for m in request.messages if m.role == "assistant"]
        fits = [e for e in candidates if e.fits(texts, shown)]
        replies = {e.step.raw_reply for e in fits}
        if not fits:
            raise ModelError(f"{self.name}: no saved step has this request's screenshot and history")
        if len(replies) > 1:
            where = ", ".join(f"{e.run.folder} step {e.step.index}" for e in fits)
            raise ModelError(f"{self.name}: the request fits steps with different replies ({where})")
        return ModelResponse(text=replies.pop(), latency_s=time.perf_counter() - start)

    def close(self) -> None:
        self._by_size.clear()
