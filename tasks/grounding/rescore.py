"""Re-scoring saved runs with another model, offline: for every action step of every successful saved
run, ask the new model (or the same one with another prompt setting or pixel budget) exactly what the
agent asked at that step, and check whether its action agrees with the recorded one
(tasks.grounding.agreement). No environment, no browser: only the run folder's screenshots and steps.
`qwen-agent eval rescore RUNS... --model X` wraps `rescore`.

The request for step N is rebuilt as the live loop built it: the run's steps before N and the
screenshots of the last `history_images` of them go through agent.run_folder's `continue_context`
(agent.context.next_context, the function agent.episode calls each turn: same instruction, plan,
feedback notes, history lines and images), rendered by model.qwen3vl.render with the run's recorded
protocol settings (grid, pixel budget, token budget) unless `RescoreSettings` overrides them. The new
reply is parsed as the loop parses it: on the step's recorded screen geometry, with the size the model
saw the screenshot at, so its action comes back in the same logical pixels as the recorded one.

Outputs in the results folder: results.jsonl (one line per step, written as each is scored: recorded
action and reply, new reply and action, verdict and why) and summary.json (agreement overall, per
action type, per run; the runs skipped and why; the settings).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import Field

from actions.errors import BadInput
from actions.types import Action, Frozen
from agent.options import AgentOptions
from agent.trajectory import Step
from model.backend import ModelBackend
from model.qwen3vl import (
    CoordinateGrid,
    ParseError,
    PixelBudget,
    parse_reply,
    render,
    reply_text,
)
from model.types import ModelRequest, ToolCall
from tasks.grounding.agreement import DEFAULT_TOLERANCE_PX, Box, Reason, Verdict, action_type, compare
from tasks.grounding.saved_runs import SavedRun, SavedRuns, find_runs
from tasks.pool.jsonl import append_line

RESULTS_FILE = "results.jsonl"
SUMMARY_FILE = "summary.json"

Progress = Callable[[str], None]  # one line for stderr


class RescoreSettings(Frozen):
    """What to ask differently from the recorded runs (None: as each run recorded it). `grid` is the
    coordinate grid size, `max_pixels` the largest screenshot area the model sees (model pixels),
    `max_new_tokens` the reply budget. Past replies shown in the history keep the recorded grid's
    coordinates (they are what the model said then); the two allowed grids differ by 0.1%."""

    grid: int | None = Field(default=None, gt=0)
    max_pixels: int | None = Field(default=None, gt=0)
    max_new_tokens: int | None = Field(default=None, gt=0)

    def apply(self, options: AgentOptions) -> AgentOptions:
        """The run's options with the overrides in its protocol settings."""
        protocol = options.protocol
        update: dict[str, Any] = {}
        if self.grid is not None:
            update["grid"] = CoordinateGrid(size=self.grid, mode=protocol.grid.mode)
        if self.max_pixels is not None:
            low = min(protocol.pixels.min_pixels, self.max_pixels)
            update["pixels"] = PixelBudget(min_pixels=low, max_pixels=self.max_pixels)
        if self.max_new_tokens is not None:
            update["max_new_tokens"] = self.max_new_tokens
        if not update:
            return options
        return options.model_copy(update={"protocol": protocol.model_copy(update=update)})


class StepResult(Frozen):
    """One re-scored step. Actions and `distance_px` / `target_box` (x1, y1, x2, y2) are in logical
    pixels of the step's screen (`ScreenGeometry`, recorded with the step)."""

    run: str
    folder: str
    step: int
    action_type: str  # the recorded action's (agreement.action_type)
    recorded_action: Action
    recorded_reply: str
    new_reply: str
    new_action: Action | None
    parse_error: str | None = None
    agree: bool
    reason: Reason
    detail: str
    distance_px: float | None = None
    target_box: Box | None = None
    latency_s: float


def step_request(run: SavedRun, position: int, options: AgentOptions) -> ModelRequest:
    """The request the agent sent for the step at `position` of the run (0-based in `run.run.steps`),
    on its recorded screenshot, with `options` (the run's, overrides applied)."""
    from PIL import Image

    recorded = run.run
    step = recorded.steps[position]
    path = recorded.screenshot(step)
    assert path is not None  # saved_runs checked every action step's screenshot
    with Image.open(path) as shot:
        current = shot.convert("RGB")
    before = recorded.model_copy(update={"steps": recorded.steps[:position], "options": options})
    request = render(before.continue_context(current), options.protocol)
    # As agent.episode.Episode.turn: a Thinking edition's larger reply budget.
    if request.max_new_tokens != options.max_new_tokens:
        request = request.model_copy(update={"max_new_tokens": options.max_new_tokens})
    return request


def _new_action(step: Step, request: ModelRequest, text: str, options: AgentOptions,
                tool_calls: Sequence[ToolCall]) -> tuple[Action | None, str | None]:  # fmt: skip
    """The reply's action in logical px of the step's screen (as Episode.turn parses), or the error."""
    assert step.geometry is not None  # saved_runs checked it
    # The size the model saw the screenshot at (Episode.turn's smart_resize of it): the request's image.
    seen = request.images[-1].size
    try:
        decision = parse_reply(text, step.geometry, options.protocol.grid, seen, tool_calls)
    except ParseError as e:
        return None, e.reason
    return decision.action, None


def rescore_step(
    run: SavedRun, position: int, backend: ModelBackend, options: AgentOptions, tolerance_px: float
) -> StepResult:
    """Ask `backend` the step at `position` again and judge its action against the recorded one."""
    step = run.run.steps[position]
    assert step.action is not None
    request = step_request(run, position, options)
    started = time.perf_counter()
    response = backend.generate(request)
    latency = time.perf_counter() - started
    new, error = _new_action(step, request, response.text, options, response.tool_calls)
    verdict: Verdict = compare(step, new, tolerance_px, error)
    return StepResult(
        run=run.key, folder=str(run.folder), step=step.index, action_type=action_type(step.action),
        recorded_action=step.action, recorded_reply=step.raw_reply,
        new_reply=reply_text(response.text, response.tool_calls), new_action=new, parse_error=error,
        agree=verdict.agree, reason=verdict.reason, detail=verdict.detail,
        distance_px=None if verdict.distance_px is None else round(verdict.distance_px, 2),
        target_box=verdict.target_box, latency_s=round(latency, 3),
    )  # fmt: skip


def _rate(results: Sequence[StepResult]) -> dict[str, Any]:
    agree = sum(r.agree for r in results)
    return {
        "steps": len(results),
        "agree": agree,
        "agreement": round(agree / len(results), 4) if results else None,
    }


def summarize(results: Sequence[StepResult], found: SavedRuns, meta: dict[str, Any]) -> dict[str, Any]:
    """summary.json: `meta` (model, settings, tolerance), the runs found / re-scored / skipped (with
    reasons), agreement overall, per recorded action type and per run, and how steps disagreed."""
    by_type: dict[str, list[StepResult]] = defaultdict(list)
    by_run: dict[str, list[StepResult]] = defaultdict(list)
    reasons: dict[str, int] = defaultdict(int)
    for r in results:
        by_type[r.action_type].append(r)
        by_run[r.run].append(r)
        reasons[r.reason] += 1
    skipped_why: dict[str, int] = defaultdict(int)
    for s in found.skipped:
        skipped_why[s.why] += 1
    runs = {}
    for saved in found.runs:
        mine = by_run.get(saved.key, [])
        runs[saved.key] = {
            **_rate(mine),
            "all_agree": all(r.agree for r in mine),
            "disagree_at": [r.step for r in mine if not r.agree],
            "folder": str(saved.folder),
        }
    not_asked = sum(1 for saved in found.runs for s in saved.run.steps if s.kind == "parse_error")
    return {
        **meta,
        "runs_found": len(found.runs) + len(found.skipped),
        "runs_rescored": len(found.runs),
        "runs_skipped": len(found.skipped),
        "skipped_why": dict(sorted(skipped_why.items())),
        "overall": _rate(results),
        "by_action": {name: _rate(items) for name, items in sorted(by_type.items())},
        "reasons": dict(sorted(reasons.items())),
        "unparsed_recorded_steps": not_asked,  # parse errors in the saved runs: nothing to agree with
        "runs": runs,
        "skipped": [{"run": s.key, "folder": str(s.folder), "why": s.why} for s in found.skipped],
    }


def _prepare(out: Path, overwrite: bool) -> None:
    """The results folder, refusing to mix two re-scores' lines in one results.jsonl."""
    results = out / RESULTS_FILE
    if results.exists():
        if not overwrite:
            raise BadInput(f"{results} holds an earlier re-score: choose another --out, or pass "
                           "--overwrite to replace it")  # fmt: skip
        results.unlink()
        (out / SUMMARY_FILE).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def rescore(
    paths: Sequence[Path] | SavedRuns,
    backend: ModelBackend,
    out: Path,
    *,
    settings: RescoreSettings = RescoreSettings(),
    tolerance_px: float = DEFAULT_TOLERANCE_PX,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Re-score every successful run in `paths` (or runs found already) with `backend`; returns the
    summary, also written to `out`/summary.json beside results.jsonl.

    Raises RescoreInputError (exit 2: a path without runs, a damaged run folder, named), BadInput
    (an `out` holding an earlier re-score, without `overwrite`) and ModelError (the model cannot
    answer, exit 4; the steps scored before stay in results.jsonl)."""
    if tolerance_px < 0:
        raise BadInput(f"--tolerance must be 0 or more px, not {tolerance_px:g}")
    say = progress or (lambda line: None)
    found = paths if isinstance(paths, SavedRuns) else find_runs(paths)
    _prepare(out, overwrite)
    total = sum(len(r.scored_steps) for r in found.runs)
    skipped = f"; {len(found.skipped)} skipped (not successful)" if found.skipped else ""
    say(f"rescore: {len(found.runs)} successful run(s), {total} step(s) to ask {backend.name}{skipped}")
    results: list[StepResult] = []
    agree = 0
    for saved in found.runs:
        options = settings.apply(saved.run.options)
        mine: list[StepResult] = []
        for position, step in enumerate(saved.run.steps):
            if step.kind != "action" or step.action is None:
                continue
            result = rescore_step(saved, position, backend, options, tolerance_px)
            append_line(out / RESULTS_FILE, result.model_dump(mode="json"))
            mine.append(result)
            agree += result.agree
            n = len(results) + len(mine)
            verdict = "agree" if result.agree else f"DISAGREE ({result.reason})"
            what = f"{saved.key} step {step.index} {result.action_type}"
            say(f"[{n}/{total}] {what}: {verdict}: {result.detail} ({result.latency_s:.1f} s)"
                f"  | agreement so far {100 * agree / n:.1f}%")  # fmt: skip
        results.extend(mine)
        say(f"{saved.key}: {sum(r.agree for r in mine)}/{len(mine)} step(s) agree")
    meta = {
        "model": backend.name,
        "paths": [str(p) for p in found.paths],
        "tolerance_px": tolerance_px,
        "overrides": settings.model_dump(),
    }
    summary = summarize(results, found, meta)
    (out / SUMMARY_FILE).write_text(
        json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return summary
