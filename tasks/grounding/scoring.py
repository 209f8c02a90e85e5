"""The verdict on one sample: did the predicted point land in the target, or, for a sample whose
element is absent, did the model decline?

Rules (those of ScreenSpot-Pro's negative split and OSWorld-G's refusal items):
- a box or polygon target: a point inside it (edges included) is a hit; a point outside is a miss;
  a decline is a miss too ("declined").
- a refusal target: only a decline is correct; any point is a miss.
- a reply the parser cannot read is wrong for every kind of target: gibberish earns no refusal credit.
"""

from __future__ import annotations

from typing import Literal

from actions.types import Frozen
from tasks.grounding.query import Prediction
from tasks.grounding.samples import Refusal, Sample

Outcome = Literal["hit", "miss", "declined", "unparsed"]


class Verdict(Frozen):
    outcome: Outcome
    correct: bool


def score(sample: Sample, prediction: Prediction) -> Verdict:
    """The verdict on `prediction` (image pixels) for `sample`'s target (image pixels)."""
    target = sample.target
    if prediction.answer == "unparsed":
        return Verdict(outcome="unparsed", correct=False)
    if prediction.answer == "declined" or prediction.point is None:
        return Verdict(outcome="declined", correct=isinstance(target, Refusal))
    if isinstance(target, Refusal):
        return Verdict(outcome="miss", correct=False)
    x, y = prediction.point
    inside = target.contains(x, y)
    return Verdict(outcome="hit" if inside else "miss", correct=inside)
