"""Observers subscribe to a run's steps (recorder, progress view, report). They read, never mutate:
steps are frozen values and the observation is the screenshot the step was decided on.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from actions.types import Observation
from agent.trajectory import RunResult, Step


@runtime_checkable
class RunObserver(Protocol):
    """Called at the start, after every step (with the screenshot it saw), and at the end."""

    def on_start(self, instruction: str) -> None: ...

    def on_step(self, step: Step, observation: Observation | None) -> None: ...

    def on_screen(self, observation: Observation) -> None:
        """The screen as the run left it (after its last action), just before on_finish."""

    def on_finish(self, result: RunResult) -> None: ...


class ObserverBase:
    """No-op defaults so an observer implements only what it needs."""

    def on_start(self, instruction: str) -> None:
        pass

    def on_step(self, step: Step, observation: Observation | None) -> None:
        pass

    def on_screen(self, observation: Observation) -> None:
        pass

    def on_finish(self, result: RunResult) -> None:
        pass
