"""Replay one row of a job: every step located, acted, settled and checked without the model; a step
that cannot be located with confidence, or whose postconditions fail, gets one focused agent turn
(the normal loop, safety gate and recording) and is checked again. A healthy replay makes zero model
calls. Risky steps need the user's approval, and never run on a target found only by its pixels.

Frames: points are logical pixels of the live screen, as in actions.types.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from actions.environment import Environment
from actions.errors import QwenAgentError
from actions.safety import SafetyPolicy
from actions.types import Action, Click, Drag, Executed, Frozen, Observation, TypeText
from agent.options import AgentOptions
from agent.trajectory import RunResult
from model.backend import ModelBackend
from model.qwen3vl import render_template
from model.types import ModelRequest, ModelResponse
from tasks.jobs.checks import failed_postcondition, page_messages
from tasks.jobs.locate import Located, locate
from tasks.jobs.params import fill
from tasks.jobs.spec import Job, JobStep

RowStatus = Literal["done", "failed", "needs_human"]
StepHow = Literal["element", "selector", "template", "direct", "model"]
FALLBACK_STEPS = 4  # actions one focused model turn may take for one job step


class CountingBackend:
    """A backend that counts its calls (a healthy replay makes none)."""

    def __init__(self, inner: ModelBackend) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls = 0

    def generate(self, request: ModelRequest) -> ModelResponse:
        self.calls += 1
        return self.inner.generate(request)

    def close(self) -> None:
        self.inner.close()


class StepRecord(Frozen):
    """How one job step went in one row."""

    number: int  # 1-based, in the job
    how: StepHow  # which rung found the target ("direct": a step with no target; "model": fallback)
    ok: bool
    problem: str | None = None  # why the replay could not do it alone, or why it failed
    fallback_dir: str | None = None  # the fallback's run folder, relative to the row folder
    ms: float = 0.0


class RowResult(Frozen):
    """One row's outcome: `done`, `failed` (with the reason, e.g. the page's own validation
    message) or `needs_human` (a risky step, or a difference nobody could resolve)."""

    status: RowStatus
    reason: str | None = None
    steps: tuple[StepRecord, ...] = ()
    fallbacks: int = 0
    model_calls: int = 0
    seconds: float = 0.0
    screenshot: str | None = None  # the screen a failed row ended on, in the row folder


class StepProblem(QwenAgentError):
    """A step the replay could not do alone (handed to the model) or at all (ends the row)."""

    def __init__(self, reason: str, status: RowStatus = "failed") -> None:
        self.reason, self.status = reason, status
        super().__init__(reason)


def _moved(action: Action, point: tuple[int, int]) -> Action:
    """The action aimed at `point` (a drag's start moves with its end)."""
    if isinstance(action, Drag) and action.start_x is not None and action.start_y is not None:
        dx, dy = point[0] - action.x, point[1] - action.y
        start = {"start_x": max(0, action.start_x + dx), "start_y": max(0, action.start_y + dy)}
        return action.model_copy(update={"x": point[0], "y": point[1], **start})
    if hasattr(action, "x") and hasattr(action, "y"):
        return action.model_copy(update={"x": point[0], "y": point[1]})
    return action


class Replayer:
    """Replays `job` (from `job_dir`) for one row of parameter `values` on `env`.

    `backend` is the model for fallbacks (None: a step the replay cannot do ends the row);
    `approve_risky` is the user's yes to the job's risky steps (found by element identity only);
    `options` are the fallback turns' agent options; `row_dir` receives the fallback run folders;
    `on_step(number)` is called before a step first acts; `start_url` is the page the row started
    on when it is not the job's own (url expectations follow it to its site).
    """

    def __init__(
        self,
        job: Job,
        job_dir: Path,
        env: Environment,
        values: dict[str, str],
        row_dir: Path,
        backend: ModelBackend | None = None,
        options: AgentOptions | None = None,
        approve_risky: bool = False,
        on_step: Callable[[int], None] = lambda number: None,
        start_url: str | None = None,
    ) -> None:
        self.job, self.job_dir, self.env, self.values = job, job_dir, env, values
        self.row_dir = row_dir
        self.backend = CountingBackend(backend) if backend is not None else None
        self.options = options or AgentOptions()
        self.approve_risky = approve_risky
        self.on_step = on_step  # told before a step first acts (a batch's journal)
        self.starts = (job.start.url, start_url or job.start.url)  # recorded, live: where urls point
        opts = self.options
        self.policy = SafetyPolicy(opts.risky_words, opts.risky_commands, opts.unknown_targets)
        self.task = fill(job.instruction, values, "the job's instruction")
        self.screen: Observation | None = None  # the screenshot after the last step: the next one's before

    def run(self) -> RowResult:
        """Every step in order; the row ends at the first step nobody could do."""
        start = time.monotonic()
        records: list[StepRecord] = []
        status: RowStatus = "done"
        reason: str | None = None
        for number, step in enumerate(self.job.steps, 1):
            t = time.perf_counter()
            try:
                record = self.replay_step(number, step)
            except StepProblem as e:
                status, reason = e.status, f"step {number} ({step.intent}): {e.reason}"
                record = StepRecord(number=number, how="direct", ok=False, problem=e.reason)
            records.append(record.model_copy(update={"ms": (time.perf_counter() - t) * 1000}))
            if status != "done":
                break
        shot = None
        if status != "done":
            self.row_dir.mkdir(parents=True, exist_ok=True)
            self.env.observe().image.save(self.row_dir / "failed.png")
            shot = "failed.png"
        return RowResult(
            status=status,
            reason=reason,
            steps=tuple(records),
            fallbacks=sum(1 for r in records if r.fallback_dir),
            model_calls=self.backend.calls if self.backend else 0,
            seconds=time.monotonic() - start,
            screenshot=shot,
        )

    def replay_step(self, number: int, step: JobStep) -> StepRecord:
        """One step: alone when the evidence allows, else through one focused model turn."""
        action: Action = step.action
        if isinstance(action, TypeText):
            action = action.model_copy(update={"text": fill(action.text, self.values, f"step {number}")})
        before = self.screen if self.screen is not None else self.env.observe()
        self.screen = None
        located: Located | None = None
        problem: str | None = None
        if step.target is not None:
            located = locate(self.env, step.target, self.job_dir, before)
            if located is None:
                problem = "its target was not found on the screen with confidence"
        if problem is None:
            if located is not None:
                action = _moved(action, located.point)
            self.check_risk(step, action, located)
            self.on_step(number)
            outcome = self.env.execute(action)
            if not isinstance(outcome, Executed):
                problem = f"the action was {outcome.kind}: {outcome.reason}"
            else:
                after = self.screen = self.env.observe()
                problem = failed_postcondition(
                    self.env, step, self.values, before, after, located, self.starts
                )
        how: StepHow = located.rung if located is not None else "direct"
        if problem is None:
            return StepRecord(number=number, how=how, ok=True)
        return self.fall_back(number, step, problem, before)

    def check_risk(self, step: JobStep, action: Action, located: Located | None) -> None:
        """A risky step (marked in the job, or judged so by the risky-action rules on the live
        screen) needs approval, and its target must have been found by identity, not by pixels."""
        live = drop = focused = None
        if isinstance(action, Click):
            live = self.env.element_at(action.x, action.y)
        elif isinstance(action, Drag):
            drop = self.env.element_at(action.x, action.y)
            if action.start_x is not None and action.start_y is not None:
                live = self.env.element_at(action.start_x, action.start_y)
        if self.policy.presses_keys(action):
            focused = self.env.focused_element()
        risk = self.policy.assess(action, live, step.intent, drop=drop, focused=focused)
        question = step.risky or (risk.question if risk else None)
        if question is None:
            return
        if not self.approve_risky:
            raise StepProblem(f"a risky step needs a person ({question}); rerun with --yes", "needs_human")
        if located is not None and located.by_position:
            reason = f"a risky target found only by its pixels is never clicked ({question})"
            raise StepProblem(reason, "needs_human")

    def fall_back(self, number: int, step: JobStep, problem: str, before: Observation) -> StepRecord:
        """One focused agent turn for the step, then its postconditions again."""
        from agent.loop import run_episode

        if self.backend is None:
            raise StepProblem(f"{problem}{page_messages(self.env)}; no --model to fall back on")
        folder = f"fallback_step_{number}"
        typed = step.action.text if isinstance(step.action, TypeText) else None
        instruction = render_template(
            "job_fallback.txt",
            task=self.task,
            number=str(number),
            total=str(len(self.job.steps)),
            problem=problem,
            intent=fill(step.intent, self.values, f"step {number}"),
            typing=f' The text to type is "{fill(typed, self.values, f"step {number}")}".' if typed else "",
        )
        self.on_step(number)
        options = self.options.model_copy(
            update={"max_steps": FALLBACK_STEPS, "plan": False, "params": tuple(self.values.items())}
        )
        result: RunResult = run_episode(instruction, self.env, self.backend, options, self.row_dir / folder)
        if result.status != "success":
            status: RowStatus = "needs_human" if result.status in ("blocked", "aborted") else "failed"
            said = result.answer or result.explanation or result.status
            reason = f"{problem}; the model could not do it either: {said}{page_messages(self.env)}"
            raise StepProblem(reason, status)
        after = self.screen = self.env.observe()
        still = failed_postcondition(self.env, step, self.values, before, after, None, self.starts)
        if still is not None:
            raise StepProblem(f"after the model's turn, {still}{page_messages(self.env)}")
        return StepRecord(number=number, how="model", ok=True, problem=problem, fallback_dir=folder)
