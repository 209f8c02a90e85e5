"""The trajectory: steps as data. The loop's only state; recorders and reports read it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from actions.types import Action, ElementInfo, Frozen, Outcome, ScreenGeometry

RunStatus = Literal["success", "failure", "blocked", "budget", "aborted", "error"]
"""How a run ended: the model finished with success/failure, the agent explained a blocker, the
step/time budget ran out, the user stopped it (Ctrl+C, kill switch, declined confirmation), or an
error of ours (model/environment unavailable)."""

StepKind = Literal["action", "plan", "parse_error", "explanation"]


class Timing(Frozen):
    """Milliseconds spent in each phase of one step: the screenshot (`observe_ms`), building the
    prompt (`context_ms`), the model call with its request encoding (`predict_ms`), reading the reply
    (`parse_ms`), moving the pointer there and waiting for hover effects (`hover_ms`), looking
    under the pointer (`probe_ms`), the action with its settle (`execute_ms`, of which `settle_ms`
    waiting for the screen)."""

    observe_ms: float = 0.0
    context_ms: float = 0.0
    predict_ms: float = 0.0
    parse_ms: float = 0.0
    hover_ms: float = 0.0
    probe_ms: float = 0.0
    execute_ms: float = 0.0
    settle_ms: float = 0.0


class TokenUsage(Frozen):
    """Tokens of one step; `estimated` when the backend could not count (scripted replies)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    image_tokens: int = 0
    estimated: bool = False


class Step(BaseModel):
    """One step: what the model saw and said, what was done, and what came of it."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=1)
    kind: StepKind = "action"
    screenshot: str | None = None  # file name inside the run folder (with the action drawn)
    raw_reply: str = ""
    thought: str = ""
    summary: str | None = None
    action: Action | None = None
    outcome: Outcome | None = None
    error: str | None = None  # parse error reason, fed back to the model
    plan: tuple[str, ...] = ()
    feedback: tuple[str, ...] = ()  # every note the NEXT prompt carries because of this step
    setback: bool = False  # unparseable, failed or without effect: counts toward a re-plan
    url: str | None = None
    geometry: ScreenGeometry | None = None  # the screen the step was decided on (logical pixels)
    screen_changed: bool | None = None
    # What the action's target was, as the environment probed it (browser clicks): the evidence a
    # compiled job (tasks.jobs) finds the target by again.
    element: ElementInfo | None = None
    parameters: tuple[str, ...] = ()  # run parameters whose values the typed text carries
    timing: Timing = Timing()
    usage: TokenUsage = TokenUsage()


class RunResult(BaseModel):
    """The end of a run: status, the user-facing answer or explanation, and every step."""

    model_config = ConfigDict(frozen=True)

    instruction: str
    status: RunStatus
    answer: str | None = None  # the model's answer (success) or reason (failure)
    explanation: str | None = None  # plain-language reason when blocked
    steps: tuple[Step, ...] = ()
    record_dir: str | None = None
    duration_s: float = 0.0

    @property
    def final_action(self) -> Action | None:
        """The last action the model chose (OSWorld scores infeasible tasks on a final FAIL)."""
        for step in reversed(self.steps):
            if step.action is not None:
                return step.action
        return None
