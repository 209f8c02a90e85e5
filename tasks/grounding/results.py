"""The results of a grounding run: one line per sample in results.jsonl (append-only, written as each
sample is scored, so a stopped run loses nothing and `--resume` skips what is there), and the
summary computed from those lines: accuracy overall and per group.

Frame: `point` and `target` are in image pixels of the sample's image file.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from actions.types import Frozen
from tasks.grounding.query import Answer
from tasks.grounding.samples import Dimension, Sample, SizeBucket, Target
from tasks.grounding.scoring import Outcome
from tasks.pool.jsonl import append_line, read_lines

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"
RUN_FILE = "run.json"  # what the run measured (model, settings): a resume must match it


class SampleResult(Frozen):
    """One scored sample: its identity and groups, the model's raw reply and point, the verdict."""

    key: str
    file: str
    index: int
    image: str
    image_size: tuple[int, int]
    instruction: str
    target: Target
    groups: tuple[tuple[Dimension, str], ...]
    size: SizeBucket | None
    answer: Answer
    point: tuple[int, int] | None
    outcome: Outcome
    correct: bool
    reason: str | None = None  # why the reply could not be parsed
    raw: str
    latency_s: float
    thumbnail: str | None = None  # misses only: the drawn image, relative to the results folder

    @classmethod
    def of(cls, sample: Sample, **fields: Any) -> SampleResult:
        return cls(
            key=sample.key, file=str(sample.source), index=sample.index, image=str(sample.image),
            image_size=sample.image_size, instruction=sample.instruction, target=sample.target,
            groups=sample.groups, size=sample.size, **fields,
        )  # fmt: skip


def record(folder: Path, result: SampleResult) -> None:
    append_line(folder / RESULTS_FILE, result.model_dump(mode="json"))


def read_results(folder: Path) -> dict[str, SampleResult]:
    """The recorded results by key (the last line of a key wins); lines that do not read as a result
    (torn by a kill, written by another version) are left out, so their samples run again."""
    out: dict[str, SampleResult] = {}
    for line in read_lines(folder / RESULTS_FILE):
        try:
            result = SampleResult.model_validate(line)
        except ValidationError:
            continue
        out[result.key] = result
    return out


def _rate(results: list[SampleResult]) -> dict[str, Any]:
    correct = sum(r.correct for r in results)
    return {
        "samples": len(results),
        "correct": correct,
        "accuracy": correct / len(results) if results else None,
    }


def summarize(results: list[SampleResult], meta: dict[str, Any]) -> dict[str, Any]:
    """summary.json: `meta` (model, data set, settings), accuracy overall and per group value, and
    how answers went (hit / miss / declined / unparsed)."""
    by: dict[str, dict[str, list[SampleResult]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        for dimension, value in r.groups:
            by[dimension][value].append(r)
    outcomes: dict[str, int] = defaultdict(int)
    for r in results:
        outcomes[r.outcome] += 1
    latencies = sorted(r.latency_s for r in results)
    return {
        **meta,
        "overall": _rate(results),
        "outcomes": dict(sorted(outcomes.items())),
        "groups": {
            dimension: {value: _rate(items) for value, items in sorted(values.items())}
            for dimension, values in sorted(by.items())
        },
        "median_latency_s": latencies[len(latencies) // 2] if latencies else None,
    }
