"""One run of one instruction as a generator of steps: observe -> build context -> predict -> check
policy -> execute -> settle, until the model finishes, a budget runs out, a blocker is explained, or
the user stops it.

`Episode.iter_steps()` yields every step as it is made and returns how the run ended (an `End`
value). The steps are the episode's only state: plan, re-plans, fixes, setbacks, repeats and the
feedback for the next prompt are read off them (agent.state), so a run loaded from its folder
continues exactly where it stood. Model mistakes (unparseable replies, blocked or failed actions, no
visible effect) become feedback notes on the step that caused them; our own failures raise.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Protocol

from actions.environment import Environment
from actions.errors import QwenAgentError, StopRequested
from actions.safety import Confirmer, SafetyPolicy, Targets
from actions.secrets import secret_names
from actions.types import (
    Action,
    Blocked,
    Click,
    Drag,
    ElementInfo,
    Executed,
    Failed,
    Finish,
    Frozen,
    Observation,
    Outcome,
    Screenshot,
    TypeText,
    Wait,
    describe_action,
)
from agent.context import next_context, token_usage
from agent.detection import expects_change, screen_changed
from agent.explain import Evidence, element_evidence, explain
from agent.options import AgentOptions
from agent.planner import make_plan
from agent.state import fixes_used, repeats, replans_used, setback_streak
from agent.trajectory import RunStatus, Step, Timing
from agent.watchdog import Watchdog
from model.backend import ModelBackend
from model.qwen3vl import ParseError, parse_reply, render, render_template, reply_text, smart_resize


class StopSignal(Protocol):
    """A kill switch: `check()` raises StopRequested once the user asked to stop."""

    def check(self) -> None: ...


class End(Frozen):
    """How a run ended: the status, the model's answer (or our reason) and a blocker's explanation."""

    status: RunStatus
    answer: str | None = None
    explanation: str | None = None


StepEvent = tuple[Step, Observation | None]  # a step and the screenshot it was decided on
Steps = Generator[StepEvent, None, End | None]  # a part of the loop: steps, then End when it ends the run


def _note(outcome: Failed | Blocked) -> str:
    """The feedback note for an action that did not run as asked."""
    return f"Your last action was {outcome.kind}: {outcome.reason}"


def _parameters(action: Action, params: Sequence[tuple[str, str]]) -> tuple[str, ...]:
    """The run parameters whose values typed text carries (recorded so a job can replay other rows)."""
    if not isinstance(action, TypeText):
        return ()
    return tuple(name for name, value in params if value and value in action.text)


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


class Episode:
    """One run of one instruction. `steps` is the trajectory so far; `images` caches the screenshots
    of the last K action steps (the only ones the model sees again)."""

    def __init__(
        self,
        instruction: str,
        env: Environment,
        backend: ModelBackend,
        options: AgentOptions,
        confirmer: Confirmer,
        stop: StopSignal | None = None,
        clock: Callable[[], float] = time.monotonic,
        steps: Sequence[Step] = (),
        images: Mapping[int, Screenshot] | None = None,
    ) -> None:
        self.instruction, self.env, self.backend, self.options = instruction, env, backend, options
        self.confirmer, self.stop, self.clock = confirmer, stop, clock
        self.policy = SafetyPolicy(options.risky_words, options.risky_commands, options.unknown_targets)
        self.steps: list[Step] = list(steps)
        self.images: dict[int, Screenshot] = dict(images or {})  # step index -> screenshot, the last K only
        self.budget = options.protocol.pixels
        self.pending: tuple[Step, Observation] | None = None  # the step whose action is under way
        self.screen: Observation | None = None  # the newest screenshot: after the last action
        self.watchdog: Watchdog | None = None
        self.hover_ms = 0.0  # this step's wait for hover effects before the probe

    @property
    def next_index(self) -> int:
        return len(self.steps) + 1

    def record(self, step: Step, observation: Observation | None) -> StepEvent:
        self.steps.append(step)
        return step, observation

    def watch(self, phase: str, extra_s: float = 0.0) -> contextlib.AbstractContextManager[None]:
        return self.watchdog.watch(phase, extra_s) if self.watchdog else contextlib.nullcontext()

    def check_stop(self) -> None:
        if self.stop is not None:
            self.stop.check()

    # -- the run -----------------------------------------------------------------------------
    def iter_steps(self) -> Generator[StepEvent, None, End]:
        """Every step as it is made; the return value says how the run ended."""
        start = self.clock()
        t = time.perf_counter()
        with self.watch("taking the first screenshot"):
            obs = self.screen = self.env.observe()
        observe_ms = _ms(t)
        try:
            if self.options.plan and not any(s.kind == "plan" for s in self.steps):
                yield self.add_plan(obs)
            while True:
                actions = sum(1 for s in self.steps if s.kind in ("action", "parse_error"))
                if actions >= self.options.max_steps:
                    budget = self.options.max_steps
                    return End(status="budget", answer=f"stopped after the step budget of {budget} steps")
                if self.options.max_seconds is not None and self.clock() - start > self.options.max_seconds:
                    seconds = self.options.max_seconds
                    return End(status="budget", answer=f"stopped after the time budget of {seconds:g} s")
                self.check_stop()
                obs, observe_ms, end = yield from self.turn(obs, observe_ms)
                if end is not None:
                    return end
        except (StopRequested, KeyboardInterrupt):
            return End(status="aborted", answer="stopped by the user")

    def add_plan(self, obs: Observation, problem: str = "") -> StepEvent:
        previous = next((s for s in reversed(self.steps) if s.kind == "plan"), None)
        step = make_plan(
            self.backend,
            self.instruction,
            obs.image,
            self.next_index,
            self.budget,
            self.options.max_new_tokens,
            previous=previous if problem else None,
            history=self.steps,
            problem=problem,
        )
        return self.record(step, obs)

    def turn(
        self, obs: Observation, observe_ms: float
    ) -> Generator[StepEvent, None, tuple[Observation, float, End | None]]:
        """One prompt and its consequences; returns the next observation and, when it ends the run, how."""
        t = time.perf_counter()
        context = next_context(self.instruction, self.steps, self.images, obs.image, self.options)
        request = render(context, self.options.protocol)
        if request.max_new_tokens != self.options.max_new_tokens:
            request = request.model_copy(update={"max_new_tokens": self.options.max_new_tokens})
        context_ms = _ms(t)
        t = time.perf_counter()
        response = self.backend.generate(request)
        predict_ms = _ms(t)
        h, w = smart_resize(obs.image.height, obs.image.width, self.budget)
        index = self.next_index
        base = Step(
            index=index,
            screenshot=f"step_{index}.png",
            raw_reply=reply_text(response.text, response.tool_calls),
            url=obs.url,
            geometry=obs.geometry,
            timing=Timing(observe_ms=observe_ms, context_ms=context_ms, predict_ms=predict_ms),
            usage=token_usage(request, response, self.budget),
        )
        t = time.perf_counter()
        try:
            decision = parse_reply(
                response.text, obs.geometry, self.options.protocol.grid, (w, h), response.tool_calls
            )
        except ParseError as e:
            note = render_template("feedback_parse_error.txt", reason=e.reason)
            update = {"kind": "parse_error", "error": e.reason, "feedback": (note,), "setback": True}
            yield self.record(base.model_copy(update=update), obs)
            end = yield from self.after_setback(obs, "replies could not be parsed")
            return obs, 0.0, end
        action = decision.action
        timing = base.timing.model_copy(update={"parse_ms": _ms(t)})
        base = base.model_copy(
            update={
                "thought": decision.thought,
                "summary": decision.summary,
                "action": action,
                "timing": timing,
            }
        )
        if isinstance(action, Finish):
            yield self.record(base, obs)
            return (
                obs,
                0.0,
                End(status="success" if action.status == "success" else "failure", answer=action.answer),
            )
        self.images[index] = obs.image
        # Only the last K screenshots are ever shown again; older ones would only hold memory.
        for old in list(self.images)[: max(len(self.images) - self.options.history_images, 0)]:
            del self.images[old]
        if len(decision.actions) > 1:
            # One action per step keeps every step observable; the model re-decides the rest.
            note = render_template("feedback_one_call.txt", count=str(len(decision.actions)))
            base = base.model_copy(update={"feedback": (note,)})
        self.pending = (base, obs)
        try:
            return (yield from self.act(base, action, obs, decision.summary))
        finally:
            self.pending = None

    def act(
        self, base: Step, action: Action, obs: Observation, summary: str | None
    ) -> Generator[StepEvent, None, tuple[Observation, float, End | None]]:
        t = time.perf_counter()
        self.hover_ms = 0.0
        with self.watch("looking under the pointer"):
            targets = self.look_under(action)
        probe = {"probe_ms": _ms(t) - self.hover_ms, "hover_ms": self.hover_ms}
        base = base.model_copy(update={"timing": base.timing.model_copy(update=probe)})
        element = targets.element
        # Disabled, hidden or covered: evidence that a click cannot work (a drag's press may land on
        # anything it moves).
        evidence = element_evidence(action, element) if isinstance(action, Click) else None
        if evidence is not None:
            outcome: Outcome = Blocked(
                rule=f"element-{evidence.kind}", reason=evidence.sentence(), element=element
            )
            end = yield from self.blocked(base.model_copy(update={"outcome": outcome}), evidence, obs)
            return obs, 0.0, end
        if isinstance(action, TypeText):
            allowed = {*secret_names(self.instruction), *self.options.secrets}
            foreign = [n for n in secret_names(action.text) if n not in allowed]
            if foreign:
                reason = f"secret {foreign[0]!r} is not one this task may use; nothing was typed"
                refused = Blocked(rule="secret", reason=reason)
                update = {"outcome": refused, "feedback": (*base.feedback, _note(refused)), "setback": True}
                yield self.record(base.model_copy(update=update), obs)
                return (
                    obs,
                    0.0,
                    (yield from self.after_setback(obs, "the last actions had no effect or failed")),
                )
        risk = self.policy.assess(
            action, element, summary, drop=targets.drop, focused=targets.focused, thought=base.thought
        )
        ask = self.options.confirm == "always" or (self.options.confirm == "risky" and risk is not None)
        if ask and not self.options.dry_run:
            question = risk.question if risk is not None else f"{summary or describe_action(action)}?"
            if not self.confirmer.confirm(question):
                outcome = Blocked(rule="declined", reason=f"the user declined: {question}")
                yield self.record(base.model_copy(update={"outcome": outcome}), obs)
                return obs, 0.0, End(status="aborted", answer=f"You declined the action: {question}")
        if self.options.dry_run:
            outcome = Executed(detail="dry run: nothing was executed")
            yield self.record(base.model_copy(update={"outcome": outcome}), obs)
            what = describe_action(action)
            return (
                obs,
                0.0,
                End(status="aborted", answer=f"Dry run: the agent would {what}; nothing was executed."),
            )
        self.check_stop()
        t = time.perf_counter()
        wait_s = action.seconds if isinstance(action, Wait) else 0.0
        with self.watch(f"executing '{describe_action(action)}' and waiting for the screen", wait_s):
            outcome = self.env.execute(action)
        execute_ms = _ms(t)
        t = time.perf_counter()
        with self.watch("taking the screenshot after the action"):
            after = self.screen = self.env.observe()
        observe_ms = _ms(t)
        changed = screen_changed(obs.image, after.image, obs.geometry.scale)
        notes: list[str] = []
        if not isinstance(outcome, Executed):
            notes.append(_note(outcome))
        elif not changed and expects_change(action):
            notes.append(render_template("feedback_no_effect.txt", action=describe_action(action)))
        count = repeats(self.steps, action)
        if count >= self.options.loop_nudge_after and not changed:
            notes.append(
                render_template("feedback_loop.txt", action=describe_action(action), count=str(count))
            )
        settle_ms = outcome.settle_ms if isinstance(outcome, Executed) and outcome.settle_ms else 0.0
        step = base.model_copy(
            update={
                "outcome": outcome,
                "screen_changed": changed,
                "element": element,
                "parameters": _parameters(action, self.options.params),
                "feedback": (*base.feedback, *notes),
                "setback": bool(notes),
                "timing": base.timing.model_copy(update={"execute_ms": execute_ms, "settle_ms": settle_ms}),
            }
        )
        self.pending = None  # the step is complete from here on
        yield self.record(step, obs)
        if count >= self.options.loop_stop_after and not changed:
            evidence = Evidence(kind="no_effect", action=describe_action(action), repeats=count)
            return after, observe_ms, (yield from self.explain_end(evidence, after))
        if notes:
            return (
                after,
                observe_ms,
                (yield from self.after_setback(after, "the last actions had no effect or failed")),
            )
        return after, observe_ms, None

    def look_under(self, action: Action) -> Targets:
        """What the action acts on, as the environment can tell (browser): the element under a
        click, under a drag's press and drop points, and the focused element for keys and typed
        text that may press Enter or Space. Each point is probed after the pointer arrived there
        (hover can swap a label or the element); empty where the environment cannot tell."""
        if not self.options.check_elements:
            return Targets()
        try:
            if isinstance(action, Click):
                return Targets(element=self._probe(action.x, action.y))
            if isinstance(action, Drag):
                start = (
                    (action.start_x, action.start_y)
                    if action.start_x is not None and action.start_y is not None
                    else self.env.pointer()
                )
                # The drop point first: the pointer ends at the press point, where the drag starts.
                drop = (
                    self._probe(action.x, action.y)
                    if start is not None
                    else self.env.element_at(action.x, action.y)
                )
                element = self._probe(*start) if start is not None else None
                return Targets(element=element, drop=drop)
            if self.policy.presses_keys(action):
                return Targets(focused=self.env.focused_element())
        except QwenAgentError:
            raise
        except Exception:
            # A probe racing a navigation fails harmlessly: act without the evidence.
            return Targets()
        return Targets()

    def _probe(self, x: int, y: int) -> ElementInfo | None:
        """What is at (x, y) once the pointer is there (not moved in a dry run)."""
        if not self.options.dry_run:
            t = time.perf_counter()
            self.env.hover(x, y)
            self.hover_ms += _ms(t)
        return self.env.element_at(x, y)

    def after_setback(self, obs: Observation, problem: str) -> Steps:
        """Re-plan after `replan_after` setbacks in a row (when planning and re-plans are left)."""
        if (
            self.options.plan
            and setback_streak(self.steps) >= self.options.replan_after
            and replans_used(self.steps) < self.options.max_replans
        ):
            yield self.add_plan(obs, problem=f"{problem} ({self.options.replan_after} steps in a row)")
        return None

    def blocked(self, step: Step, evidence: Evidence, obs: Observation) -> Steps:
        """A refused click: without explanations the note goes to the model on the step itself;
        with them, the model is asked why and the run continues only when it can fix the blocker."""
        if not self.options.explain_blocked:
            note = render_template("feedback_blocked.txt", reason=evidence.sentence())
            yield self.record(step.model_copy(update={"feedback": (*step.feedback, note)}), obs)
            return None
        yield self.record(step, obs)
        can_fix = fixes_used(self.steps) < self.options.max_fixes
        return (yield from self.explain_end(evidence, obs, can_fix))

    def explain_end(self, evidence: Evidence, obs: Observation, can_fix: bool = False) -> Steps:
        """Explain a blocker; End the run unless the model says it is fixable and `can_fix`."""
        if not self.options.explain_blocked:
            return End(status="failure", answer=f"Stopped: {evidence.sentence()}")
        step, fixable = explain(
            self.backend,
            self.instruction,
            obs.image,
            evidence,
            self.next_index,
            self.budget,
            self.options.max_new_tokens,
        )
        fix = fixable and can_fix
        note = render_template("feedback_blocked.txt", reason=step.summary or "")
        yield self.record(step.model_copy(update={"feedback": (note,) if fix else ()}), obs)
        return None if fix else End(status="blocked", explanation=step.summary)
