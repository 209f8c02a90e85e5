"""Running an episode for a caller: the steps go to the observers (recorder, progress view) as they
are made, the end becomes a RunResult, and a step stuck past `stuck_after_s` is recorded by the
watchdog and handed to `on_stuck` (default: exit 4) instead of hanging forever.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from pathlib import Path

from actions.environment import Environment
from actions.safety import Confirmer, ConsoleConfirmer
from actions.secrets import Redactor
from actions.types import Failed, Observation, Screenshot
from agent.episode import End, Episode, StepEvent, StopSignal
from agent.observers import RunObserver
from agent.options import AgentOptions
from agent.redacted_output import redacted_output
from agent.trajectory import RunResult, Step
from agent.watchdog import Watchdog
from model.backend import ModelBackend
from model.redacting import RedactingBackend
from model.types import ModelRequest, ModelResponse

__all__ = ["End", "Episode", "StopSignal", "exit_stuck", "run_episode"]


def exit_stuck(result: RunResult) -> None:
    """The default end of a stuck run: say so, stop our child processes, exit 4 (the stuck thread
    cannot be unwound safely; every finished step and the stuck one are already on disk)."""
    from actions.processes import kill_descendants

    where = f"; recorded in {result.record_dir}" if result.record_dir else ""
    sys.stderr.write(f"error: {result.answer}{where}\n")
    sys.stderr.flush()
    kill_descendants()
    os._exit(4)


class _Run:
    """Feeds an episode's steps to the observers and, for the watchdog, records a stuck step."""

    def __init__(self, episode: Episode, observers: Sequence[RunObserver], record_dir: str | None) -> None:
        self.episode, self.observers, self.record_dir = episode, observers, record_dir
        self.started = time.perf_counter()
        # The watchdog's thread records the stuck step; the lock keeps it and the loop from writing
        # at once, and is never released once it tripped (the process is ending).
        self.lock = threading.Lock()
        self.on_stuck: Callable[[RunResult], None] = exit_stuck

    def emit(self, step: Step, observation: Observation | None) -> None:
        with self.lock:
            for observer in self.observers:
                observer.on_step(step, observation)

    def result(self, end: End, steps: Sequence[Step] | None = None) -> RunResult:
        return RunResult(
            instruction=self.episode.instruction,
            status=end.status,
            answer=end.answer,
            explanation=end.explanation,
            steps=tuple(self.episode.steps if steps is None else steps),
            record_dir=self.record_dir,
            duration_s=time.perf_counter() - self.started,
        )

    def finish(self, result: RunResult) -> None:
        for observer in self.observers:
            observer.on_finish(result)

    def trip(self, phase: str, seconds: float) -> None:
        """Watchdog thread: record the stuck step and an `error` result, then hand over to on_stuck."""
        reason = f"no progress for {seconds:.0f} s while {phase} (step {self.episode.next_index})"
        end = End(status="error", answer=reason)
        # A loop thread stuck inside an observer holds the lock: then write nothing more.
        if not self.lock.acquire(timeout=5):
            self.on_stuck(self.result(end))
            return
        steps = list(self.episode.steps)
        if self.episode.pending is not None:
            step, observation = self.episode.pending
            stuck = step.model_copy(update={"outcome": Failed(reason=reason)})
            steps.append(stuck)
            for observer in self.observers:
                observer.on_step(stuck, observation)
        result = self.result(end, steps)
        self.finish(result)
        self.on_stuck(result)


class _AfterWrites:
    """`inner`, whose replies return only once the run folder holds every finished step: the
    recorder writes in the background while the model thinks (a ModelBackend)."""

    def __init__(self, inner: ModelBackend, wait: Callable[[], None]) -> None:
        self.inner, self.wait = inner, wait
        self.name = inner.name

    def generate(self, request: ModelRequest) -> ModelResponse:
        response = self.inner.generate(request)
        self.wait()
        return response

    def close(self) -> None:
        self.inner.close()


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
    steps: Sequence[Step] = (),
    images: Mapping[int, Screenshot] | None = None,
    about: Mapping[str, str] | None = None,
) -> RunResult:
    """Run one task on `env` with `backend` and return its result (also written to `record_dir`).

    `confirmer` answers risky-action questions (default: ask on the terminal); `stop` is a kill
    switch checked before every model call and action. Errors of ours are recorded, then raised.
    A step stuck for `options.stuck_after_s` is recorded as an `error` result, then handed to
    `on_stuck` on the watchdog's thread (default: exit the process with code 4). `steps` and `images`
    (step index -> screenshot) continue a recorded run (agent.run_folder.load_run). `about` says
    what ran (model, endpoint, environment, URL, versions): recorded in run.json, result.json and
    the report's header. Every secret's value the run may meet (QWEN_AGENT_SECRET_*) is redacted
    from the prompts and from the run folder.
    """
    options = options or AgentOptions()
    # One redactor for the run, knowing every secret it may use: prompts and the run folder.
    redactor = Redactor.for_run(instruction, options.secrets)
    if redactor.names:
        backend = RedactingBackend(backend, redactor)
    watchers: list[RunObserver] = []
    if record_dir is not None:
        from agent.recorder import Recorder

        recorder = Recorder(Path(record_dir), options, about, redactor)
        watchers.append(recorder)
        backend = _AfterWrites(backend, recorder.wait_written)
    watchers.extend(observers)
    episode = Episode(
        instruction, env, backend, options, confirmer or ConsoleConfirmer(), stop, clock, steps, images
    )
    run = _Run(episode, watchers, str(record_dir) if record_dir is not None else None)
    run.on_stuck = on_stuck
    # What the run prints (progress view, warnings, the stuck-step line) passes the redactor too.
    output = redacted_output(redactor) if redactor.names else contextlib.nullcontext()
    with output:
        for observer in watchers:
            observer.on_start(instruction)
        error: BaseException | None = None
        with contextlib.ExitStack() as stack:
            if options.stuck_after_s is not None:
                episode.watchdog = stack.enter_context(Watchdog(options.stuck_after_s, run.trip))
            try:
                end = yield_to(episode.iter_steps(), run.emit)
            except Exception as e:
                error = e
                end = End(status="error", answer=f"{type(e).__name__}: {e}")
        with run.lock:
            result = run.result(end)
            if episode.screen is not None:
                for observer in watchers:
                    observer.on_screen(episode.screen)
            run.finish(result)
    if error is not None:
        raise error
    return result


def yield_to(steps: Generator[StepEvent, None, End], emit: Callable[[Step, Observation | None], None]) -> End:
    """Drive a step generator, handing each step to `emit`; returns how the run ended."""
    while True:
        try:
            step, observation = next(steps)
        except StopIteration as stop:
            end: End = stop.value
            return end
        emit(step, observation)
