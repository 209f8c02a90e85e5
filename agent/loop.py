"""The agent loop: observe -> build context -> predict -> check policy -> execute -> settle -> record,
until the model finishes, a budget runs out, a blocker is explained, or the user stops it.

Model mistakes (unparseable replies, blocked or failed actions, no visible effect) become feedback
on the next step; our own failures (model or environment unavailable) are recorded, then raised.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from actions.environment import Environment
from actions.errors import QwenAgentError, StopRequested
from actions.safety import Confirmer, ConsoleConfirmer, SafetyPolicy
from actions.types import (
    Action,
    Blocked,
    Click,
    ElementInfo,
    Executed,
    Failed,
    Finish,
    Observation,
    Outcome,
    Wait,
    describe_action,
)
from agent.context import build_context, token_usage
from agent.detection import RepeatTracker, expects_change, screen_changed, signature
from agent.explain import Evidence, element_evidence, explain
from agent.observers import RunObserver
from agent.options import AgentOptions
from agent.planner import make_plan
from agent.trajectory import RunResult, RunStatus, Step, Timing
from agent.watchdog import Watchdog
from model.backend import ModelBackend
from model.qwen3vl import ParseError, parse_reply, render, render_template, reply_text, smart_resize


class StopSignal(Protocol):
    """A kill switch: `check()` raises StopRequested once the user asked to stop."""

    def check(self) -> None: ...


class _End(Exception):
    """Internal: the run is over with this status (raised inside a step, caught by the loop)."""

    def __init__(self, status: RunStatus, answer: str | None = None, explanation: str | None = None):
        self.status, self.answer, self.explanation = status, answer, explanation


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def exit_stuck(result: RunResult) -> None:
    """The default end of a stuck run: say so, stop our child processes, exit 4 (the stuck thread
    cannot be unwound safely; every finished step and the stuck one are already on disk)."""
    from actions.processes import kill_descendants

    where = f"; recorded in {result.record_dir}" if result.record_dir else ""
    sys.stderr.write(f"error: {result.answer}{where}\n")
    sys.stderr.flush()
    kill_descendants()
    os._exit(4)


class _Episode:
    def __init__(
        self,
        instruction: str,
        env: Environment,
        backend: ModelBackend,
        options: AgentOptions,
        observers: Sequence[RunObserver],
        confirmer: Confirmer,
        stop: StopSignal | None,
        clock: Callable[[], float],
    ) -> None:
        self.instruction, self.env, self.backend, self.options = instruction, env, backend, options
        self.observers, self.confirmer, self.stop, self.clock = observers, confirmer, stop, clock
        self.policy = SafetyPolicy(options.risky_words)
        self.steps: list[Step] = []
        self.images: dict[int, object] = {}  # step index -> screenshot, the last K only
        self._last_signature: tuple[object, bytes] = (None, b"")
        self.feedback: list[str] = []
        self.plan: tuple[str, ...] = ()
        self.replans = 0
        self.fixes = 0
        self.bad_streak = 0
        self.repeats = RepeatTracker(options.change_threshold)
        self.budget = options.protocol.pixels
        self.started = time.perf_counter()
        # The watchdog's thread records the stuck step; the lock keeps it and the loop from writing
        # at once, and is never released once it tripped (the process is ending).
        self.emit_lock = threading.Lock()
        self.pending: tuple[Step, Observation] | None = None  # the step whose action is under way
        self.watchdog: Watchdog | None = None
        self.on_stuck: Callable[[RunResult], None] = exit_stuck
        self.record_dir: str | None = None

    # -- bookkeeping -------------------------------------------------------------------------
    def emit(self, step: Step, observation: Observation | None) -> None:
        with self.emit_lock:
            self._emit(step, observation)

    def _emit(self, step: Step, observation: Observation | None) -> None:
        self.steps.append(step)
        for observer in self.observers:
            observer.on_step(step, observation)

    def result(self, status: RunStatus, answer: str | None, explanation: str | None) -> RunResult:
        return RunResult(
            instruction=self.instruction,
            status=status,
            answer=answer,
            explanation=explanation,
            steps=tuple(self.steps),
            record_dir=self.record_dir,
            duration_s=time.perf_counter() - self.started,
        )

    def watch(self, phase: str, extra_s: float = 0.0) -> contextlib.AbstractContextManager[None]:
        return self.watchdog.watch(phase, extra_s) if self.watchdog else contextlib.nullcontext()

    def trip(self, phase: str, seconds: float) -> None:
        """Watchdog thread: record the stuck step and an `error` result, then hand over to on_stuck."""
        reason = f"no progress for {seconds:.0f} s while {phase} (step {self.next_index})"
        # A loop thread stuck inside an observer holds the lock: then write nothing more.
        if not self.emit_lock.acquire(timeout=5):
            self.on_stuck(self.result("error", reason, None))
            return
        if self.pending is not None:
            step, observation = self.pending
            self._emit(step.model_copy(update={"outcome": Failed(reason=reason)}), observation)
        result = self.result("error", reason, None)
        for observer in self.observers:
            observer.on_finish(result)
        self.on_stuck(result)

    @property
    def next_index(self) -> int:
        return len(self.steps) + 1

    def action_steps(self) -> int:
        return sum(1 for s in self.steps if s.kind in ("action", "parse_error"))

    def check_stop(self) -> None:
        if self.stop is not None:
            self.stop.check()

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> tuple[RunStatus, str | None, str | None]:
        start = self.clock()
        t = time.perf_counter()
        with self.watch("taking the first screenshot"):
            obs = self.env.observe()
        observe_ms = _ms(t)
        try:
            if self.options.plan:
                self.add_plan(obs)
            while True:
                if self.action_steps() >= self.options.max_steps:
                    raise _End("budget", f"stopped after the step budget of {self.options.max_steps} steps")
                if self.options.max_seconds is not None and self.clock() - start > self.options.max_seconds:
                    raise _End("budget", f"stopped after the time budget of {self.options.max_seconds:g} s")
                self.check_stop()
                obs, observe_ms = self.turn(obs, observe_ms)
        except _End as end:
            return end.status, end.answer, end.explanation
        except (StopRequested, KeyboardInterrupt):
            return "aborted", "stopped by the user", None

    def add_plan(self, obs: Observation, problem: str = "") -> None:
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
        self.plan = step.plan or self.plan
        self.emit(step, obs)

    def turn(self, obs: Observation, observe_ms: float) -> tuple[Observation, float]:
        """One step on the current observation; returns the next observation."""
        index = self.next_index
        feedback = tuple(self.feedback)
        self.feedback = []
        context = build_context(
            self.instruction,
            self.steps,
            self.images,
            obs.image,
            self.options.history_images,
            self.plan,
            feedback,
        )
        request = render(context, self.options.protocol)
        if request.max_new_tokens != self.options.max_new_tokens:
            request = request.model_copy(update={"max_new_tokens": self.options.max_new_tokens})
        t = time.perf_counter()
        response = self.backend.generate(request)
        predict_ms = _ms(t)
        usage = token_usage(request, response, self.budget)
        h, w = smart_resize(obs.image.height, obs.image.width, self.budget)
        base = Step(
            index=index,
            screenshot=f"step_{index}.png",
            raw_reply=reply_text(response.text, response.tool_calls),
            url=obs.url,
            timing=Timing(observe_ms=observe_ms, predict_ms=predict_ms),
            usage=usage,
        )
        try:
            decision = parse_reply(
                response.text, obs.geometry, self.options.protocol.grid, (w, h), response.tool_calls
            )
        except ParseError as e:
            note = render_template("feedback_parse_error.txt", reason=e.reason)
            self.emit(
                base.model_copy(update={"kind": "parse_error", "error": e.reason, "feedback": (note,)}), obs
            )
            self.feedback.append(note)
            self.note_bad(obs, "replies could not be parsed")
            return obs, 0.0
        action = decision.action
        base = base.model_copy(
            update={"thought": decision.thought, "summary": decision.summary, "action": action}
        )
        if isinstance(action, Finish):
            self.emit(base, obs)
            status: RunStatus = "success" if action.status == "success" else "failure"
            raise _End(status, action.answer)
        self.images[index] = obs.image
        # Only the last K screenshots are ever shown again; older ones would only hold memory.
        for old in list(self.images)[: max(len(self.images) - self.options.history_images, 0)]:
            del self.images[old]
        if len(decision.actions) > 1:
            # One action per step keeps every step observable; the model re-decides the rest.
            self.feedback.append(render_template("feedback_one_call.txt", count=str(len(decision.actions))))
        return self.act(base, action, obs, decision.summary)

    def act(
        self, base: Step, action: Action, obs: Observation, summary: str | None
    ) -> tuple[Observation, float]:
        self.pending = (base, obs)
        try:
            return self._act(base, action, obs, summary)
        finally:
            self.pending = None

    def _act(
        self, base: Step, action: Action, obs: Observation, summary: str | None
    ) -> tuple[Observation, float]:
        with self.watch("looking under the pointer"):
            element = self.look_under(action)
        evidence = element_evidence(action, element)
        if evidence is not None:
            assert evidence.element is not None
            outcome: Outcome = Blocked(
                rule=f"element-{evidence.kind}", reason=evidence.sentence(), element=element
            )
            self.emit(base.model_copy(update={"outcome": outcome}), obs)
            self.blocked(evidence, obs)
            return obs, 0.0
        risk = self.policy.assess(action, element, summary)
        ask = self.options.confirm == "always" or (self.options.confirm == "risky" and risk is not None)
        if ask and not self.options.dry_run:
            question = risk.question if risk is not None else f"{summary or describe_action(action)}?"
            if not self.confirmer.confirm(question):
                outcome = Blocked(rule="declined", reason=f"the user declined: {question}")
                self.emit(base.model_copy(update={"outcome": outcome}), obs)
                raise _End("aborted", f"You declined the action: {question}")
        if self.options.dry_run:
            outcome = Executed(detail="dry run: nothing was executed")
            self.emit(base.model_copy(update={"outcome": outcome}), obs)
            raise _End(
                "aborted", f"Dry run: the agent would {describe_action(action)}; nothing was executed."
            )
        self.check_stop()
        t = time.perf_counter()
        wait_s = action.seconds if isinstance(action, Wait) else 0.0
        with self.watch(f"executing '{describe_action(action)}' and waiting for the screen", wait_s):
            outcome = self.env.execute(action)
        execute_ms = _ms(t)
        t = time.perf_counter()
        with self.watch("taking the screenshot after the action"):
            after = self.env.observe()
        observe_ms = _ms(t)
        before_sig = self.signature_of(obs.image)
        after_sig = signature(after.image)
        self._last_signature = (after.image, after_sig)  # the next step starts from this screen
        changed = screen_changed(before_sig, after_sig, self.options.change_threshold)
        settle_ms = outcome.settle_ms if isinstance(outcome, Executed) and outcome.settle_ms else 0.0
        notes: list[str] = []
        if not isinstance(outcome, Executed):
            notes.append(f"Your last action was {outcome.kind}: {outcome.reason}")
        elif not changed and expects_change(action):
            notes.append(render_template("feedback_no_effect.txt", action=describe_action(action)))
        repeats = self.repeats.record(action, before_sig)
        if repeats >= self.options.loop_nudge_after and not changed:
            notes.append(
                render_template("feedback_loop.txt", action=describe_action(action), count=str(repeats))
            )
        timing = base.timing.model_copy(update={"execute_ms": execute_ms, "settle_ms": settle_ms})
        self.pending = None  # the step is complete from here on
        self.emit(
            base.model_copy(
                update={
                    "outcome": outcome,
                    "screen_changed": changed,
                    "feedback": tuple(notes),
                    "timing": timing,
                }
            ),
            obs,
        )
        self.feedback.extend(notes)
        if repeats >= self.options.loop_stop_after and not changed:
            evidence = Evidence(kind="no_effect", action=describe_action(action), repeats=repeats)
            self.blocked(evidence, after, force_end=True)
        if notes:
            self.note_bad(after, "the last actions had no effect or failed")
        else:
            self.bad_streak = 0
        return after, observe_ms

    def signature_of(self, image: object) -> bytes:
        """The screen's signature, reused when the previous step already computed it."""
        cached_image, cached = self._last_signature
        return cached if image is cached_image else signature(image)

    def look_under(self, action: Action) -> ElementInfo | None:
        """What a click would hit (browser); None when the environment cannot tell."""
        if not (self.options.check_elements and isinstance(action, Click)):
            return None
        try:
            return self.env.element_at(action.x, action.y)
        except QwenAgentError:
            raise
        except Exception:
            # A probe racing a navigation fails harmlessly: act without the evidence.
            return None

    def note_bad(self, obs: Observation, problem: str) -> None:
        """Count failed steps; re-plan after `replan_after` of them in a row (when planning)."""
        self.bad_streak += 1
        if (
            self.options.plan
            and self.bad_streak >= self.options.replan_after
            and self.replans < self.options.max_replans
        ):
            self.replans += 1
            self.bad_streak = 0
            self.add_plan(obs, problem=f"{problem} ({self.options.replan_after} steps in a row)")

    def blocked(self, evidence: Evidence, obs: Observation, force_end: bool = False) -> None:
        """Explain a blocker; end the run unless the model can fix it (and has fixes left)."""
        if not self.options.explain_blocked:
            self.feedback.append(render_template("feedback_blocked.txt", reason=evidence.sentence()))
            if force_end:
                raise _End("failure", f"Stopped: {evidence.sentence()}")
            return
        step, fixable = explain(
            self.backend,
            self.instruction,
            obs.image,
            evidence,
            self.next_index,
            self.budget,
            self.options.max_new_tokens,
        )
        can_fix = fixable and not force_end and self.fixes < self.options.max_fixes
        fix_note = render_template("feedback_blocked.txt", reason=step.summary or "")
        self.emit(
            step.model_copy(update={"feedback": (fix_note,) if can_fix else ()}),
            obs,
        )
        if can_fix:
            self.fixes += 1
            self.feedback.append(fix_note)
            return
        raise _End("blocked", explanation=step.summary)


def run_episode(
    instruction: str,
    env: Environment,
    backend: ModelBackend,
    options: AgentOptions | None = None,
    record_dir: Path | None = None,
    observers: Sequence[RunObserver] = (),
    *,
    confirmer: Confirmer | None = None,
    stop: StopSignal | None = None,
    clock: Callable[[], float] = time.monotonic,
    on_stuck: Callable[[RunResult], None] = exit_stuck,
) -> RunResult:
    """Run one task on `env` with `backend` and return its result (also written to `record_dir`).

    `confirmer` answers risky-action questions (default: ask on the terminal); `stop` is a kill
    switch checked before every model call and action. Errors of ours are recorded, then raised.
    A step stuck for `options.stuck_after_s` is recorded as an `error` result, then handed to
    `on_stuck` on the watchdog's thread (default: exit the process with code 4).
    """
    options = options or AgentOptions()
    watchers: list[RunObserver] = []
    if record_dir is not None:
        from agent.recorder import Recorder

        watchers.append(Recorder(Path(record_dir), options))
    watchers.extend(observers)
    episode = _Episode(
        instruction, env, backend, options, watchers, confirmer or ConsoleConfirmer(), stop, clock
    )
    episode.record_dir = str(record_dir) if record_dir is not None else None
    episode.on_stuck = on_stuck
    for observer in watchers:
        observer.on_start(instruction)
    error: BaseException | None = None
    with contextlib.ExitStack() as stack:
        if options.stuck_after_s is not None:
            episode.watchdog = stack.enter_context(Watchdog(options.stuck_after_s, episode.trip))
        try:
            status, answer, explanation = episode.run()
        except Exception as e:
            error = e
            status, answer, explanation = "error", f"{type(e).__name__}: {e}", None
    with episode.emit_lock:
        result = episode.result(status, answer, explanation)
        for observer in watchers:
            observer.on_finish(result)
    if error is not None:
        raise error
    return result
